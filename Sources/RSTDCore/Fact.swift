import Foundation

/// The type of a fact's value; the expression language type-checks against these.
package enum FactType: String, Sendable, Codable, Hashable, CaseIterable {
    case int, double, bool, string, duration, records

    /// Accepts the spellings used in YAML declarations.
    package init?(yaml: String) {
        switch yaml.lowercased() {
        case "int", "integer", "counter": self = .int
        case "double", "float", "number", "ratio": self = .double
        case "bool", "boolean": self = .bool
        case "string", "text": self = .string
        case "duration": self = .duration
        case "records", "list": self = .records
        default: return nil
        }
    }
}

/// One record of a record-list fact (a listener, a socket, a firewall rule…): scalar fields only.
package typealias Record = [String: FactValue]

/// A typed value. Durations are seconds.
package enum FactValue: Sendable, Hashable {
    case int(Int64)
    /// An integer above Int64.max (the kernel's counters are u64): type `int` like `.int`. Only
    /// values that do not fit `.int` are kept here, so each integer has one spelling; build integers
    /// with `FactValue(integer:)` or `FactValue(integerText:)`, which pick the case.
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case duration(Double)
    case records([Record])

    package var type: FactType {
        switch self {
        case .int, .uint: .int
        case .double: .double
        case .bool: .bool
        case .string: .string
        case .duration: .duration
        case .records: .records
        }
    }

    /// Numeric view used by comparisons and arithmetic (ints, doubles, durations, bools as 0/1).
    package var number: Double? {
        switch self {
        case .int(let v): Double(v)
        case .uint(let v): Double(v)
        case .double(let v): v
        case .duration(let v): v
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// A short human rendering, as shown beside evidence.
    package var display: String {
        switch self {
        case .int(let v): String(v)
        case .uint(let v): String(v)
        case .double(let v): v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.3g", v)
        case .bool(let v): v ? "true" : "false"
        case .string(let v): v
        case .duration(let v): Seconds.render(v)
        case .records(let r): "\(r.count) record\(r.count == 1 ? "" : "s")"
        }
    }
}

extension FactValue {
    /// The exact value of an integer (either case); nil for every other type.
    package var integer: Int128? {
        switch self {
        case .int(let v): Int128(v)
        case .uint(let v): Int128(v)
        default: nil
        }
    }

    /// An integer as a fact value: `.int` when it fits Int64, `.uint` up to UInt64.max; nil beyond
    /// both (the caller says why the value is unknown instead).
    package init?(integer v: Int128) {
        if let i = Int64(exactly: v) { self = .int(i) } else if let u = UInt64(exactly: v) { self = .uint(u) } else { return nil }
    }

    /// A decimal integer as the kernel prints it: signed 64-bit, or an unsigned 64-bit counter.
    package init?(integerText text: some StringProtocol) {
        if let i = Int64(text) { self = .int(i) } else if let u = UInt64(text) { self = .uint(u) } else { return nil }
    }
}

/// Where a fact came from: the check (or capture, trace, answer) and the command or file it read.
package struct FactSource: Sendable, Hashable, Codable {
    package var check: String
    package var origin: String?

    package init(check: String, origin: String? = nil) {
        self.check = check
        self.origin = origin
    }

    package var display: String { origin.map { "\(check): \($0)" } ?? check }

    /// The checks behind the fact: its own, or for a derived fact (`rule:ID`) the checks its rule
    /// read, which the engine keeps as the origin.
    package var checks: [String] {
        guard check.hasPrefix("rule:") else { return [check] }
        return (origin ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// A fact is known with a value, or unknown with the reason it could not be seen.
package struct Fact: Sendable, Hashable {
    package var key: String
    package var value: FactValue?
    package var unknownReason: String?
    package var source: FactSource
    package var time: Date

    package init(key: String, value: FactValue, source: FactSource, time: Date = Date()) {
        self.key = key
        self.value = value
        self.unknownReason = nil
        self.source = source
        self.time = time
    }

    package init(key: String, unknown reason: String, source: FactSource, time: Date = Date()) {
        self.key = key
        self.value = nil
        self.unknownReason = reason
        self.source = source
        self.time = time
    }

    package var isKnown: Bool { value != nil }
}

/// All facts of one diagnosis, by key. Later writes replace earlier ones.
package struct FactStore: Sendable {
    package private(set) var facts: [String: Fact] = [:]

    package init(_ facts: [Fact] = []) {
        for f in facts { add(f) }
    }

    package mutating func add(_ fact: Fact) {
        // A known value is never replaced by an unknown one from a weaker source.
        if !fact.isKnown, let old = facts[fact.key], old.isKnown { return }
        facts[fact.key] = fact
    }

    package mutating func add(_ key: String, _ value: FactValue, source: FactSource) {
        add(Fact(key: key, value: value, source: source))
    }

    package mutating func merge(_ other: FactStore) {
        for f in other.facts.values { add(f) }
    }

    package subscript(key: String) -> Fact? { facts[key] }
    package func value(_ key: String) -> FactValue? { facts[key]?.value }
    package var keys: [String] { facts.keys.sorted() }
}

/// Parsing and rendering of durations such as `1s`, `250ms`, `2m`, `1h30m`.
package enum Seconds {
    package static func parse(_ text: String) -> Double? {
        let s = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !s.isEmpty else { return nil }
        if let plain = Double(s), plain.isFinite, plain >= 0 { return plain }
        var total = 0.0
        var number = ""
        var unit = ""
        func flush() -> Bool {
            guard let n = Double(number), n.isFinite, n >= 0 else { return false }
            let scale: Double
            switch unit {
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s", "sec": scale = 1
            case "m", "min": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            default: return false
            }
            total += n * scale
            number = ""
            unit = ""
            return true
        }
        for ch in s {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter || ch == "µ" {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard !number.isEmpty, flush() else { return nil }
        return total
    }

    package static func render(_ seconds: Double) -> String {
        if let (n, unit) = parts(seconds) { return "\(n)\(unit)" }
        let (v, unit, fraction) = scaled(seconds)
        return (fraction ? String(format: "%.1f", v) : whole(v)) + "\(unit)"
    }

    /// What `render` writes when it is a whole number and a unit (most gaps: `580µs`, `3ms`, `12s`),
    /// for writers that write them as bytes (capture records); nil when it writes a fraction.
    package static func parts(_ seconds: Double) -> (Int, StaticString)? {
        if seconds == 0 { return (0, "s") }
        let (v, unit, fraction) = scaled(seconds)
        guard !fraction, let n = exactWhole(v) else { return nil }
        return (n, unit)
    }

    /// The span in the unit `render` writes it in, and whether with one decimal (else a whole number).
    private static func scaled(_ s: Double) -> (Double, StaticString, Bool) {
        if s < 1e-3 { return (s * 1e6, "µs", false) }
        if s < 1 { return (s * 1e3, "ms", false) }
        if s < 120 { return (s, "s", s != s.rounded()) }
        if s < 7200 { return (s / 60, "m", false) }
        if s >= 172_800 { return (s / 86400, "d", false) }
        return (s / 3600, "h", true)
    }

    /// `String(format: "%.0f", v)`: printf rounds the exact binary value to the nearest integer, ties
    /// to even, as `rounded(.toNearestOrEven)` does; done without Foundation's formatter (capture records
    /// render thousands of these) where the result is exact in an Int, else by printf.
    static func whole(_ v: Double) -> String { exactWhole(v).map { String($0) } ?? String(format: "%.0f", v) }

    /// `whole(v)` as an Int, where it is exact in one.
    private static func exactWhole(_ v: Double) -> Int? { v > 0 && v < 1e15 ? Int(v.rounded(.toNearestOrEven)) : nil }
}
