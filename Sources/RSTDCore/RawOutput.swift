import Foundation

/// What one check produced: the text of each command it ran or file it read, in order.
/// `name` is the argv joined by spaces or the file path; parsers that read several files
/// (e.g. /proc/net/netstat and /proc/net/snmp) tell them apart by it.
package struct RawOutput: Sendable, Hashable, Codable {
    package struct Part: Sendable, Hashable, Codable {
        package var name: String
        package var text: String
        package var exitCode: Int32?
        package init(name: String, text: String, exitCode: Int32? = 0) {
            self.name = name
            self.text = text
            self.exitCode = exitCode
        }
    }

    package var parts: [Part]

    package init(parts: [Part]) { self.parts = parts }
    package init(_ text: String, name: String = "sample") { self.parts = [Part(name: name, text: text)] }

    /// All parts' text, concatenated: what single-output parsers read.
    package var text: String { parts.map(\.text).joined(separator: "\n") }
}

/// Why a parser rejected its input: shown as the check's `failed` reason.
package struct ParseError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// A parser turns raw output into facts (key → value). Pure: no I/O, no clock.
/// Keys keep the source's own names (DESIGN §3). Unknown facts are returned by name with a reason.
package struct ParsedFacts: Sendable {
    package var values: [String: FactValue] = [:]
    package var unknown: [String: String] = [:]
    package init(values: [String: FactValue] = [:], unknown: [String: String] = [:]) {
        self.values = values
        self.unknown = unknown
    }
}
