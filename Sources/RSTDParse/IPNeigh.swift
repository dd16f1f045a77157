import Foundation
import RSTDCore

/// `ip -j neigh` → `neighbours` records {address, ifname, lladdr, state} (state: nud states joined
/// by commas, e.g. `REACHABLE`, `STALE`, `FAILED`), `neighbours.total` and `neighbours.failed`
/// (entries the kernel could not resolve: nothing answered ARP or neighbour solicitation).
package enum IPNeighParser: OutputParser {
    package static let id = "ip-neigh"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let doc = try JSON.parse(output.text, what: "ip -j neigh")
        guard let entries = doc.array else { throw ParseError("`ip -j neigh` output is not a JSON list of entries") }
        var records: [Record] = []
        var failed: Int64 = 0
        for e in entries {
            guard let address = e["dst"]?.string else { continue }
            let states: [String] = e["state"]?.array?.compactMap(\.string) ?? e["state"]?.string.map { [$0] } ?? []
            if states.contains("FAILED") { failed += 1 }
            records.append([
                "address": .string(address), "ifname": .string(e["dev"]?.string ?? ""),
                "lladdr": .string(e["lladdr"]?.string ?? ""), "state": .string(states.joined(separator: ",")),
            ])
        }
        return ParsedFacts(values: [
            "neighbours": .records(records), "neighbours.total": .int(Int64(records.count)), "neighbours.failed": .int(failed),
        ])
    }
}
