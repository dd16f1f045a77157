import Foundation
import RSTDCore

/// Conntrack's per-CPU statistics of the network namespace read, summed over the CPUs:
/// `/proc/net/stat/nf_conntrack` (a header, then one row of hex columns per CPU, as
/// `ct_cpu_seq_show()` in net/netfilter/nf_conntrack_standalone.c prints them) or `conntrack -S`
/// (`cpu=0 found=0 invalid=2 … drop=0 early_drop=0 …`, decimal). Columns are found by their header
/// name, so the older headers (`searched`, `delete_list`) parse too. Facts: `conntrack.stat.invalid`
/// (packets conntrack found invalid: not tracked, so not NATed), `.drop` (packets dropped because
/// no entry could be made: a full table when `nf_conntrack: table full` is logged), `.early_drop`
/// (entries evicted to make room), `.insert_failed`, `.found`, `.error`, `.search_restart`,
/// `.clash_resolve`, and `conntrack.stat.entries` (the table's count, the same on every row: not summed).
package enum ConntrackStatParser: OutputParser {
    package static let id = "conntrack-stat"

    /// Column names of both formats → fact names (`icmp_error` is `error` in `conntrack -S`).
    static let names: [String: String] = [
        "invalid": "invalid", "drop": "drop", "early_drop": "early_drop", "insert_failed": "insert_failed",
        "found": "found", "icmp_error": "error", "error": "error", "search_restart": "search_restart",
        "clashres": "clash_resolve", "clash_resolve": "clash_resolve",
    ]

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let lines = output.text.split(whereSeparator: \.isNewline).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
            .filter { !$0.isEmpty }
        guard let first = lines.first else { return ParsedFacts() }
        var sums: [String: Int64] = [:]
        var entries: Int64?
        if first.first == "entries" {
            let header = first.map(String.init)
            for row in lines.dropFirst() {
                guard row.count == header.count else {
                    throw ParseError("a /proc/net/stat/nf_conntrack row has \(row.count) columns, the header \(header.count)")
                }
                for (name, cell) in zip(header, row) {
                    guard let v = Int64(cell, radix: 16) else {
                        throw ParseError("not a hex number in /proc/net/stat/nf_conntrack: \(cell)")
                    }
                    if name == "entries" { entries = v } else if let fact = names[name] { sums[fact, default: 0] += v }
                }
            }
        } else if first.first?.hasPrefix("cpu=") == true {
            for row in lines {
                for pair in row {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, let fact = names[String(kv[0])], let v = Int64(kv[1]) else { continue }
                    sums[fact, default: 0] += v
                }
            }
        } else {
            throw ParseError("neither /proc/net/stat/nf_conntrack (header `entries …`) nor `conntrack -S` (`cpu=N key=value …`)")
        }
        var facts = ParsedFacts()
        for fact in Set(names.values) { facts.values["conntrack.stat.\(fact)"] = .int(sums[fact] ?? 0) }
        if let entries { facts.values["conntrack.stat.entries"] = .int(entries) }
        return facts
    }
}
