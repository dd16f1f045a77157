import Foundation
import RSTDData
import RSTDCore

/// A cause of resets (knowledge/causes.yaml). Its id is a public interface. A cause with
/// `makesResets == false` is a *finding*: scored the same way, but it explains failed or slow
/// connections, never resets, so it is kept out of the ranking of causes of resets (DESIGN §5).
package struct Cause: Sendable {
    package struct Remedy: Sendable {
        package var text: String
        /// The exact change to consider (sysctl, nft rule, setting): shown, never applied.
        package var change: String?
        package var verify: String?

        package init(text: String, change: String? = nil, verify: String? = nil) {
            self.text = text
            self.change = change
            self.verify = verify
        }
    }

    package var id: String
    package var title: String
    package var explanation: String
    package var prior: Double
    package var step: String
    package var remedies: [Remedy]
    package var references: [String]
    package var file: String
    package var line: Int
    /// `makes_resets:` in causes.yaml (default true); false for a finding (syn-flood: connects time out).
    package var makesResets: Bool = true
}

/// One of the six troubleshooting steps (knowledge/steps.yaml). Its checks and questions are those
/// that name it in their own `step:` field (one place per fact).
package struct Step: Sendable {
    package var id: String
    package var title: String
    package var purpose: String
    package var guidance: String
}

/// A question only the user can answer (knowledge/questions.yaml); the answer becomes `answer.<id>`.
package struct Question: Sendable {
    package struct Answer: Sendable {
        package var id: String
        package var text: String
    }

    package var id: String
    package var text: String
    package var step: String
    package var help: String
    package var answers: [Answer]
    package var file: String
    package var line: Int

    package var factKey: String { "answer.\(id)" }
}

/// A rule (knowledge/rules/<cause>/<id>.yaml): evidence for or against a cause, or a derived fact.
package struct Rule: Sendable {
    package enum Target: Sendable, Hashable {
        case cause(String)
        case derive(String)
    }

    package var id: String
    package var target: Target
    package var whenText: String
    package var when: Expr
    /// For `derive`: the value to store when `when` holds (default `true`).
    package var value: Expr?
    package var valueType: ExprType
    package var weight: Double
    package var explain: ExplainTemplate
    /// Where the behaviour the rule rests on is defined: the kernel function and file
    /// (`net/ipv4/tcp_ipv4.c: tcp_v4_send_reset()`), an RFC section, or what the application or libc
    /// does. Required (`knowledge lint`); shown beside the rule's file:line where a rule is explained.
    package var basis: String
    /// Fact keys the rule reads directly.
    package var reads: Set<String>
    package var examplesFire: [[String: FactValue]]
    package var examplesNotFire: [[String: FactValue]]
    package var file: String
    package var line: Int

    package var causeID: String? { if case .cause(let c) = target { return c }; return nil }
    package var derivedKey: String? { if case .derive(let d) = target { return d }; return nil }
}
