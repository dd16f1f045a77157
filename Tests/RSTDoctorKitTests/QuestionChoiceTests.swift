import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDKnowledge

/// Question choice on the engine directly (issue 6): the chosen question is the one that best
/// separates the leading causes, its gain matches the documented formula, useless questions are
/// never chosen, and asking stops when no answer could change the top of the ranking.
final class QuestionChoiceTests: XCTestCase {
    static let fixtures = KnowledgeTestSupport.sessionFixtures

    func kb() throws -> KnowledgeBase { try KnowledgeTestSupport.load(Self.fixtures) }

    func store(_ facts: [String: FactValue]) -> FactStore { KnowledgeTestSupport.store(facts) }

    /// Short conntrack timeout (idle-timeout up) and reset rules (firewall-reset up) lead together.
    /// `middlebox` raises both by the same weight; `reset_timing` moves idle-timeout alone. The
    /// question that separates the two leaders must win.
    func testChoosesTheQuestionThatSeparatesTheLeadingCauses() throws {
        let kb = try kb()
        let facts = store([
            "sysctl.fx.conntrack_timeout": .int(300), "sysctl.fx.reset_rules": .int(2), "sysctl.fx.port_listening": .int(1),
            "sysctl.net.ipv4.tcp_abort_on_overflow": .int(0),
        ])
        let base = Engine(kb: kb).infer(facts)
        XCTAssertEqual(Set(base.causes.prefix(2).map(\.cause.id)), ["idle-timeout", "firewall-reset"], "\(base.causes.map { ($0.cause.id, $0.probability) })")

        let ranked = QuestionChoice.rank(kb: kb, facts: facts)
        XCTAssertEqual(ranked.first?.question.id, "reset_timing", "\(ranked.map { ($0.question.id, $0.gain) })")
        let gains = Dictionary(uniqueKeysWithValues: ranked.map { ($0.question.id, $0.gain) })
        XCTAssertGreaterThan(gains["reset_timing"]!, gains["middlebox"]! + 0.05)
        XCTAssertEqual(QuestionChoice.next(kb: kb, facts: facts)?.question.id, "reset_timing")

        // What "separates" means, checked on the outcomes: the gap between the two leaders moves
        // more across reset_timing's answers than across middlebox's.
        func gapSpread(_ q: String) -> Double {
            let sc = ranked.first { $0.question.id == q }!
            let gaps = sc.outcomes.map { o in
                (o.causes.first { $0.cause.id == "idle-timeout" }!.probability) - (o.causes.first { $0.cause.id == "firewall-reset" }!.probability)
            }
            return gaps.max()! - gaps.min()!
        }
        XCTAssertGreaterThan(gapSpread("reset_timing"), 3 * gapSpread("middlebox"))
        let sep = try XCTUnwrap(ranked.first?.separates.first)
        XCTAssertEqual(sep.cause, "idle-timeout")
        XCTAssertEqual(sep.highAnswer, "after-idle")
        XCTAssertEqual(sep.lowAnswer, "at-connect")
    }

    /// The gain of `recent_restart` recomputed by hand from the formula in QuestionChoice's comment:
    /// only half-open-after-restart's rules mention it (+2.5 for yes, −1.0 for no).
    func testGainMatchesTheDocumentedFormula() throws {
        let kb = try kb()
        let facts = store(["sysctl.fx.port_listening": .int(1)])
        let base = Engine(kb: kb).infer(facts)
        let p = Dictionary(uniqueKeysWithValues: base.causes.map { ($0.cause.id, $0.probability) })

        func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        func logit(_ p: Double) -> Double { log(p / (1 - p)) }
        func entropy(_ ps: [Double]) -> Double {
            let z = ps.reduce(0, +)
            return -ps.map { $0 / z }.filter { $0 > 0 }.map { $0 * log2($0) }.reduce(0, +)
        }
        let ho = "half-open-after-restart"
        let z = p.values.reduce(0, +)
        let piHO = p[ho]! / z
        let likeYes = exp(2.5) / (exp(2.5) + exp(-1.0))
        let pYes = piHO * likeYes + (1 - piHO) * 0.5
        func after(_ w: Double) -> [Double] { p.map { $0.key == ho ? logistic(logit($0.value) + w) : $0.value } }
        let expected = entropy(Array(p.values)) - (pYes * entropy(after(2.5)) + (1 - pYes) * entropy(after(-1.0)))

        let sc = QuestionChoice.score(try XCTUnwrap(kb.question("recent_restart")), kb: kb, facts: facts)
        XCTAssertEqual(sc.gain, expected, accuracy: 1e-9)
        XCTAssertEqual(sc.outcomes.map(\.answer.id), ["yes", "no"])
        XCTAssertEqual(sc.outcomes[0].probability, pYes, accuracy: 1e-9)
        XCTAssertGreaterThan(sc.gain, 0)
    }

