import Foundation
import RSTDKnowledge
import RSTDCore

/// What reports take from the knowledge base: steps, remedies and the text of questions and answers.
package struct ReportContext: Sendable {
    /// A troubleshooting step.
    package struct StepInfo: Sendable {
        package var id: String
        package var title: String
        package var purpose: String

        package init(id: String, title: String, purpose: String) {
            self.id = id
            self.title = title
            self.purpose = purpose
        }
    }

    package var steps: [StepInfo] = []
    package var remedies: [String: [Cause.Remedy]] = [:]
    /// Question id → (step, question text, answer id → answer text).
    package var questions: [String: (step: String, text: String, answers: [String: String])] = [:]

    package init() {}

    package init(kb: KnowledgeBase) {
        steps = kb.steps.map { StepInfo(id: $0.id, title: $0.title, purpose: $0.purpose) }
        for c in kb.causes { remedies[c.id] = c.remedies }
        for q in kb.questions {
            questions[q.id] = (q.step, q.text, Dictionary(q.answers.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}
