import Foundation
import RSTDCore

/// Application logs (tails of `--log PATH` files, `journalctl -u UNIT` output), one part per
/// source → counts of lines that report a reset or its neighbours: `applog.reset` ("connection
/// reset by peer", "Connection reset", ECONNRESET), `applog.broken_pipe` ("broken pipe", EPIPE),
/// `applog.upstream_closed` (nginx "upstream prematurely closed"), `applog.refused` ("connection
/// refused", ECONNREFUSED), `applog.timeout` ("timed out", ETIMEDOUT), and `applog.lines` records
/// {kind, source, text}: the first 50 matching lines, each under its first matching kind. A line
/// can count for several kinds ("upstream timed out (110: Connection timed out)" is one timeout).
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
        var counts = [String: Int64]()
        var lines: [Record] = []
        var total: Int64 = 0
        for part in output.parts {
            for raw in part.text.split(whereSeparator: \.isNewline) {
                total += 1
                let lower = raw.lowercased()
                var first: String?
                for k in kinds where k.needles.contains(where: { lower.contains($0) }) {
                    counts[k.kind, default: 0] += 1
                    if first == nil { first = k.kind }
                }
                if let kind = first, lines.count < maxLines {
                    lines.append(["kind": .string(kind), "source": .string(part.name), "text": .string(String(raw.prefix(maxText)))])
                }
            }
        }
        var values: [String: FactValue] = ["applog.lines": .records(lines), "applog.scanned": .int(total)]
        for k in kinds { values["applog.\(k.kind)"] = .int(counts[k.kind] ?? 0) }
        return ParsedFacts(values: values)
    }
}
