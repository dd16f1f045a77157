import Foundation

/// A JSON value with ordered object keys, so documents read in the order the schema documents.
package indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    /// An integer above Int64.max (a u64 counter), written exactly.
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    package static func == (a: JSON, b: JSON) -> Bool { a.serialized() == b.serialized() }

    package init(_ v: FactValue) {
        switch v {
        case .int(let i): self = .int(i)
        case .uint(let u): self = .uint(u)
        case .double(let d): self = .double(d)
        case .duration(let d): self = .double(d)
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        case .records(let rs): self = .array(rs.map { r in .object(r.keys.sorted().map { ($0, JSON(r[$0]!)) }) })
        }
    }

    package func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(&out, indent: pretty ? 0 : -1)
        return out
    }

    private func write(_ out: inout String, indent: Int) {
        let nl = indent >= 0 ? "\n" : ""
        let pad = { (n: Int) in indent >= 0 ? String(repeating: "  ", count: n) : "" }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d):
            if !d.isFinite { out += "null" }
            else if d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) }
            // Shortest text that reads back as the same double: times keep their microseconds.
            else { out += "\(d)" }
        case .string(let s): JSON.escape(s, into: &out)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "[" + nl
            for (i, x) in a.enumerated() {
                out += pad(indent + 1)
                x.write(&out, indent: indent >= 0 ? indent + 1 : -1)
                out += (i < a.count - 1 ? "," : "") + nl
            }
            out += pad(indent) + "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{" + nl
            for (i, (k, v)) in o.enumerated() {
                out += pad(indent + 1)
                JSON.escape(k, into: &out)
                out += indent >= 0 ? ": " : ":"
                v.write(&out, indent: indent >= 0 ? indent + 1 : -1)
                out += (i < o.count - 1 ? "," : "") + nl
            }
            out += pad(indent) + "}"
        }
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // Also escape `<` so JSON embedded in HTML can never close a script element.
            case "<": out += "\\u003c"
            default:
                if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

/// Reading JSON (`nft -j`, `ip -j`): decoded with JSONDecoder, so booleans stay booleans and numbers
/// stay numbers (JSONSerialization's NSNumber cannot tell `1` from `true` on every platform), with
/// Foundation's own nesting limit. An object's keys come in sorted order.
extension JSON: Decodable {
    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self).sorted { $0.key < $1.key }) }
    }
}
