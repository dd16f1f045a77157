import Foundation
import RSTDCore
import RSTDData

/// Arithmetic of the expression language. Two integers give an exact integer (computed in Int128,
/// kept when it fits Int64 or UInt64, the range a fact can hold); anything beyond is unknown with
/// the reason. Decimals and durations use Double; a result that is not finite is unknown too.
enum Arithmetic {
    static func apply(_ op: BinaryOp, _ x: FactValue, _ y: FactValue) -> EvalResult {
        if op != .divide, let a = x.integer, let b = y.integer {
            let (r, overflow): (Int128, Bool)
            switch op {
            case .add: (r, overflow) = a.addingReportingOverflow(b)
            case .subtract: (r, overflow) = a.subtractingReportingOverflow(b)
            case .multiply: (r, overflow) = a.multipliedReportingOverflow(by: b)
            default:
                guard b != 0 else { return .unknown(.problem("division by zero in \(x.display) % 0")) }
                (r, overflow) = a.remainderReportingOverflow(dividingBy: b)
            }
            return integer(r, overflow: overflow, "\(x.display) \(op.rawValue) \(y.display)")
        }
        guard let p = x.number, let q = y.number else {
            return .unknown(.problem("`\(op.rawValue)` of \(x.display) and \(y.display), not numbers"))
        }
        let r: Double
        switch op {
        case .add: r = p + q
        case .subtract: r = p - q
        case .multiply: r = p * q
        case .divide:
            guard q != 0 else { return .unknown(.problem("division by zero in \(x.display) / 0")) }
            r = p / q
        default: return .unknown(.problem("`%` needs integers, got \(x.display) and \(y.display)"))
        }
        guard r.isFinite else { return .unknown(.problem("\(x.display) \(op.rawValue) \(y.display) is not a finite number")) }
        return .value(.double(r))
    }

    static func negate(_ v: FactValue) -> EvalResult {
        if let i = v.integer { return integer(-i, overflow: false, "-\(v.display)") }
        guard let n = v.number else { return .unknown(.problem("`-` of \(v.display), not a number")) }
        return .value(.double(-n))
    }

    /// An exact integer result as a value, or unknown saying it overflowed.
    static func integer(_ r: Int128, overflow: Bool, _ what: String) -> EvalResult {
        if !overflow, let v = FactValue(integer: r) { return .value(v) }
        return .unknown(.problem("\(what) overflows: the result is outside the 64-bit integer range"))
    }
}

/// Aggregates over the per-record results of a record list, with Kleene's logic: `any` is true
/// when some record's condition is true, `all` false when some is false, whatever the others are;
/// otherwise a record whose condition is unknown (a missing field) makes the result unknown, as it
/// does for `count`, `sum`, `max` and `min`. `max`/`min` of an empty list are unknown.
enum Aggregate {
    /// `weights` (count only, parallel to `results`): how many items each record stands for.
    static func apply(_ fn: ExprFunction, _ results: [EvalResult], weights: [Int64] = []) -> EvalResult {
        var unknown = Unknowns()
        var isUnknown = false
        var values: [FactValue] = []
        for r in results {
            switch r {
            case .value(let v): values.append(v)
            case .unknown(let u): unknown.formUnion(u); isUnknown = true
            case .list: unknown.formUnion(.problem("a list per record")); isUnknown = true
            }
        }
        let bools = values.compactMap(\.asBool)
        switch fn {
        case .any where bools.contains(true): return .value(.bool(true))
        case .all where bools.contains(false): return .value(.bool(false))
        default: break
        }
        if isUnknown { return .unknown(unknown) }
        switch fn {
        case .any: return .value(.bool(false))
        case .all: return .value(.bool(true))
        case .count:
            guard weights.count == values.count, values.count == bools.count else { return .value(.int(Int64(bools.filter { $0 }.count))) }
            return .value(.int(zip(bools, weights).reduce(0) { $0 + ($1.0 ? $1.1 : 0) }))
        case .sum: return sum(values)
        case .max, .min:
            guard !values.isEmpty else { return .unknown(.problem("\(fn.rawValue)() of an empty list has no value")) }
            return extreme(values, max: fn == .max)
        default: return .unknown(.problem("\(fn.rawValue)() is not an aggregate"))
        }
    }

    /// Exact for integers (unknown on overflow), Double otherwise.
    static func sum(_ values: [FactValue]) -> EvalResult {
        let ints = values.compactMap(\.integer)
        if ints.count == values.count {
            var total: Int128 = 0
            for i in ints {
                let (r, o) = total.addingReportingOverflow(i)
                if o { return Arithmetic.integer(r, overflow: true, "sum()") }
                total = r
            }
            return Arithmetic.integer(total, overflow: false, "sum()")
        }
        let total = values.compactMap(\.number).reduce(0, +)
        guard total.isFinite else { return .unknown(.problem("sum() is not a finite number")) }
        return .value(.double(total))
    }

    static func extreme(_ values: [FactValue], max: Bool) -> EvalResult {
        var best = values[0]
        for v in values.dropFirst() {
            guard let order = ExprEvaluator.compare(v, best) else { continue }
            if order == (max ? .orderedDescending : .orderedAscending) { best = v }
        }
        return .value(best)
    }
}
