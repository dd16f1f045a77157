import Foundation
import RSTDCore

/// `ip -j addr` → `addresses` records {ifname, state (operstate: UP/DOWN/UNKNOWN…), family
/// (inet/inet6), address, prefixlen, dadfailed, tentative, scope} and `addresses.dadfailed`, the
/// number of addresses whose duplicate address detection failed (another host uses them).
package enum IPAddrParser: OutputParser {
    package static let id = "ip-addr"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let doc = try JSON.parse(output.text, what: "ip -j addr")
        guard let links = doc.array else { throw ParseError("`ip -j addr` output is not a JSON list of interfaces") }
        var records: [Record] = []
        var dadFailed: Int64 = 0
        for link in links {
            guard let ifname = link["ifname"]?.string else { continue }
            let state = link["operstate"]?.string ?? ""
            for a in link["addr_info"]?.array ?? [] {
                guard let address = a["local"]?.string else { continue }
                let failed = a["dadfailed"]?.bool ?? false
                if failed { dadFailed += 1 }
                var r: Record = [
                    "ifname": .string(ifname), "state": .string(state), "family": .string(a["family"]?.string ?? ""),
                    "address": .string(address), "dadfailed": .bool(failed),
                    "tentative": .bool(a["tentative"]?.bool ?? false), "scope": .string(a["scope"]?.string ?? ""),
                ]
                if let p = a["prefixlen"]?.int { r["prefixlen"] = .int(p) }
                records.append(r)
            }
        }
        return ParsedFacts(values: ["addresses": .records(records), "addresses.dadfailed": .int(dadFailed)])
    }
}
