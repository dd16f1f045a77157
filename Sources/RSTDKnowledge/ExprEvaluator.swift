import Foundation
import RSTDCore
import RSTDData

/// Why a value could not be computed: facts that are not known, and problems of the evaluation
/// itself (an integer overflow, a division by zero, a record without the field, max() of nothing).
package struct Unknowns: Sendable, Hashable {
    package var facts: Set<String>
    package var problems: Set<String>

    package init(facts: Set<String> = [], problems: Set<String> = []) {
        self.facts = facts
        self.problems = problems
    }

    package static func problem(_ text: String) -> Unknowns { Unknowns(problems: [text]) }

    package mutating func formUnion(_ other: Unknowns) {
        facts.formUnion(other.facts)
        problems.formUnion(other.problems)
    }
}

/// The result of evaluating an expression: a value, a list, or unknown and why.
package enum EvalResult: Sendable {
    case value(FactValue)
    case list([FactValue])
    case unknown(Unknowns)

    var bool: Bool? { if case .value(.bool(let b)) = self { return b }; return nil }
    var unknowns: Unknowns? { if case .unknown(let u) = self { return u }; return nil }
}

/// Evaluates checked expressions with Kleene's three-valued logic: an unknown operand makes the
/// result unknown unless the known ones decide it (`false && ?` is false, `true || ?` is true).
/// Integers are exact over Int64 ∪ UInt64 (the range facts hold); a result beyond it is unknown
/// with the reason, never a wrapped number or a crash.
package struct ExprEvaluator {
    package let lookup: (String) -> FactValue?

    package init(lookup: @escaping (String) -> FactValue?) { self.lookup = lookup }

    package func eval(_ e: Expr) -> EvalResult { eval(e, record: nil) }

    private func eval(_ e: Expr, record: Record?) -> EvalResult {
        switch e {
        case .literal(let v): return .value(v)
        case .field(let f, let absent):
            if let v = record?[f] ?? absent { return .value(v) }
            return .unknown(.problem("a record has no `\(f)`"))
        case .name(let n):
            if let v = lookup(n) { return .value(v) }
            return .unknown(Unknowns(facts: [n]))
        case .list(let items):
            var out: [FactValue] = []
            var unknown = Unknowns()
            for i in items {
                switch eval(i, record: record) {
                case .value(let v): out.append(v)
                case .unknown(let u): unknown.formUnion(u)
                case .list: unknown.formUnion(.problem("a list inside a list"))
                }
            }
            return unknown == Unknowns() ? .list(out) : .unknown(unknown)
        case .unary(let op, let a):
            let r = eval(a, record: record)
            guard case .value(let v) = r else { return r }
            switch op {
            case .not: return v.asBool.map { .value(.bool(!$0)) } ?? .unknown(.problem("`!` of \(v.display), not a bool"))
            case .negate: return Arithmetic.negate(v)
            }
        case .binary(let op, let a, let b):
            return binary(op, a, b, record: record)
        case .call(let fn, let args):
            return call(fn, args, record: record)
        }
    }

    /// Both results, or unknown with the reasons of either.
    private func both(_ a: EvalResult, _ b: EvalResult) -> Unknowns? {
        var u = Unknowns()
        var any = false
        if let x = a.unknowns { u.formUnion(x); any = true }
        if let x = b.unknowns { u.formUnion(x); any = true }
        return any ? u : nil
    }

    private func binary(_ op: BinaryOp, _ a: Expr, _ b: Expr, record: Record?) -> EvalResult {
        if op == .and || op == .or {
            // Kleene: false && unknown = false, true || unknown = true.
            let decisive = op == .or
            let ra = eval(a, record: record)
            if ra.bool == decisive { return ra }
            let rb = eval(b, record: record)
            if rb.bool == decisive { return rb }
            if let u = both(ra, rb) { return .unknown(u) }
            return .value(.bool(!decisive))
        }
        let ra = eval(a, record: record)
        if op == .in { return member(ra, b, record: record) }
        let rb = eval(b, record: record)
        if let u = both(ra, rb) { return .unknown(u) }
        guard case .value(let x) = ra, case .value(let y) = rb else { return .unknown(.problem("`\(op.rawValue)` of a list")) }
        switch op {
        case .equal: return .value(.bool(Self.equal(x, y)))
        case .notEqual: return .value(.bool(!Self.equal(x, y)))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let order = Self.compare(x, y) else { return .unknown(.problem("cannot order \(x.display) and \(y.display)")) }
            switch op {
            case .less: return .value(.bool(order == .orderedAscending))
            case .lessOrEqual: return .value(.bool(order != .orderedDescending))
            case .greater: return .value(.bool(order == .orderedDescending))
            default: return .value(.bool(order != .orderedAscending))
            }
        case .add, .subtract, .multiply, .divide, .remainder:
            return Arithmetic.apply(op, x, y)
        case .and, .or, .in:
            preconditionFailure("handled above")
        }
    }

    /// `x in [items]`, Kleene: true when x equals a known item even if other items are unknown.
    private func member(_ ra: EvalResult, _ list: Expr, record: Record?) -> EvalResult {
        guard case .value(let x) = ra else { return .unknown(ra.unknowns ?? .problem("`in` of a list")) }
        let items: [EvalResult]
        if case .list(let es) = list {
            items = es.map { eval($0, record: record) }
        } else if case .list(let vs) = eval(list, record: record) {
            items = vs.map { .value($0) }
        } else {
            items = [eval(list, record: record)]
        }
        var unknown: Unknowns?
        for item in items {
            switch item {
            case .value(let v) where Self.equal(x, v): return .value(.bool(true))
            case .value: break
            case .unknown(let u): unknown = unknown.map { var w = $0; w.formUnion(u); return w } ?? u
            case .list: unknown = .problem("a list inside a list")
            }
        }
        return unknown.map { .unknown($0) } ?? .value(.bool(false))
    }

    private func call(_ fn: ExprFunction, _ args: [Expr], record: Record?) -> EvalResult {
        switch fn {
        case .known:
            if case .unknown = eval(args[0], record: record) { return .value(.bool(false)) }
            return .value(.bool(true))
        case .portIn, .contains, .startsWith:
            let a = eval(args[0], record: record), b = eval(args[1], record: record)
            if let u = both(a, b) { return .unknown(u) }
            switch (fn, a, b) {
            case (.portIn, .value(.string(let list)), .value(let p)):
                guard let port = p.integer.flatMap({ Int(exactly: $0) }) ?? p.number.flatMap({ Int(exactly: $0) }) else {
                    return .value(.bool(false))
                }
                return .value(.bool(Self.portIn(list, port)))
            case (.contains, .value(.string(let s)), .value(.string(let t))): return .value(.bool(s.localizedCaseInsensitiveContains(t)))
            case (.startsWith, .value(.string(let s)), .value(.string(let t))): return .value(.bool(s.hasPrefix(t)))
            default: return .unknown(.problem("\(fn.rawValue)() of values of the wrong type"))
            }
        case .any, .all, .count, .sum, .max, .min:
            let l = eval(args[0], record: record)
            guard case .value(.records(let records)) = l else { return .unknown(l.unknowns ?? .problem("\(fn.rawValue)() of a non-list")) }
            // A record may stand for several (field `rsts`: one of a bounded list of a capture's RSTs
            // standing for the unlisted ones like it): count() counts it that many times.
            let weights = fn == .count ? records.map { Self.weight($0) } : []
            if args.count == 1 { return .value(.int(weights.reduce(0, +))) }
            return Aggregate.apply(fn, records.map { eval(args[1], record: $0) }, weights: weights)
        }
    }

    /// How many items a record stands for in count(): its `rsts` field when it has one, else 1.
    static func weight(_ r: Record) -> Int64 {
        guard let w = r["rsts"]?.integer, w >= 1, w <= Int128(Int32.max) else { return 1 }
        return Int64(w)
    }

    /// "80,443,8000-8100" contains port; an empty list means any port. Ranges are written `a-b` (nft)
    /// or `a:b` (iptables); a negated list (iptables-save's `! --dport 80,443` read as `!80,443`, nft's
    /// `dport != { 80, 443 }` as `!80,!443`) contains every other port.
    static func portIn(_ list: String, _ port: Int) -> Bool {
        if list.drop(while: { $0 == " " }).hasPrefix("!") {
            let rest = list.filter { $0 != "!" }
            return rest.allSatisfy { $0 == " " || $0 == "," } || !portIn(rest, port)
        }
        let items = list.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "{" || $0 == "}" })
        if items.isEmpty { return true }
        for item in items {
            let bounds = item.split(whereSeparator: { $0 == "-" || $0 == ":" }).compactMap { Int($0) }
            if bounds.count == 1, bounds[0] == port { return true }
            if bounds.count == 2, bounds[0] <= port, port <= bounds[1] { return true }
        }
        return false
    }

    /// Equality across numeric types (an int 1 equals a double 1.0); integers compare exactly.
    package static func equal(_ x: FactValue, _ y: FactValue) -> Bool {
        if let p = x.integer, let q = y.integer { return p == q }
        if let p = x.number, let q = y.number, x.type != .string, y.type != .string { return p == q }
        return x == y
    }

    /// Order of two numbers (integers exactly) or two strings; nil for anything else.
    static func compare(_ x: FactValue, _ y: FactValue) -> ComparisonResult? {
        func order<T: Comparable>(_ a: T, _ b: T) -> ComparisonResult {
            a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        }
        if let p = x.integer, let q = y.integer { return order(p, q) }
        if let p = x.number, let q = y.number, !p.isNaN, !q.isNaN { return order(p, q) }
        if case .string(let p) = x, case .string(let q) = y { return order(p, q) }
        return nil
    }
}

extension FactValue {
    var asBool: Bool? { if case .bool(let b) = self { return b }; return nil }
}
