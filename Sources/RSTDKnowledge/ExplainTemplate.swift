import Foundation
import RSTDCore
import RSTDData

/// A rule's `explain:` text with `{expression}` placeholders, parsed and type-checked once at load;
/// rendering only evaluates. A placeholder whose value is unknown renders as "?".
package struct ExplainTemplate: Sendable {
    package enum Piece: Sendable {
        case text(String)
        case value(Expr)
        /// A placeholder that did not compile (reported at load).
        case invalid
    }

    package var text: String
    package var pieces: [Piece]

    /// Splits `text` at top-level `{…}` (braces may nest inside a placeholder) and compiles each
    /// placeholder; `errors` gets one entry per placeholder that does not compile.
    package init(_ text: String, scope: ExprScope, errors: inout [ExprError]) {
        self.text = text
        pieces = []
        var depth = 0
        var cur = ""
        for ch in text {
            if ch == "{" {
                if depth == 0, !cur.isEmpty { pieces.append(.text(cur)); cur = "" } else if depth > 0 { cur.append(ch) }
                depth += 1
            } else if ch == "}", depth > 0 {
                depth -= 1
                guard depth == 0 else { cur.append(ch); continue }
                do {
                    pieces.append(.value(try ExprChecker.compile(cur, scope: scope).0))
                } catch {
                    errors.append(ExprError("in `{\(cur.prefix(80))}`: \(error)"))
                    pieces.append(.invalid)
                }
                cur = ""
            } else {
                cur.append(ch)
            }
        }
        // An unclosed `{` is kept as written.
        if depth > 0 { cur = "{" + cur }
        if !cur.isEmpty { pieces.append(.text(cur)) }
    }

    /// A template without placeholders.
    package init(plain text: String) {
        self.text = text
        pieces = text.isEmpty ? [] : [.text(text)]
    }

    package func render(_ evaluator: ExprEvaluator) -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .text(let t): out += t
            case .value(let e):
                if case .value(let v) = evaluator.eval(e) { out += v.display } else { out += "?" }
            case .invalid: out += "?"
            }
        }
        return out
    }
}
