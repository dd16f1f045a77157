import Foundation

/// A cause of resets (knowledge/causes.yaml). Its id is a public interface.
public struct Cause: Sendable {
    public struct Remedy: Sendable {
        public var text: String
        /// The exact change to consider (sysctl, nft rule, setting): shown, never applied.
        public var change: String?
        public var verify: String?
    }

    public var id: String
    public var title: String
    public var explanation: String
    public var prior: Double
    public var step: String
    public var remedies: [Remedy]
    public var references: [String]
    public var file: String
    public var line: Int
}

/// One of the six troubleshooting steps (knowledge/steps.yaml). Its checks and questions are those
/// that name it in their own `step:` field (one place per fact).
public struct Step: Sendable {
    public var id: String
    public var title: String
    public var purpose: String
    public var guidance: String
}

/// A question only the user can answer (knowledge/questions.yaml); the answer becomes `answer.<id>`.
public struct Question: Sendable {
    public struct Answer: Sendable {
        public var id: String
        public var text: String
    }

    public var id: String
    public var text: String
    public var step: String
    public var help: String
    public var answers: [Answer]
    public var file: String
    public var line: Int

    public var factKey: String { "answer.\(id)" }
}

/// A rule (knowledge/rules/<cause>/<id>.yaml): evidence for or against a cause, or a derived fact.
public struct Rule: Sendable {
    public enum Target: Sendable, Hashable {
        case cause(String)
        case derive(String)
    }

    public var id: String
    public var target: Target
    public var whenText: String
    public var when: Expr
    /// For `derive`: the value to store when `when` holds (default `true`).
    public var value: Expr?
    public var valueType: ExprType
    public var weight: Double
    public var explain: ExplainTemplate
    /// Fact keys the rule reads directly.
    public var reads: Set<String>
    public var examplesFire: [[String: FactValue]]
    public var examplesNotFire: [[String: FactValue]]
    public var file: String
    public var line: Int

    public var causeID: String? { if case .cause(let c) = target { return c }; return nil }
    public var derivedKey: String? { if case .derive(let d) = target { return d }; return nil }
}
