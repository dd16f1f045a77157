import Foundation
import RSTDData
import RSTDCore

/// The rule expression language (DESIGN §5): literals, fact keys, `== != < <= > >=`, `&& || !`,
/// arithmetic, `in [..]`, `known(x)`, and `any/all/count/sum/max/min(list, expr)` over record lists.
/// Parsed and type-checked at load; evaluated with three-valued logic (unknown is never false).
package indirect enum Expr: Sendable, Hashable {
    case literal(FactValue)
    case list([Expr])
    /// A dotted name: a fact key, or inside a record predicate, a field of the current record.
    case name(String)
    case field(String)
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case call(String, [Expr])
}

/// A static type as the checker sees it.
package indirect enum ExprType: Sendable, Hashable, CustomStringConvertible {
    case number, bool, string, records([String: FactType]), list(ExprType), any

    package init(_ t: FactType, fields: [String: FactType] = [:]) {
        switch t {
        case .int, .double, .duration: self = .number
        case .bool: self = .bool
        case .string: self = .string
        case .records: self = .records(fields)
        }
    }

    package var description: String {
        switch self {
        case .number: "number"
        case .bool: "bool"
        case .string: "string"
        case .records: "record list"
        case .list(let t): "list of \(t)"
        case .any: "any"
        }
    }

    package func matches(_ other: ExprType) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any): true
        case (.number, .number), (.bool, .bool), (.string, .string): true
        case (.records, .records): true
        case (.list(let a), .list(let b)): a.matches(b)
        default: false
        }
    }
}

package struct ExprError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

// MARK: - Parsing

