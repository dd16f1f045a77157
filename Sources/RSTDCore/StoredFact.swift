import Foundation

/// A fact kept in a file (a session's or a bundle's facts from captures, traces, observed counters).
package struct StoredFact: Codable, Sendable, Equatable {
    package var key: String
    package var value: StoredValue?
    package var unknown: String?
    package var check: String
    package var origin: String?

    package init(_ f: Fact) {
        key = f.key
        value = f.value.map(StoredValue.init)
        unknown = f.unknownReason
        check = f.source.check
        origin = f.source.origin
    }

    package var fact: Fact {
        let src = FactSource(check: check, origin: origin)
        if let v = value?.factValue { return Fact(key: key, value: v, source: src) }
        return Fact(key: key, unknown: unknown ?? "unknown", source: src)
    }
}

/// A FactValue as JSON: `{"type": "int", "value": 3}`; records as a list of field → StoredValue.
package struct StoredValue: Codable, Sendable, Equatable {
    package var type: FactType
    package var number: Double?
    package var text: String?
    package var flag: Bool?
    package var records: [[String: StoredValue]]?

    package init(_ v: FactValue) {
        type = v.type
        switch v {
        // Integers also keep their digits: a Double is exact only up to 2^53, counters go to 2^64.
        case .int, .uint: number = v.number; text = v.display
        case .double(let d), .duration(let d): number = d
        case .bool(let b): flag = b
        case .string(let s): text = s
        case .records(let rs): records = rs.map { $0.mapValues(StoredValue.init) }
        }
    }

    package var factValue: FactValue? {
        switch type {
        case .int: text.flatMap(FactValue.init(integerText:)) ?? number.flatMap { $0.isFinite && abs($0) < 9.2e18 ? .int(Int64($0)) : nil }
        case .double: number.map { .double($0) }
        case .duration: number.map { .duration($0) }
        case .bool: flag.map { .bool($0) }
        case .string: text.map { .string($0) }
        case .records:
            records.map { rs in .records(rs.map { r in r.compactMapValues { $0.factValue } }) }
        }
    }
}