    func testAQuestionNoRuleUsesIsNeverChosen() throws {
        let kb = try kb()
        let facts = store([:])
        let sc = QuestionChoice.score(try XCTUnwrap(kb.question("client_os")), kb: kb, facts: facts)
        XCTAssertEqual(sc.gain, 0, accuracy: 1e-12)
        XCTAssertFalse(sc.changesTop)
        XCTAssertTrue(sc.separates.isEmpty)
        // Uniform P(answer) when no rule mentions the question.
        for o in sc.outcomes { XCTAssertEqual(o.probability, 0.5, accuracy: 1e-12) }
        var excluded = Set(kb.questions.map(\.id))
        excluded.remove("client_os")
        XCTAssertNil(QuestionChoice.next(kb: kb, facts: facts, excluding: excluded))
    }

    /// With a listener missing and the reset at connect, no-listener is far ahead: no answer to
    /// any open question could change the top, so nothing is asked.
    func testStopsWhenNoAnswerCanChangeTheTop() throws {
        let kb = try kb()
        let facts = store(["sysctl.fx.port_listening": .int(0), "answer.reset_timing": .string("at-connect")])
        let base = Engine(kb: kb).infer(facts)
        XCTAssertEqual(base.causes.first?.cause.id, "no-listener")
        XCTAssertGreaterThan(base.causes.first!.probability, 0.85)
        XCTAssertNil(QuestionChoice.next(kb: kb, facts: facts))
        let ranked = QuestionChoice.rank(kb: kb, facts: facts)
        XCTAssertFalse(ranked.isEmpty)
        XCTAssertFalse(ranked.contains { $0.question.id == "reset_timing" }, "answered questions are not ranked")
        XCTAssertTrue(ranked.allSatisfy { !$0.changesTop })
    }

    /// The top can "change" by crossing the likely threshold too: answering mid-stream keeps
    /// no-listener in the lead but drops it below 50%, which is worth knowing.
    func testCrossingTheLikelyThresholdCountsAsAChange() throws {
        let kb = try kb()
        let facts = store(["sysctl.fx.port_listening": .int(0)])
        let base = Engine(kb: kb).infer(facts)
        XCTAssertEqual(base.causes.first?.cause.id, "no-listener")
        XCTAssertGreaterThanOrEqual(base.causes.first!.probability, Diagnosis.likely)
        let sc = QuestionChoice.score(try XCTUnwrap(kb.question("reset_timing")), kb: kb, facts: facts)
        let mid = try XCTUnwrap(sc.outcomes.first { $0.answer.id == "mid-stream" })
        XCTAssertEqual(mid.causes.first?.cause.id, "no-listener")
        XCTAssertLessThan(mid.causes.first!.probability, Diagnosis.likely)
        XCTAssertTrue(sc.changesTop)
        // under_load only moves accept-queue-overflow, far behind: it cannot change the top.
        XCTAssertFalse(QuestionChoice.score(try XCTUnwrap(kb.question("under_load")), kb: kb, facts: facts).changesTop)
    }

    func testEntropyOfTheNormalisedPosteriors() {
        let c = Cause(id: "a", title: "", explanation: "", prior: 0.5, step: "", remedies: [], references: [], file: "", line: 0)
        func r(_ p: Double) -> CauseResult { CauseResult(cause: c, score: 0, probability: p, forEvidence: [], against: [], unknown: []) }
        XCTAssertEqual(QuestionChoice.entropy([r(0.2), r(0.2)]), 1, accuracy: 1e-12)
        XCTAssertEqual(QuestionChoice.entropy([r(0.9), r(0), r(0)]), 0, accuracy: 1e-12)
        XCTAssertEqual(QuestionChoice.entropy([r(0.1), r(0.1), r(0.1), r(0.1)]), 2, accuracy: 1e-12)
        XCTAssertEqual(QuestionChoice.entropy([]), 0)
    }
}
