import Foundation
import RSTDCore

/// Duplicate address detection runs of `arping`, one part per (interface, address), each named by
/// its command line (`arping -D -c 2 -w 2 -I eth0 198.18.10.5`) → `duplicate_ip` records
/// {ifname, address, duplicate, mac} and `duplicate_ip.count` (addresses another host answers for).
///
/// Two different programs are called arping, and Debian's `arping` package is the second:
/// - iputils: `-D` sends probes from 0.0.0.0 and prints `Unicast reply from ADDR [MAC]` per answer,
///   then `Received N response(s)`; exit 1 when something answered.
/// - Thomas Habets' arping: DAD needs `-0` (source 0.0.0.0); it prints `42 bytes from MAC (ADDR):
///   index=0 …` per answer and `N packets transmitted, M packets received`; exit 0 when something
///   answered, the opposite of iputils. Its `-D` only prints `!`/`.` per probe and, sent from the
///   host's own address, gets no answer from a duplicate (Linux ignores ARP from its own address).
/// The verdict therefore comes from the text, never from the exit code alone. A run whose output
/// neither program would print (device missing, permission denied) yields no record.
package enum ArpingParser: OutputParser {
    package static let id = "arping"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var records: [Record] = []
        var duplicates: Int64 = 0
        var failures: [String] = []
        for part in output.parts {
            let target = target(part.name)
            guard let verdict = verdict(part.text) else {
                let first = part.text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "no output"
                failures.append("\(part.name): \(first)")
                continue
            }
            let r: Record = [
                "ifname": .string(target.ifname),
                "address": .string(target.address.isEmpty ? verdict.address ?? "" : target.address),
                "duplicate": .bool(verdict.duplicate), "mac": .string(verdict.mac),
            ]
            if verdict.duplicate { duplicates += 1 }
            records.append(r)
        }
        if records.isEmpty && !failures.isEmpty {
            throw ParseError("arping gave no usable answer: \(Sanitize.line(String(failures[0].prefix(200))))")
        }
        var facts = ParsedFacts(values: ["duplicate_ip": .records(records), "duplicate_ip.count": .int(duplicates)])
        if !failures.isEmpty { facts.values["duplicate_ip.failed_runs"] = .int(Int64(failures.count)) }
        return facts
    }

    /// Interface (after -I or -i) and address (the last argument) of an arping command line.
    static func target(_ commandLine: String) -> (ifname: String, address: String) {
        let words = commandLine.split(separator: " ").map(String.init)
        var ifname = ""
        if let i = words.firstIndex(where: { $0 == "-I" || $0 == "-i" }), i + 1 < words.count { ifname = words[i + 1] }
        let address = words.count > 1 ? (words.last ?? "") : ""
        return (ifname, address.first?.isHexDigit == true || address.contains(":") ? address : "")
    }

    struct Verdict {
        var duplicate: Bool
        var mac: String
        var address: String?
    }

    static func verdict(_ text: String) -> Verdict? {
        var sawSummary = false
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            // iputils: `Unicast reply from 198.18.10.5 [02:00:00:00:00:0B]  0.533ms`
            if line.hasPrefix("Unicast reply from ") || line.hasPrefix("Broadcast reply from ") {
                let words = line.split(separator: " ")
                let addr = words.count > 3 ? String(words[3]) : nil
                var mac = ""
                if let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") {
                    mac = line[line.index(after: open)..<close].lowercased()
                }
                return Verdict(duplicate: true, mac: mac, address: addr)
            }
            // Habets: `42 bytes from 02:00:00:00:00:0b (198.18.10.5): index=0 time=10.084 usec`
            if let r = line.range(of: " bytes from "), line[..<r.lowerBound].allSatisfy(\.isNumber) {
                let rest = line[r.upperBound...].split(separator: " ")
                let mac = rest.first.map { $0.lowercased() } ?? ""
                var addr: String?
                if rest.count > 1 { addr = rest[1].trimmingCharacters(in: CharacterSet(charactersIn: "():")) }
                return Verdict(duplicate: true, mac: mac, address: addr)
            }
            // iputils summary: `Received 0 response(s)`; Habets: `2 packets transmitted, 0 packets received, …`
            if line.hasPrefix("Received "), line.contains("response") {
                let n = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                if n > 0 { return Verdict(duplicate: true, mac: "", address: nil) }
                sawSummary = true
            } else if line.contains("packets transmitted"), let rec = line.range(of: " packets received") {
                let n = line[..<rec.lowerBound].split(whereSeparator: { $0 == " " || $0 == "," }).last.flatMap { Int($0) } ?? 0
                if n > 0 { return Verdict(duplicate: true, mac: "", address: nil) }
                sawSummary = true
            } else if line.contains("packet loss") {
                // Habets -D: one `!` (answer) or `.` (none) per probe, then `100% packet loss`.
                let marks = line.prefix(while: { $0 == "!" || $0 == "." })
                if marks.contains("!") { return Verdict(duplicate: true, mac: "", address: nil) }
                if !marks.isEmpty { sawSummary = true }
            }
        }
        return sawSummary ? Verdict(duplicate: false, mac: "", address: nil) : nil
    }
}