package enum ExprParser {
    package static func parse(_ text: String) throws(ExprError) -> Expr {
        var p = Parser(tokens: try tokenize(text))
        let e = try p.expression()
        guard p.atEnd else { throw ExprError("unexpected `\(p.peek?.text ?? "")` after a complete expression") }
        return e
    }

    enum TokenKind { case number, string, ident, op, lparen, rparen, lbracket, rbracket, comma }
    struct Token { var kind: TokenKind; var text: String }

    static func tokenize(_ s: String) throws(ExprError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(s.unicodeScalars)
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || CharacterSet.letters.contains(c) }
        func isIdent(_ c: Unicode.Scalar) -> Bool { c == "_" || c == "." || CharacterSet.alphanumerics.contains(c) }
        while i < chars.count {
            let c = chars[i]
            if CharacterSet.whitespacesAndNewlines.contains(c) { i += 1; continue }
            if CharacterSet.decimalDigits.contains(c) {
                var j = i
                while j < chars.count, CharacterSet.decimalDigits.contains(chars[j]) || chars[j] == "." { j += 1 }
                // A unit suffix makes a duration literal: 5s, 250ms, 2m, 1h.
                var k = j
                while k < chars.count, CharacterSet.letters.contains(chars[k]) { k += 1 }
                tokens.append(Token(kind: .number, text: String(String.UnicodeScalarView(chars[i..<k]))))
                i = k
                continue
            }
            if isIdentStart(c) {
                var j = i
                while j < chars.count, isIdent(chars[j]) { j += 1 }
                tokens.append(Token(kind: .ident, text: String(String.UnicodeScalarView(chars[i..<j]))))
                i = j
                continue
            }
            if c == "\"" || c == "'" {
                var j = i + 1
                var text = ""
                while j < chars.count, chars[j] != c {
                    if chars[j] == "\\", j + 1 < chars.count { j += 1 }
                    text.unicodeScalars.append(chars[j])
                    j += 1
                }
                guard j < chars.count else { throw ExprError("unterminated string") }
                tokens.append(Token(kind: .string, text: text))
                i = j + 1
                continue
            }
            let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                tokens.append(Token(kind: .op, text: two))
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

        mutating func accept(_ op: String) -> Bool {
            if let t = peek, t.kind == .op || t.kind == .ident, t.text == op { pos += 1; return true }
            return false
        }

        mutating func expect(_ kind: TokenKind, _ what: String) throws(ExprError) {
            guard let t = next(), t.kind == kind else { throw ExprError("expected \(what)") }
        }

        mutating func expression() throws(ExprError) -> Expr {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { throw ExprError("expression nested too deeply") }
            return try or()
        }

        mutating func or() throws(ExprError) -> Expr {
            var l = try and()
            while accept("||") { l = .binary("||", l, try and()) }
            return l
        }

        mutating func and() throws(ExprError) -> Expr {
            var l = try not()
            while accept("&&") { l = .binary("&&", l, try not()) }
            return l
        }

        mutating func not() throws(ExprError) -> Expr {
            if accept("!") {
                depth += 1
                defer { depth -= 1 }
                guard depth < 64 else { throw ExprError("expression nested too deeply") }
                return .unary("!", try not())
            }
            return try comparison()
        }

        mutating func comparison() throws(ExprError) -> Expr {
            let l = try additive()
            for op in ["==", "!=", "<=", ">=", "<", ">", "in"] where accept(op) {
                return .binary(op, l, try additive())
            }
            return l
        }

        mutating func additive() throws(ExprError) -> Expr {
            var l = try multiplicative()
            while true {
                if accept("+") { l = .binary("+", l, try multiplicative()) }
                else if accept("-") { l = .binary("-", l, try multiplicative()) }
                else { return l }
            }
        }

        mutating func multiplicative() throws(ExprError) -> Expr {
            var l = try unary()
            while true {
                if accept("*") { l = .binary("*", l, try unary()) }
                else if accept("/") { l = .binary("/", l, try unary()) }
                else if accept("%") { l = .binary("%", l, try unary()) }
                else { return l }
            }
        }

        mutating func unary() throws(ExprError) -> Expr {
            if accept("-") {
                depth += 1
                defer { depth -= 1 }
                guard depth < 64 else { throw ExprError("expression nested too deeply") }
                return .unary("-", try unary())
            }
            return try primary()
        }

        mutating func primary() throws(ExprError) -> Expr {
            guard let t = next() else { throw ExprError("the expression ends too early") }
            switch t.kind {
            case .number:
                if let i = Int64(t.text) { return .literal(.int(i)) }
                if let d = Double(t.text) { return .literal(.double(d)) }
                if let d = Seconds.parse(t.text) { return .literal(.duration(d)) }
                throw ExprError("`\(t.text)` is not a number or duration")
            case .string:
                return .literal(.string(t.text))
            case .lparen:
                let e = try expression()
                try expect(.rparen, "`)`")
                return e
            case .lbracket:
                var items: [Expr] = []
                if peek?.kind == .rbracket { pos += 1; return .list(items) }
                while true {
                    items.append(try expression())
                    guard let n = next() else { throw ExprError("expected `]`") }
                    if n.kind == .rbracket { break }
                    guard n.kind == .comma else { throw ExprError("expected `,` or `]` in a list") }
                }
                return .list(items)
            case .ident:
                switch t.text {
                case "true": return .literal(.bool(true))
                case "false": return .literal(.bool(false))
                default: break
                }
                if peek?.kind == .lparen {
                    pos += 1
                    var args: [Expr] = []
                    if peek?.kind == .rparen { pos += 1; return .call(t.text, args) }
                    while true {
                        args.append(try expression())
                        guard let n = next() else { throw ExprError("expected `)`") }
                        if n.kind == .rparen { break }
                        guard n.kind == .comma else { throw ExprError("expected `,` or `)` in a call") }
                    }
                    return .call(t.text, args)
                }
                return .name(t.text)
            default:
                throw ExprError("unexpected `\(t.text)`")
            }
        }
    }
}

// MARK: - Type checking

/// What the checker knows about names: declared facts with their types.
package struct ExprScope: Sendable {
    package var facts: [String: FactDeclaration]

    package init(facts: [String: FactDeclaration]) { self.facts = facts }
}

