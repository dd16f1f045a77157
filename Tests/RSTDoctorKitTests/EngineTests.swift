import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDKnowledge

/// The engine on the repository's knowledge: ranking from facts, explanations and unknowns.
final class EngineTests: XCTestCase {
    static let root = KnowledgeTestSupport.root

    func kb() throws -> KnowledgeBase { try KnowledgeTestSupport.load(Self.root) }

    func store(_ facts: [String: FactValue]) -> FactStore { KnowledgeTestSupport.store(facts) }

    func testAcceptQueueOverflowRanksFirstWithItsEvidence() throws {
        let kb = try kb()
        let out = Engine(kb: kb).infer(store([
            "sysctl.net.ipv4.tcp_abort_on_overflow": .int(1),
            "nstat.TcpExtListenOverflows.delta": .int(37),
            "nstat.TcpExtListenOverflows": .int(120),
            "nstat.TcpExtEmbryonicRsts": .int(120),
            "window.seconds": .duration(1),
        ]))
        let top = try XCTUnwrap(out.causes.first)
        XCTAssertEqual(top.cause.id, "accept-queue-overflow")
        XCTAssertGreaterThan(top.probability, 0.9)
        let e = try XCTUnwrap(top.forEvidence.first { $0.rule == "abort-on-overflow-with-overflows" })
        XCTAssertTrue(e.explain.contains("overflowed 37 times in 1s"), e.explain)
        XCTAssertTrue(e.facts.contains { $0.key == "nstat.TcpExtListenOverflows.delta" && $0.value == "37" })
    }

    func testAbortOnOverflowOffCountsAgainst() throws {
        let kb = try kb()
        let out = Engine(kb: kb).infer(store([
            "sysctl.net.ipv4.tcp_abort_on_overflow": .int(0),
            "nstat.TcpExtListenOverflows.delta": .int(37),
        ]))
        let c = try XCTUnwrap(out.causes.first { $0.cause.id == "accept-queue-overflow" })
        XCTAssertLessThan(c.probability, 0.05)
        XCTAssertTrue(c.against.contains { $0.rule == "overflows-dropped-not-reset" })
    }

    func testNoEvidenceMeansPriorsAndUnknownsAreListed() throws {
        let kb = try kb()
        let out = Engine(kb: kb).infer(FactStore())
        for c in out.causes + out.findings {
            XCTAssertEqual(c.probability, c.cause.prior, accuracy: 1e-9, c.cause.id)
            XCTAssertTrue(c.forEvidence.isEmpty && c.against.isEmpty)
        }
        let nl = try XCTUnwrap(out.causes.first { $0.cause.id == "no-listener" })
        XCTAssertTrue(nl.unknown.contains { $0.key == "answer.reset_timing" && $0.reason.contains("--answer") }, "\(nl.unknown)")
    }

    func testEveryCauseListedAndSorted() throws {
        let kb = try kb()
        let out = Engine(kb: kb).infer(store(["duplicate_ip.count": .int(1)]))
        // Every cause of resets is ranked; the findings (makes_resets: false) are ranked apart.
        XCTAssertEqual(out.causes.count, kb.causes.filter(\.makesResets).count)
        XCTAssertEqual(out.causes.count + out.findings.count, kb.causes.count)
        XCTAssertEqual(out.causes.first?.cause.id, "duplicate-ip")
        XCTAssertEqual(out.causes.map(\.probability), out.causes.map(\.probability).sorted(by: >))
    }
}
