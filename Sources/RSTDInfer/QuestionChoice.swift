import Foundation
import RSTDKnowledge
import RSTDCore

/// Which question to ask next: the one whose answer is expected to tell the causes apart best
/// (expected information gain over the current posteriors, DESIGN §6).
///
/// The model, stated once so the numbers can be checked by hand:
///
/// - Distribution over causes. The engine gives each cause an independent posterior p_c. For
///   choosing questions they are normalised into one distribution π_c = p_c / Σ_k p_k ("which of
///   the causes is it"), with entropy H(π) = −Σ_c π_c log2 π_c bits.
/// - What an answer does. For each answer a of question q, the fact `answer.<q>` = a is added to the
///   current facts and `Engine.infer` runs again, giving posteriors p_c(a) and π(a) (derived rules
///   included, so indirect uses of the answer count).
/// - How likely an answer is. A rule's weight is a log-likelihood ratio. Let Δ_c(a) be the change of
///   cause c's score when answer a is added (the sum of the weights of c's rules that answer a makes
///   fire). Assuming answers are equally likely when nothing links them to c,
///   P(a | c) = exp(Δ_c(a)) / Σ_a' exp(Δ_c(a')) — uniform when no rule mentions the question.
///   Then P(a) = Σ_c π_c · P(a | c).
/// - Expected information gain: EIG(q) = H(π) − Σ_a P(a) · H(π(a)), in bits. "Don't know" adds no
///   fact, so it is not one of the a.
///
/// A question "can change the top" when for at least one answer the leading cause changes, or the
/// leading cause crosses the likely threshold (Diagnosis.likely) either way. Questions that cannot
/// are not asked: their answer would not change what the user should do first.
package enum QuestionChoice {
    /// What one answer would do.
    package struct Outcome: Sendable {
        package var answer: Question.Answer
        /// P(a) as defined above.
        package var probability: Double
        /// The posteriors (engine order: highest first) after this answer.
        package var causes: [CauseResult]
        /// H(π(a)) in bits.
        package var entropy: Double
    }

    /// How far one cause moves across the answers of a question.
    package struct Separation: Sendable {
        package var cause: String
        package var low: Double
        package var lowAnswer: String
        package var high: Double
        package var highAnswer: String
        package var spread: Double { high - low }
    }

    /// A question with its expected information gain and what each answer would do.
    package struct Scored: Sendable {
        package var question: Question
        /// EIG in bits.
        package var gain: Double
        /// H(π) before the answer, in bits.
        package var entropy: Double
        package var outcomes: [Outcome]
        package var changesTop: Bool
        /// The causes whose probability moves most across the answers, largest spread first.
        package var separates: [Separation]
    }

    /// H(π) of the normalised posteriors, in bits.
    package static func entropy(_ causes: [CauseResult]) -> Double {
        let total = causes.reduce(0) { $0 + $1.probability }
        guard total > 0 else { return 0 }
        var h = 0.0
        for c in causes {
            let p = c.probability / total
            if p > 0 { h -= p * log2(p) }
        }
        return h
    }

    /// Scores one question against `facts` (the inference input: checks' facts, context, answers).
    package static func score(_ q: Question, kb: KnowledgeBase, facts: FactStore, base: Engine.Output? = nil) -> Scored {
        let engine = Engine(kb: kb)
        let before = base ?? engine.infer(facts)
        let h0 = entropy(before.causes)
        let total = before.causes.reduce(0) { $0 + $1.probability }
        let prior: [String: Double] = Dictionary(uniqueKeysWithValues: before.causes.map { ($0.cause.id, total > 0 ? $0.probability / total : 0) })
        let score0: [String: Double] = Dictionary(uniqueKeysWithValues: before.causes.map { ($0.cause.id, $0.score) })

        var afters: [(Question.Answer, [CauseResult])] = []
        for a in q.answers {
            var s = facts
            s.add(Fact(key: q.factKey, value: .string(a.id), source: FactSource(check: "answer", origin: "what-if")))
            afters.append((a, engine.infer(s).causes))
        }
        // P(a | c) ∝ exp(Δ_c(a)), normalised over the answers of q.
        var pAnswer = [Double](repeating: 0, count: afters.count)
        for c in before.causes {
            let deltas = afters.map { after in (after.1.first { $0.cause.id == c.cause.id }?.score ?? score0[c.cause.id] ?? 0) - (score0[c.cause.id] ?? 0) }
            let m = deltas.max() ?? 0
            let ex = deltas.map { exp($0 - m) }
            let z = ex.reduce(0, +)
            guard z > 0 else { continue }
            for i in ex.indices { pAnswer[i] += (prior[c.cause.id] ?? 0) * ex[i] / z }
        }
        let pz = pAnswer.reduce(0, +)
        if pz > 0 { pAnswer = pAnswer.map { $0 / pz } } else { pAnswer = pAnswer.map { _ in 1 / Double(max(1, afters.count)) } }

        var outcomes: [Outcome] = []
        var expected = 0.0
        for (i, (a, causes)) in afters.enumerated() {
            let h = entropy(causes)
            expected += pAnswer[i] * h
            outcomes.append(Outcome(answer: a, probability: pAnswer[i], causes: causes, entropy: h))
        }
        let gain = max(0, h0 - expected)

        let top = before.causes.first
        var changes = false
        for o in outcomes {
            guard let t = top, let nt = o.causes.first else { continue }
            if nt.cause.id != t.cause.id { changes = true; break }
            if (nt.probability >= Diagnosis.likely) != (t.probability >= Diagnosis.likely) { changes = true; break }
        }
        // A zero-gain question cannot change anything, whatever ties say.
        if gain < 1e-9 { changes = false }

        var seps: [Separation] = []
        for c in before.causes {
            var lo = (p: Double.infinity, a: ""), hi = (p: -Double.infinity, a: "")
            for o in outcomes {
                guard let p = o.causes.first(where: { $0.cause.id == c.cause.id })?.probability else { continue }
                if p < lo.p { lo = (p, o.answer.id) }
                if p > hi.p { hi = (p, o.answer.id) }
            }
            guard lo.p.isFinite, hi.p.isFinite, hi.p - lo.p >= 0.005 else { continue }
            seps.append(Separation(cause: c.cause.id, low: lo.p, lowAnswer: lo.a, high: hi.p, highAnswer: hi.a))
        }
        seps.sort { $0.spread != $1.spread ? $0.spread > $1.spread : $0.cause < $1.cause }
        return Scored(question: q, gain: gain, entropy: h0, outcomes: outcomes, changesTop: changes, separates: seps)
    }

    /// Every question not in `excluding` (and, if given, of one of `steps`), best first: largest
    /// gain, ties by question id so the order is stable.
    package static func rank(kb: KnowledgeBase, facts: FactStore, excluding: Set<String> = [], steps: Set<String>? = nil) -> [Scored] {
        let base = Engine(kb: kb).infer(facts)
        var out: [Scored] = []
        for q in kb.questions where !excluding.contains(q.id) && facts.value(q.factKey) == nil {
            if let steps, !steps.contains(q.step) { continue }
            out.append(score(q, kb: kb, facts: facts, base: base))
        }
        out.sort { abs($0.gain - $1.gain) > 1e-12 ? $0.gain > $1.gain : $0.question.id < $1.question.id }
        return out
    }

    /// The question to ask now: the best one whose answer could change the top of the ranking,
    /// or nil when none could (then asking more would not change the diagnosis).
    package static func next(kb: KnowledgeBase, facts: FactStore, excluding: Set<String> = [], steps: Set<String>? = nil) -> Scored? {
        rank(kb: kb, facts: facts, excluding: excluding, steps: steps).first { $0.changesTop }
    }
}
