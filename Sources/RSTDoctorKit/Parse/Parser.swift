import Foundation

/// What one check produced: the text of each command it ran or file it read, in order.
/// `name` is the argv joined by spaces or the file path; parsers that read several files
/// (e.g. /proc/net/netstat and /proc/net/snmp) tell them apart by it.
public struct RawOutput: Sendable, Hashable, Codable {
    public struct Part: Sendable, Hashable, Codable {
        public var name: String
        public var text: String
        public var exitCode: Int32?
        public init(name: String, text: String, exitCode: Int32? = 0) {
            self.name = name
            self.text = text
            self.exitCode = exitCode
        }
    }

    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }
    public init(_ text: String, name: String = "sample") { self.parts = [Part(name: name, text: text)] }

    /// All parts' text, concatenated: what single-output parsers read.
    public var text: String { parts.map(\.text).joined(separator: "\n") }
}

/// Why a parser rejected its input: shown as the check's `failed` reason.
public struct ParseError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A parser turns raw output into facts (key → value). Pure: no I/O, no clock.
/// Keys keep the source's own names (DESIGN §3). Unknown facts are returned by name with a reason.
public struct ParsedFacts: Sendable {
    public var values: [String: FactValue] = [:]
    public var unknown: [String: String] = [:]
    public init(values: [String: FactValue] = [:], unknown: [String: String] = [:]) {
        self.values = values
        self.unknown = unknown
    }
}

public protocol OutputParser: Sendable {
    /// The id a check names in its `parser:` field.
    static var id: String { get }
    static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts
}

/// Every parser, by id. Adding a parser = one file in Parse/ plus one line here.
public enum Parsers {
    public static let all: [any OutputParser.Type] = registered

    public static func parser(id: String) -> (any OutputParser.Type)? {
        all.first { $0.id == id }
    }
}
