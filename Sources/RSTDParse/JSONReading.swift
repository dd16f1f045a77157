import Foundation
import RSTDCore

/// Reading a decoded JSON document (`JSON` in RSTDCore), for the parsers of `nft -j` and `ip -j`.
extension JSON {
    /// Parses text, or explains in one sentence why it is not JSON.
    static func parse(_ text: String, what: String) throws(ParseError) -> JSON {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ParseError("\(what) printed nothing") }
        do {
            return try JSONDecoder().decode(JSON.self, from: Data(trimmed.utf8))
        } catch {
            throw ParseError("\(what) output is not valid JSON (truncated or not the -j format?)")
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o.first { $0.0 == key }?.1 }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var int: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 9e18: Int64(d)
        case .string(let s): Int64(s)
        default: nil
        }
    }

    var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    var array: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var object: [String: JSON]? {
        if case .object(let o) = self { return Dictionary(o, uniquingKeysWith: { _, last in last }) }
        return nil
    }

    /// The single key of a one-key object, as libnftables writes every expression and statement.
    var single: (key: String, value: JSON)? {
        guard case .object(let o) = self, o.count == 1, let (k, v) = o.first else { return nil }
        return (k, v)
    }
}