package enum ExprChecker {
    static let aggregates: Set<String> = ["any", "all", "count", "sum", "max", "min"]

    /// Resolves names (record fields vs facts), checks types, and returns the rewritten expression,
    /// its type and the fact keys it reads.
    package static func check(_ e: Expr, scope: ExprScope) throws(ExprError) -> (Expr, ExprType, Set<String>) {
        var reads = Set<String>()
        let (r, t) = try check(e, scope: scope, fields: nil, reads: &reads)
        return (r, t, reads)
    }

    private static func check(_ e: Expr, scope: ExprScope, fields: [String: FactType]?, reads: inout Set<String>) throws(ExprError) -> (Expr, ExprType) {
        switch e {
        case .literal(let v):
            return (e, ExprType(v.type))
        case .field(let f):
            guard let fields, let t = fields[f] else { throw ExprError("unknown record field `\(f)`") }
            return (e, ExprType(t))
        case .name(let n):
            if let fields, let t = fields[n] { return (.field(n), ExprType(t)) }
            guard let d = scope.facts[n] else {
                let near = nearest(n, in: Array(scope.facts.keys) + Array(fields?.keys ?? [:].keys))
                throw ExprError("unknown fact `\(n)`" + (near.map { " (did you mean `\($0)`?)" } ?? ""))
            }
            reads.insert(n)
            return (e, ExprType(d.type, fields: d.fields))
        case .list(let items):
            var out: [Expr] = []
            var t: ExprType = .any
            for i in items {
                let (r, it) = try check(i, scope: scope, fields: fields, reads: &reads)
                guard t.matches(it) else { throw ExprError("list mixes \(t) and \(it)") }
                if case .any = t { t = it }
                out.append(r)
            }
            return (.list(out), .list(t))
        case .unary(let op, let a):
            let (r, t) = try check(a, scope: scope, fields: fields, reads: &reads)
            if op == "!" {
                guard t.matches(.bool) else { throw ExprError("`!` needs a bool, got \(t)") }
                return (.unary(op, r), .bool)
            }
            guard t.matches(.number) else { throw ExprError("`-` needs a number, got \(t)") }
            return (.unary(op, r), .number)
        case .binary(let op, let a, let b):
            let (ra, ta) = try check(a, scope: scope, fields: fields, reads: &reads)
            let (rb, tb) = try check(b, scope: scope, fields: fields, reads: &reads)
            let out = Expr.binary(op, ra, rb)
            switch op {
            case "&&", "||":
                guard ta.matches(.bool), tb.matches(.bool) else { throw ExprError("`\(op)` needs bools, got \(ta) and \(tb)") }
                return (out, .bool)
            case "==", "!=":
                guard ta.matches(tb) else { throw ExprError("cannot compare \(ta) with \(tb) using `\(op)`") }
                return (out, .bool)
            case "<", "<=", ">", ">=":
                guard ta.matches(tb), ta.matches(.number) || ta.matches(.string) else {
                    throw ExprError("cannot order \(ta) and \(tb) with `\(op)`")
                }
                return (out, .bool)
            case "in":
                guard case .list(let et) = tb else { throw ExprError("`in` needs a list on its right, got \(tb)") }
                guard et.matches(ta) else { throw ExprError("`in` compares \(ta) with a list of \(et)") }
                return (out, .bool)
            default:
                guard ta.matches(.number), tb.matches(.number) else { throw ExprError("`\(op)` needs numbers, got \(ta) and \(tb)") }
                return (out, .number)
            }
        case .call(let fn, let args):
            if fn == "known" {
                guard args.count == 1 else { throw ExprError("known() takes one fact") }
                let (r, _) = try check(args[0], scope: scope, fields: fields, reads: &reads)
                return (.call(fn, [r]), .bool)
            }
            if fn == "port_in" {
                guard args.count == 2 else { throw ExprError("port_in() takes a port list text and a port") }
                let (r0, t0) = try check(args[0], scope: scope, fields: fields, reads: &reads)
                let (r1, t1) = try check(args[1], scope: scope, fields: fields, reads: &reads)
                guard t0.matches(.string), t1.matches(.number) else { throw ExprError("port_in() takes a port list text (\"80,443,8000-8100\", empty = any) and a port") }
                return (.call(fn, [r0, r1]), .bool)
            }
            if fn == "contains" || fn == "starts_with" {
                guard args.count == 2 else { throw ExprError("\(fn)() takes two strings") }
                let (r0, t0) = try check(args[0], scope: scope, fields: fields, reads: &reads)
                let (r1, t1) = try check(args[1], scope: scope, fields: fields, reads: &reads)
                guard t0.matches(.string), t1.matches(.string) else { throw ExprError("\(fn)() takes two strings") }
                return (.call(fn, [r0, r1]), .bool)
            }
            guard aggregates.contains(fn) else {
                throw ExprError("unknown function `\(fn)` (known: known, contains, starts_with, port_in, \(aggregates.sorted().joined(separator: ", ")))")
            }
            guard (1...2).contains(args.count) else { throw ExprError("\(fn)() takes a record list and an expression") }
            let (rl, tl) = try check(args[0], scope: scope, fields: fields, reads: &reads)
            guard case .records(let recordFields) = tl else { throw ExprError("\(fn)() needs a record list first, got \(tl)") }
            if args.count == 1 {
                guard fn == "count" else { throw ExprError("\(fn)() needs an expression over each record") }
                return (.call(fn, [rl]), .number)
            }
            let (rp, tp) = try check(args[1], scope: scope, fields: recordFields, reads: &reads)
            switch fn {
            case "any", "all", "count":
                guard tp.matches(.bool) else { throw ExprError("\(fn)() needs a condition, got \(tp)") }
                return (.call(fn, [rl, rp]), fn == "count" ? .number : .bool)
            default:
                guard tp.matches(.number) else { throw ExprError("\(fn)() needs a number per record, got \(tp)") }
                return (.call(fn, [rl, rp]), .number)
            }
        }
    }

    /// The closest known name, for "did you mean" hints.
    package static func nearest(_ name: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(name, c)
            if d <= max(2, name.count / 4), best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = prev
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}

// MARK: - Evaluation

/// The result of evaluating an expression: a value, or unknown because of these facts.
package enum EvalResult: Sendable {
    case value(FactValue)
    case list([FactValue])
    case unknown(Set<String>)

    var bool: Bool? { if case .value(.bool(let b)) = self { return b }; return nil }
}

package struct ExprEvaluator {
    package let lookup: (String) -> FactValue?

    package init(lookup: @escaping (String) -> FactValue?) { self.lookup = lookup }

    package func eval(_ e: Expr) -> EvalResult { eval(e, record: nil) }

    private func eval(_ e: Expr, record: Record?) -> EvalResult {
        switch e {
        case .literal(let v): return .value(v)
        case .field(let f):
            if let v = record?[f] { return .value(v) }
            return .unknown(["field:\(f)"])
        case .name(let n):
            if let v = lookup(n) { return .value(v) }
            return .unknown([n])
        case .list(let items):
            var out: [FactValue] = []
            var unknown = Set<String>()
            for i in items {
                switch eval(i, record: record) {
                case .value(let v): out.append(v)
                case .unknown(let u): unknown.formUnion(u)
                case .list: break
                }
            }
            return unknown.isEmpty ? .list(out) : .unknown(unknown)
        case .unary(let op, let a):
            let r = eval(a, record: record)
            guard case .value(let v) = r else { return r }
            if op == "!" { return v.asBool.map { .value(.bool(!$0)) } ?? .unknown([]) }
            guard let n = v.number else { return .unknown([]) }
            return .value(v.type == .int ? .int(-Int64(n)) : .double(-n))
        case .binary(let op, let a, let b):
            return binary(op, a, b, record: record)
        case .call(let fn, let args):
            return call(fn, args, record: record)
        }
    }

    private func binary(_ op: String, _ a: Expr, _ b: Expr, record: Record?) -> EvalResult {
        // Kleene logic: false && unknown = false, true || unknown = true.
        if op == "&&" || op == "||" {
            let ra = eval(a, record: record)
            if let x = ra.bool, x == (op == "||") { return .value(.bool(x)) }
            let rb = eval(b, record: record)
            if let y = rb.bool, y == (op == "||") { return .value(.bool(y)) }
            var unknown = Set<String>()
            if case .unknown(let u) = ra { unknown.formUnion(u) }
            if case .unknown(let u) = rb { unknown.formUnion(u) }
            if !unknown.isEmpty { return .unknown(unknown) }
            return .value(.bool(op == "&&"))
        }
        let ra = eval(a, record: record), rb = eval(b, record: record)
        var unknown = Set<String>()
        if case .unknown(let u) = ra { unknown.formUnion(u) }
        if case .unknown(let u) = rb { unknown.formUnion(u) }
        if !unknown.isEmpty { return .unknown(unknown) }
        if op == "in" {
            guard case .value(let x) = ra, case .list(let items) = rb else { return .unknown([]) }
            return .value(.bool(items.contains { Self.equal(x, $0) }))
        }
        guard case .value(let x) = ra, case .value(let y) = rb else { return .unknown([]) }
        switch op {
        case "==": return .value(.bool(Self.equal(x, y)))
        case "!=": return .value(.bool(!Self.equal(x, y)))
        case "<", "<=", ">", ">=":
            if let p = x.number, let q = y.number {
                let r = op == "<" ? p < q : op == "<=" ? p <= q : op == ">" ? p > q : p >= q
                return .value(.bool(r))
            }
            if case .string(let p) = x, case .string(let q) = y {
                let r = op == "<" ? p < q : op == "<=" ? p <= q : op == ">" ? p > q : p >= q
                return .value(.bool(r))
            }
            return .unknown([])
        default:
            guard let p = x.number, let q = y.number else { return .unknown([]) }
            let bothInt = x.type == .int && y.type == .int
            switch op {
            case "+": return .value(bothInt ? .int(Int64(clamping: Int64(p) &+ Int64(q))) : .double(p + q))
            case "-": return .value(bothInt ? .int(Int64(p) &- Int64(q)) : .double(p - q))
            case "*": return .value(bothInt ? .int(Int64(p) &* Int64(q)) : .double(p * q))
            case "/":
                guard q != 0 else { return .unknown([]) }
                return .value(.double(p / q))
            case "%":
                guard bothInt, Int64(q) != 0 else { return .unknown([]) }
                return .value(.int(Int64(p) % Int64(q)))
            default: return .unknown([])
            }
        }
    }

    private func call(_ fn: String, _ args: [Expr], record: Record?) -> EvalResult {
        switch fn {
        case "known":
            if case .unknown = eval(args[0], record: record) { return .value(.bool(false)) }
            return .value(.bool(true))
        case "port_in":
            let a = eval(args[0], record: record), b = eval(args[1], record: record)
            guard case .value(.string(let list)) = a, case .value(let pv) = b, let port = pv.number else {
                var u = Set<String>()
                if case .unknown(let x) = a { u.formUnion(x) }
                if case .unknown(let x) = b { u.formUnion(x) }
                return .unknown(u)
            }
            return .value(.bool(Self.portIn(list, Int(port))))
        case "contains", "starts_with":
            let a = eval(args[0], record: record), b = eval(args[1], record: record)
            guard case .value(.string(let s)) = a, case .value(.string(let t)) = b else {
                var u = Set<String>()
                if case .unknown(let x) = a { u.formUnion(x) }
                if case .unknown(let x) = b { u.formUnion(x) }
                return .unknown(u)
            }
            return .value(.bool(fn == "contains" ? s.localizedCaseInsensitiveContains(t) : s.hasPrefix(t)))
        default:
            let l = eval(args[0], record: record)
            guard case .value(.records(let records)) = l else {
                if case .unknown(let u) = l { return .unknown(u) }
                return .unknown([])
            }
            if args.count == 1 { return .value(.int(Int64(records.count))) }
            var count = 0
            var falseCount = 0
            var numbers: [Double] = []
            for r in records {
                let v = eval(args[1], record: r)
                switch fn {
                case "any", "all", "count":
                    if let b = v.bool { if b { count += 1 } else { falseCount += 1 } }
                default:
                    if case .value(let x) = v, let n = x.number { numbers.append(n) }
                }
            }
            switch fn {
            // A record missing a field cannot make `any` true nor `all` false.
            case "any": return .value(.bool(count > 0))
            case "all": return .value(.bool(falseCount == 0))
            case "count": return .value(.int(Int64(count)))
            case "sum": return .value(.double(numbers.reduce(0, +)))
            case "max": return numbers.max().map { .value(.double($0)) } ?? .value(.double(0))
            default: return numbers.min().map { .value(.double($0)) } ?? .value(.double(0))
            }
        }
    }

    /// "80,443,8000-8100" contains port; an empty list means any port.
    static func portIn(_ list: String, _ port: Int) -> Bool {
        let items = list.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "{" || $0 == "}" })
        if items.isEmpty { return true }
        for item in items {
            let bounds = item.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 1, bounds[0] == port { return true }
            if bounds.count == 2, bounds[0] <= port, port <= bounds[1] { return true }
        }
        return false
    }

    package static func equal(_ x: FactValue, _ y: FactValue) -> Bool {
        if let p = x.number, let q = y.number, x.type != .string, y.type != .string { return p == q }
        return x == y
    }
}

extension FactValue {
    var asBool: Bool? { if case .bool(let b) = self { return b }; return nil }
}
