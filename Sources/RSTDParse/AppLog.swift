import Foundation
import RSTDCore

/// Application logs (tails of `--log PATH` files, `journalctl -u UNIT` output), one part per
/// source → counts of lines that report a reset or its neighbours: `applog.reset` ("connection
/// reset by peer", "Connection reset", ECONNRESET), `applog.broken_pipe` ("broken pipe", EPIPE),
/// `applog.upstream_closed` (nginx "upstream prematurely closed"), `applog.refused` ("connection
/// refused", ECONNREFUSED), `applog.timeout` ("timed out", ETIMEDOUT), and `applog.lines` records
/// {kind, source, text, time, in_period}: the first 50 matching lines (those in the period first),
/// each under its first matching kind. A line can count for several kinds.
///
/// Evidence has a time: when the collector gives the period (`rstdoctor:period` part, `--since`),
/// only lines whose time stamp falls in it are counted; a line without a stamp takes the stamp of
/// the line above it (a stack trace's continuation), and lines of a source with no stamp at all
/// are `applog.undated` and not counted. Lines outside the period are `applog.outside`. Without a
/// period part (a check's sample, an old bundle) every line counts.
package enum AppLogParser: OutputParser {
    package static let id = "app-log"

    static let maxLines = 50
    static let maxText = 500

    static let kinds: [(kind: String, needles: [String])] = [
        ("reset", ["connection reset", "econnreset"]),
        ("broken_pipe", ["broken pipe", "epipe"]),
        ("upstream_closed", ["upstream prematurely closed"]),
        ("refused", ["connection refused", "econnrefused"]),
        ("timeout", ["timed out", "etimedout"]),
    ]

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let period = LogTime.period(output)
        let iso = ISO8601DateFormatter()
        var counts = [String: Int64]()
        var inside: [Record] = [], outside: [Record] = []
        var total: Int64 = 0, undated: Int64 = 0, beyond: Int64 = 0
        for part in LogTime.logParts(output) {
            var last: Double?
            for raw in part.text.split(whereSeparator: \.isNewline) {
                total += 1
                if let t = LogTime.parse(raw, reference: period?.upperBound ?? Date().timeIntervalSince1970) { last = t }
                let lower = raw.lowercased()
                let matched = kinds.filter { k in k.needles.contains(where: { lower.contains($0) }) }
                guard let first = matched.first else { continue }
                let counts_: Bool
                if let period {
                    if let t = last { counts_ = period.contains(t); if !counts_ { beyond += 1 } }
                    else { counts_ = false; undated += 1 }
                } else {
                    counts_ = true
                }
                if counts_ { for k in matched { counts[k.kind, default: 0] += 1 } }
                var r: Record = ["kind": .string(first.kind), "source": .string(part.name),
                                 "text": .string(String(raw.prefix(maxText))), "in_period": .bool(counts_)]
                r["time"] = .string(last.map { iso.string(from: Date(timeIntervalSince1970: $0)) } ?? "")
                if counts_ { if inside.count < maxLines { inside.append(r) } } else if outside.count < maxLines { outside.append(r) }
            }
        }
        let lines = Array((inside + outside).prefix(maxLines))
        var values: [String: FactValue] = ["applog.lines": .records(lines), "applog.scanned": .int(total),
                                          "applog.undated": .int(undated), "applog.outside": .int(beyond),
                                          "applog.period": .string(period.map(LogTime.describe) ?? "in the lines read")]
        for k in kinds { values["applog.\(k.kind)"] = .int(counts[k.kind] ?? 0) }
        return ParsedFacts(values: values)
    }
}
