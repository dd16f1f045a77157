import Foundation
import RSTDCore

/// /proc/net/sockstat and sockstat6: `TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 0` →
/// `sockstat.tcp.inuse`, `sockstat.tcp.orphan`… (mem is in pages), `sockets: used 15` →
/// `sockstat.sockets.used`, `TCP6: inuse 0` → `sockstat.tcp6.inuse`. Every `name value` pair of
/// every protocol line is kept, lower-cased as the file's own labels are.
package enum SockstatParser: OutputParser {
    package static let id = "sockstat"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var facts = ParsedFacts()
        for raw in output.text.split(whereSeparator: \.isNewline) {
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first, first.hasSuffix(":"), first.count > 1 else { continue }
            let proto = first.dropLast().lowercased()
            guard proto.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { continue }
            var i = 1
            // Pairs: a label, then its number. A label without a number ends the line's pairs.
            while i + 1 < words.count {
                let label = words[i].lowercased()
                guard label.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "_") }), let n = Int64(words[i + 1]) else { break }
                facts.values["sockstat.\(proto).\(label)"] = .int(n)
                i += 2
            }
        }
        if facts.values.isEmpty && !output.text.allSatisfy(\.isWhitespace) {
            throw ParseError("not /proc/net/sockstat text: no `PROTO: name value …` line")
        }
        return facts
    }
}
