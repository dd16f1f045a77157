import Foundation
import RSTDCore
import RSTDData

/// What the checker knows about names: declared facts with their types.
package struct ExprScope: Sendable {
    package var facts: [String: FactDeclaration]
    /// Combined record lists (`combine:`), read through their sources.
    package var combined: [String: Combiner]

    package init(facts: [String: FactDeclaration], combined: [String: Combiner] = [:]) {
        self.facts = facts
        self.combined = combined
    }
}

/// The type checker: resolves names (record fields vs facts), checks operand and argument types,
/// and collects the fact keys an expression reads. Runs once, at load.
package enum ExprChecker {
    /// Returns the resolved expression, its type and the fact keys it reads.
    package static func check(_ e: Expr, scope: ExprScope) throws(ExprError) -> (Expr, ExprType, Set<String>) {
        var c = Checker(scope: scope)
        let (r, t) = try c.check(e, fields: nil)
        return (r, t, c.reads)
    }

    /// Parses and checks `text` in one step.
    package static func compile(_ text: String, scope: ExprScope) throws(ExprError) -> (Expr, ExprType, Set<String>) {
        try check(try ExprParser.parse(text), scope: scope)
    }

    /// Parses and checks `text` over one record of the record list `record` (its fields are names).
    package static func compile(
        _ text: String, scope: ExprScope, record: FactDeclaration
    ) throws(ExprError) -> (Expr, ExprType, Set<String>) {
        var c = Checker(scope: scope)
        let (r, t) = try c.check(try ExprParser.parse(text), fields: (record.fields, record.absent))
        return (r, t, c.reads)
    }

    private struct Checker {
        let scope: ExprScope
        var reads = Set<String>()

        /// The record's field types and absent-field values inside an aggregate's per-record expression.
        typealias RecordContext = (types: [String: FactType], absent: Record)

        /// `fields`: the current record inside an aggregate's per-record expression.
        mutating func check(_ e: Expr, fields: RecordContext?) throws(ExprError) -> (Expr, ExprType) {
            switch e {
            case .literal(let v):
                return (e, ExprType(v.type))
            case .field(let f, _):
                guard let fields, let t = fields.types[f] else { throw ExprError("unknown record field `\(f)`") }
                return (.field(f, absent: fields.absent[f]), ExprType(t))
            case .name(let n):
                if let fields, let t = fields.types[n] { return (.field(n, absent: fields.absent[n]), ExprType(t)) }
                guard let d = scope.facts[n] else {
                    let near = DidYouMean.nearest(n, in: Array(scope.facts.keys) + Array(fields?.types.keys ?? [:].keys))
                    throw ExprError("unknown fact `\(n)`" + (near.map { " (did you mean `\($0)`?)" } ?? ""))
                }
                if let c = scope.combined[n] {
                    let from = c.sources.map(\.key).joined(separator: ", ")
                    throw ExprError("`\(n)` combines \(from): read it with any(), all(), count() or sum()")
                }
                reads.insert(n)
                return (e, ExprType(d.type, fields: d.fields, absent: d.absent))
            case .list(let items):
                var out: [Expr] = []
                var t: ExprType = .any
                for i in items {
                    let (r, it) = try check(i, fields: fields)
                    guard t.matches(it) else { throw ExprError("list mixes \(t) and \(it)") }
                    if case .any = t { t = it }
                    out.append(r)
                }
                return (.list(out), .list(t))
            case .unary(let op, let a):
                let (r, t) = try check(a, fields: fields)
                let want: ExprType = op == .not ? .bool : .number
                guard t.matches(want) else { throw ExprError("`\(op.rawValue)` needs a \(want), got \(t)") }
                return (.unary(op, r), want)
            case .binary(let op, let a, let b):
                let (ra, ta) = try check(a, fields: fields)
                let (rb, tb) = try check(b, fields: fields)
                return (.binary(op, ra, rb), try Self.type(op, ta, tb))
            case .call(let fn, let args):
                return try call(fn, args, fields: fields)
            }
        }

        static func type(_ op: BinaryOp, _ ta: ExprType, _ tb: ExprType) throws(ExprError) -> ExprType {
            switch op {
            case .and, .or:
                guard ta.matches(.bool), tb.matches(.bool) else { throw ExprError("`\(op.rawValue)` needs bools, got \(ta) and \(tb)") }
                return .bool
            case .equal, .notEqual:
                guard ta.matches(tb) else { throw ExprError("cannot compare \(ta) with \(tb) using `\(op.rawValue)`") }
                return .bool
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard ta.matches(tb), ta.matches(.number) || ta.matches(.string) else {
                    throw ExprError("cannot order \(ta) and \(tb) with `\(op.rawValue)`")
                }
                return .bool
            case .in:
                guard case .list(let et) = tb else { throw ExprError("`in` needs a list on its right, got \(tb)") }
                guard et.matches(ta) else { throw ExprError("`in` compares \(ta) with a list of \(et)") }
                return .bool
            case .add, .subtract, .multiply, .divide, .remainder:
                guard ta.matches(.number), tb.matches(.number) else {
                    throw ExprError("`\(op.rawValue)` needs numbers, got \(ta) and \(tb)")
                }
                return .number
            }
        }

        mutating func call(_ fn: ExprFunction, _ args: [Expr], fields: RecordContext?) throws(ExprError) -> (Expr, ExprType) {
            /// Checks `args` against `want` (count and types); `usage` is the message when they do not fit.
            func plain(_ want: [ExprType], _ usage: String) throws(ExprError) -> (Expr, ExprType) {
                guard args.count == want.count else { throw ExprError(usage) }
                var out: [Expr] = []
                for (a, w) in zip(args, want) {
                    let (r, t) = try check(a, fields: fields)
                    guard t.matches(w) else { throw ExprError(usage) }
                    out.append(r)
                }
                return (.call(fn, out), .bool)
            }
            switch fn {
            case .known:
                return try plain([.any], "known() takes one fact")
            case .portIn:
                return try plain([.string, .number], "port_in() takes a port list text (\"80,443,8000-8100\", empty = any) and a port")
            case .contains, .startsWith:
                return try plain([.string, .string], "\(fn.rawValue)() takes two strings")
            case .any, .all, .count, .sum, .max, .min:
                guard (1...2).contains(args.count) else { throw ExprError("\(fn.rawValue)() takes a record list and an expression") }
                if case .name(let n) = args[0], fields?.types[n] == nil, let c = scope.combined[n] { return try combined(fn, c, args) }
                let (rl, tl) = try check(args[0], fields: fields)
                guard case .records(let types, let absent) = tl else { throw ExprError("\(fn.rawValue)() needs a record list first, got \(tl)") }
                if args.count == 1 {
                    guard fn == .count else { throw ExprError("\(fn.rawValue)() needs an expression over each record") }
                    return (.call(fn, [rl]), .number)
                }
                let (rp, tp) = try check(args[1], fields: (types, absent))
                switch fn {
                case .any, .all, .count:
                    guard tp.matches(.bool) else { throw ExprError("\(fn.rawValue)() needs a condition, got \(tp)") }
                    return (.call(fn, [rl, rp]), fn == .count ? .number : .bool)
                default:
                    guard tp.matches(.number) else { throw ExprError("\(fn.rawValue)() needs a number per record, got \(tp)") }
                    return (.call(fn, [rl, rp]), .number)
                }
            }
        }

        /// An aggregate over a combined list: checked against the combined fields, then read from each source.
        mutating func combined(_ fn: ExprFunction, _ c: Combiner, _ args: [Expr]) throws(ExprError) -> (Expr, ExprType) {
            var predicate: Expr?
            var type = ExprType.number
            if args.count == 2 {
                let (rp, tp) = try check(args[1], fields: (c.fieldTypes, [:]))
                switch fn {
                case .any, .all, .count:
                    guard tp.matches(.bool) else { throw ExprError("\(fn.rawValue)() needs a condition, got \(tp)") }
                    if fn != .count { type = .bool }
                default:
                    guard tp.matches(.number) else { throw ExprError("\(fn.rawValue)() needs a number per record, got \(tp)") }
                }
                predicate = rp
            } else if fn != .count {
                throw ExprError("\(fn.rawValue)() needs an expression over each record")
            }
            guard let (e, r) = c.expand(fn, predicate: predicate) else {
                throw ExprError("\(fn.rawValue)() of `\(c.key)`: a combined list is read with any(), all(), count() or sum()")
            }
            reads.formUnion(r)
            return (e, type)
        }
    }
}
