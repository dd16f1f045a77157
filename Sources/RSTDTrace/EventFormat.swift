import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// A tracefs event's `format` file: its fields and the symbol tables of its print format.
/// Reason and state names come from here (never from numbers compiled into rstdoctor), because
/// the numbering of `enum sk_rst_reason` and `enum skb_drop_reason` changes between kernels.
package struct EventFormat: Sendable, Hashable {
    /// One `field:` line.
    package struct Field: Sendable, Hashable {
        package var type: String
        package var name: String
        /// Element count for array fields (`__u8 saddr[28]`).
        package var arrayLength: Int?
        package var offset: Int
        package var size: Int
        package var signed: Bool
    }

    /// One `{ value, "NAME" }` pair of a `__print_symbolic`. `value` is nil when the kernel left
    /// the enum identifier unresolved (it does so for TCP states in tcp_send_reset); `key` keeps
    /// the text as written.
    package struct Symbol: Sendable, Hashable {
        package var key: String
        package var value: Int64?
        package var name: String
    }

    package var name: String
    package var id: Int?
    package var fields: [Field]
    package var printFormat: String
    /// Field name → its symbols, in print-format order.
    package var symbols: [String: [Symbol]]

    package func field(_ name: String) -> Field? { fields.first { $0.name == name } }
    package func hasField(_ name: String) -> Bool { field(name) != nil }

    /// The number the kernel uses for a symbol name in this field, for building tracefs filters.
    package func value(of symbol: String, in field: String) -> Int64? {
        symbols[field]?.first { $0.name == symbol }?.value
    }

    /// The names the print format can show for a field (e.g. every RST reason this kernel knows).
    package func names(in field: String) -> [String] { symbols[field]?.map(\.name) ?? [] }

    /// Parses the text of `events/<system>/<event>/format`. Bounded: at most 512 fields and
    /// 4096 symbols per field; unknown lines are ignored so that newer kernels still parse.
    package static func parse(_ text: String) throws(ParseError) -> EventFormat {
        var name: String?
        var id: Int?
        var fields: [Field] = []
        var printFormat = ""
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("name:") {
                name = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("ID:") {
                id = Int(line.dropFirst(3).trimmingCharacters(in: .whitespaces))
            } else if line.hasPrefix("field:") {
                guard fields.count < 512, let f = parseField(line) else { continue }
                fields.append(f)
            } else if line.hasPrefix("print fmt:") {
                printFormat = line.dropFirst(10).trimmingCharacters(in: .whitespaces)
            }
        }
        guard let name, !name.isEmpty else { throw ParseError("not a tracefs event format: no `name:` line") }
        guard !fields.isEmpty else { throw ParseError("tracefs format of \(name) has no `field:` lines") }
        return EventFormat(name: name, id: id, fields: fields, printFormat: printFormat,
                           symbols: symbolTables(printFormat))
    }

    /// `field:const void * skbaddr;	offset:8;	size:8;	signed:0;`
    static func parseField(_ line: String) -> Field? {
        let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let decl = parts.first, decl.hasPrefix("field:") else { return nil }
        var declaration = decl.dropFirst(6).trimmingCharacters(in: .whitespaces)
        var arrayLength: Int?
        if declaration.hasSuffix("]"), let open = declaration.lastIndex(of: "[") {
            let inner = declaration[declaration.index(after: open)..<declaration.index(before: declaration.endIndex)]
            arrayLength = Int(inner)
            declaration = String(declaration[..<open])
        }
        guard let split = declaration.lastIndex(where: { $0 == " " || $0 == "*" }) else { return nil }
        let fieldName = String(declaration[declaration.index(after: split)...])
        let type = declaration[...split].trimmingCharacters(in: .whitespaces)
        guard !fieldName.isEmpty, !type.isEmpty else { return nil }
        var offset: Int?
        var size: Int?
        var signed = false
        for p in parts.dropFirst() {
            if p.hasPrefix("offset:") { offset = Int(p.dropFirst(7)) }
            else if p.hasPrefix("size:") { size = Int(p.dropFirst(5)) }
            else if p.hasPrefix("signed:") { signed = p.dropFirst(7) == "1" }
        }
        guard let offset, let size else { return nil }
        return Field(type: type, name: fieldName, arrayLength: arrayLength, offset: offset, size: size, signed: signed)
    }

    /// Every `__print_symbolic(REC->field, { k, "NAME" }, …)` in a print format.
    static func symbolTables(_ fmt: String) -> [String: [Symbol]] {
        var tables: [String: [Symbol]] = [:]
        let chars = Array(fmt.unicodeScalars)
        let marker = Array("__print_symbolic(".unicodeScalars)
        var i = 0
        func skipSpace() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        while i + marker.count <= chars.count {
            guard chars[i..<(i + marker.count)].elementsEqual(marker) else { i += 1; continue }
            i += marker.count
            skipSpace()
            // The field expression up to the first comma: `REC->reason`.
            var expr = ""
            while i < chars.count, chars[i] != "," && chars[i] != ")" { expr.unicodeScalars.append(chars[i]); i += 1 }
            let field = expr.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "REC->", with: "")
            var symbols: [Symbol] = []
            while i < chars.count {
                skipSpace()
                guard i < chars.count else { break }
                if chars[i] == "," { i += 1; continue }
                if chars[i] == ")" { i += 1; break }
                guard chars[i] == "{" else { break }
                i += 1
                var key = ""
                while i < chars.count, chars[i] != "," && chars[i] != "}" { key.unicodeScalars.append(chars[i]); i += 1 }
                guard i < chars.count, chars[i] == "," else { break }
                i += 1
                skipSpace()
                guard i < chars.count, chars[i] == "\"" else { break }
                i += 1
                var name = ""
                while i < chars.count, chars[i] != "\"" { name.unicodeScalars.append(chars[i]); i += 1 }
                i += 1
                while i < chars.count, chars[i] != "}" { i += 1 }
                i += 1
                let k = key.trimmingCharacters(in: .whitespaces)
                if symbols.count < 4096 { symbols.append(Symbol(key: k, value: integer(k), name: name)) }
            }
            if !field.isEmpty, tables[field] == nil { tables[field] = symbols }
        }
        return tables
    }

    private static func integer(_ s: String) -> Int64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return Int64(s.dropFirst(2), radix: 16) }
        return Int64(s)
    }
}
