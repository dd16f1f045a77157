import Foundation
import RSTDCore
import RSTDData

/// Text → `Expr`: a lexer and a recursive-descent parser (`||` < `&&` < `!` < comparison <
/// `+ -` < `* / %` < unary `-` < primary). Nesting is bounded so hostile input cannot exhaust the stack.
package enum ExprParser {
    package static func parse(_ text: String) throws(ExprError) -> Expr {
        var p = Parser(tokens: try tokenize(text))
        let e = try p.expression()
        guard p.atEnd else { throw ExprError("unexpected `\(p.peek?.text ?? "")` after a complete expression") }
        return e
    }

    static let maxDepth = 64

    enum TokenKind { case number, string, ident, op, lparen, rparen, lbracket, rbracket, comma }
    struct Token { var kind: TokenKind; var text: String }

    static func tokenize(_ s: String) throws(ExprError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(s.unicodeScalars)
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || CharacterSet.letters.contains(c) }
        func isIdent(_ c: Unicode.Scalar) -> Bool { c == "_" || c == "." || CharacterSet.alphanumerics.contains(c) }
        func text(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(chars[r])) }
        while i < chars.count {
            let c = chars[i]
            if CharacterSet.whitespacesAndNewlines.contains(c) { i += 1; continue }
            if CharacterSet.decimalDigits.contains(c) {
                var j = i
                while j < chars.count, CharacterSet.decimalDigits.contains(chars[j]) || chars[j] == "." { j += 1 }
                // A unit suffix makes a duration literal: 5s, 250ms, 2m, 1h.
                while j < chars.count, CharacterSet.letters.contains(chars[j]) { j += 1 }
                tokens.append(Token(kind: .number, text: text(i..<j)))
                i = j
                continue
            }
            if isIdentStart(c) {
                var j = i
                while j < chars.count, isIdent(chars[j]) { j += 1 }
                tokens.append(Token(kind: .ident, text: text(i..<j)))
                i = j
                continue
            }
            if c == "\"" || c == "'" {
                var j = i + 1
                var value = ""
                while j < chars.count, chars[j] != c {
                    if chars[j] == "\\", j + 1 < chars.count { j += 1 }
                    value.unicodeScalars.append(chars[j])
                    j += 1
                }
                guard j < chars.count else { throw ExprError("unterminated string") }
                tokens.append(Token(kind: .string, text: value))
                i = j + 1
                continue
            }
            if i + 1 < chars.count, ["==", "!=", "<=", ">=", "&&", "||"].contains(text(i..<i + 2)) {
                tokens.append(Token(kind: .op, text: text(i..<i + 2)))
                i += 2
                continue
            }
            switch c {
            case "(": tokens.append(Token(kind: .lparen, text: "("))
            case ")": tokens.append(Token(kind: .rparen, text: ")"))
            case "[": tokens.append(Token(kind: .lbracket, text: "["))
            case "]": tokens.append(Token(kind: .rbracket, text: "]"))
            case ",": tokens.append(Token(kind: .comma, text: ","))
            case "<", ">", "!", "+", "-", "*", "/", "%": tokens.append(Token(kind: .op, text: String(c)))
            default: throw ExprError("unexpected character `\(c)`")
            }
            i += 1
        }
        return tokens
    }

    struct Parser {
        var tokens: [Token]
        var pos = 0
        var depth = 0

        var atEnd: Bool { pos >= tokens.count }
        var peek: Token? { pos < tokens.count ? tokens[pos] : nil }

        mutating func next() -> Token? {
            defer { pos += 1 }
            return peek
        }

        /// Consumes the next token when it spells `op` (`in` is a word, the others symbols).
        mutating func accept(_ op: String) -> Bool {
            if let t = peek, t.kind == .op || t.kind == .ident, t.text == op { pos += 1; return true }
            return false
        }

        mutating func accept(_ ops: [BinaryOp]) -> BinaryOp? { ops.first { accept($0.rawValue) } }

        mutating func expect(_ kind: TokenKind, _ what: String) throws(ExprError) {
            guard let t = next(), t.kind == kind else { throw ExprError("expected \(what)") }
        }

        mutating func nested<T>(_ body: (inout Parser) throws(ExprError) -> T) throws(ExprError) -> T {
            depth += 1
            defer { depth -= 1 }
            guard depth < ExprParser.maxDepth else { throw ExprError("expression nested too deeply") }
            return try body(&self)
        }

        mutating func expression() throws(ExprError) -> Expr { try nested { p throws(ExprError) in try p.or() } }

        mutating func or() throws(ExprError) -> Expr {
            var l = try and()
            while accept(BinaryOp.or.rawValue) { l = .binary(.or, l, try and()) }
            return l
        }

        mutating func and() throws(ExprError) -> Expr {
            var l = try not()
            while accept(BinaryOp.and.rawValue) { l = .binary(.and, l, try not()) }
            return l
        }

        mutating func not() throws(ExprError) -> Expr {
            if accept(UnaryOp.not.rawValue) { return try nested { p throws(ExprError) in .unary(.not, try p.not()) } }
            return try comparison()
        }

        mutating func comparison() throws(ExprError) -> Expr {
            let l = try additive()
            if let op = accept(BinaryOp.comparisons) { return .binary(op, l, try additive()) }
            return l
        }

        mutating func additive() throws(ExprError) -> Expr {
            var l = try multiplicative()
            while let op = accept(BinaryOp.additive) { l = .binary(op, l, try multiplicative()) }
            return l
        }

        mutating func multiplicative() throws(ExprError) -> Expr {
            var l = try unary()
            while let op = accept(BinaryOp.multiplicative) { l = .binary(op, l, try unary()) }
            return l
        }

        mutating func unary() throws(ExprError) -> Expr {
            if accept(UnaryOp.negate.rawValue) { return try nested { p throws(ExprError) in .unary(.negate, try p.unary()) } }
            return try primary()
        }

        mutating func primary() throws(ExprError) -> Expr {
            guard let t = next() else { throw ExprError("the expression ends too early") }
            switch t.kind {
            case .number: return .literal(try ExprParser.number(t.text))
            case .string: return .literal(.string(t.text))
            case .lparen:
                let e = try expression()
                try expect(.rparen, "`)`")
                return e
            case .lbracket: return .list(try items(until: .rbracket, "`]`", in: "a list"))
            case .ident:
                switch t.text {
                case "true": return .literal(.bool(true))
                case "false": return .literal(.bool(false))
                default: break
                }
                guard peek?.kind == .lparen else { return .name(t.text) }
                pos += 1
                guard let fn = ExprFunction(rawValue: t.text) else {
                    let near = DidYouMean.nearest(t.text, in: ExprFunction.allCases.map(\.rawValue))
                    let hint = near.map { " (did you mean `\($0)`?)" } ?? " (known: \(ExprFunction.names))"
                    throw ExprError("unknown function `\(t.text)`" + hint)
                }
                return .call(fn, try items(until: .rparen, "`)`", in: "a call"))
            default:
                throw ExprError("unexpected `\(t.text)`")
            }
        }

        /// Comma-separated expressions up to the closing token (already past the opening one).
        mutating func items(until close: TokenKind, _ closeText: String, in what: String) throws(ExprError) -> [Expr] {
            var out: [Expr] = []
            if peek?.kind == close { pos += 1; return out }
            while true {
                out.append(try expression())
                guard let n = next() else { throw ExprError("expected \(closeText)") }
                if n.kind == close { return out }
                guard n.kind == .comma else { throw ExprError("expected `,` or \(closeText) in \(what)") }
            }
        }
    }

    /// A number literal: an integer (up to UInt64.max, like the kernel's counters), a decimal, or a
    /// duration (`5s`, `250ms`).
    static func number(_ text: String) throws(ExprError) -> FactValue {
        if let i = FactValue(integerText: text) { return i }
        if text.allSatisfy({ $0.isNumber }) { throw ExprError("`\(text)` is beyond the 64-bit integer range") }
        if let d = Double(text), d.isFinite { return .double(d) }
        if let d = Seconds.parse(text) { return .duration(d) }
        throw ExprError("`\(text)` is not a number or duration")
    }
}
