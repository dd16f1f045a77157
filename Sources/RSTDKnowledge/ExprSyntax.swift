import Foundation
import RSTDCore
import RSTDData

/// The rule expression language (DESIGN §5): literals, fact keys, `== != < <= > >=`, `&& || !`,
/// arithmetic, `in [..]`, `known(x)`, and `any/all/count/sum/max/min(list, expr)` over record lists.
/// Parsed (`ExprParser`) and type-checked (`ExprChecker`) at load; evaluated (`ExprEvaluator`) with
/// three-valued logic: unknown is never false, and an integer overflow is unknown, never a wrong number.
package indirect enum Expr: Sendable, Hashable {
    case literal(FactValue)
    case list([Expr])
    /// A dotted name as written: a fact key, or inside a record predicate a field of the record.
    /// The checker resolves every name to `.field` or keeps it as a fact key.
    case name(String)
    /// A field of the current record; `absent` is the value its declaration gives a record that
    /// leaves the field out (a flag written only when it holds), nil when absence means unknown.
    case field(String, absent: FactValue?)
    case unary(UnaryOp, Expr)
    case binary(BinaryOp, Expr, Expr)
    case call(ExprFunction, [Expr])
}

/// A prefix operator.
package enum UnaryOp: String, Sendable, Hashable {
    case not = "!"
    case negate = "-"
}

/// An infix operator, spelled as in rules.
package enum BinaryOp: String, Sendable, Hashable, CaseIterable {
    case or = "||", and = "&&"
    case equal = "==", notEqual = "!="
    case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case `in` = "in"
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"

    /// The operators of one precedence level, loosest first (`||` binds loosest).
    static let comparisons: [BinaryOp] = [.equal, .notEqual, .lessOrEqual, .greaterOrEqual, .less, .greater, .in]
    static let additive: [BinaryOp] = [.add, .subtract]
    static let multiplicative: [BinaryOp] = [.multiply, .divide, .remainder]
}

/// A built-in function.
package enum ExprFunction: String, Sendable, Hashable, CaseIterable {
    /// `known(x)`: whether x could be evaluated.
    case known
    /// `contains(text, part)` (case-insensitive) and `starts_with(text, prefix)`.
    case contains, startsWith = "starts_with"
    /// `port_in("80,443,8000-8100", port)`: an empty list means any port; `a:b` is a range too, and a
    /// list negated as a whole (`!22`) holds every other port.
    case portIn = "port_in"
    /// Aggregates over a record list: `any/all/count(list, condition)`, `count(list)`,
    /// `sum/max/min(list, number)`. `count` counts a record with an `rsts` field that many times (a
    /// bounded list's record standing for the unlisted ones like it: `capture.resets`).
    case any, all, count, sum, max, min

    var isAggregate: Bool {
        switch self {
        case .any, .all, .count, .sum, .max, .min: true
        case .known, .contains, .startsWith, .portIn: false
        }
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A static type as the checker sees it.
package indirect enum ExprType: Sendable, Hashable, CustomStringConvertible {
    /// `records`: field types, and the value of each field a record may leave out.
    case number, bool, string, records([String: FactType], absent: Record), list(ExprType), any

    package init(_ t: FactType, fields: [String: FactType] = [:], absent: Record = [:]) {
        switch t {
        case .int, .double, .duration: self = .number
        case .bool: self = .bool
        case .string: self = .string
        case .records: self = .records(fields, absent: absent)
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

/// A rule expression that does not parse or type-check.
package struct ExprError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
