import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDData
@testable import RSTDInfer
@testable import RSTDKnowledge

/// Causes that make no RST (`makes_resets: false` in causes.yaml) are scored like any cause but
/// kept out of the ranking of causes of resets: a finding is never "first".
final class FindingsTests: XCTestCase {
    static let root = KnowledgeTestSupport.root

    static let host = HostInfo(hostname: "lab", kernel: "6.18.0", netns: "host", port: 8080, peer: nil,
                               started: Date(timeIntervalSince1970: 1_795_290_000), window: 1, source: "live")

    /// The kernel log's line for the flooded listener (KernelLogParser's record of it).
    static let floodLine = FactValue.records([["kind": .string("syn-flood"), "port": .int(8080), "addr": .string("198.18.1.2")]])

    func kb() throws -> KnowledgeBase { try KnowledgeTestSupport.load(Self.root) }

    func store(_ facts: [String: FactValue]) -> FactStore { KnowledgeTestSupport.store(facts) }

    /// A SYN flood staged as the lab verified it (SYN queue full now, the kernel's "Possible SYN
    /// flooding" line): syn-flood scores high, yet the first cause of resets is another one.
    func testSynFloodIsAFindingNeverFirst() throws {
        let kb = try kb()
        let out = Engine(kb: kb).infer(store([
            "nstat.TcpExtTCPReqQFullDrop.delta": .int(120), "nstat.TcpExtTCPReqQFullDoCookies.delta": .int(0),
            "kernel_log.syn_flood": .int(1), "kernel_log.events": Self.floodLine, "window.seconds": .duration(1),
        ]))
        XCTAssertFalse(out.causes.contains { $0.cause.id == "syn-flood" }, "syn-flood is not a cause of resets")
        let flood = try XCTUnwrap(out.findings.first { $0.cause.id == "syn-flood" })
        XCTAssertGreaterThan(flood.probability, 0.85, "scored as before: \(flood.forEvidence.map(\.rule))")
        XCTAssertEqual(out.findings.first?.cause.id, "syn-flood")
        XCTAssertNotEqual(out.causes.first?.cause.id, "syn-flood")
        XCTAssertLessThan(out.causes.first?.probability ?? 0, Diagnosis.likely, "nothing here makes a reset")
        // Every cause is in exactly one list.
        XCTAssertEqual(Set(out.causes.map(\.cause.id)).union(out.findings.map(\.cause.id)), Set(kb.causes.map(\.id)))
        XCTAssertEqual(out.causes.count + out.findings.count, kb.causes.count)
        XCTAssertTrue(out.causes.allSatisfy(\.cause.makesResets))
        XCTAssertTrue(out.findings.allSatisfy { !$0.cause.makesResets })
        XCTAssertEqual(out.findings.map(\.probability), out.findings.map(\.probability).sorted(by: >))

        let flooded = store(["kernel_log.syn_flood": .int(1), "kernel_log.events": Self.floodLine, "nstat.TcpExtTCPReqQFullDrop.delta": .int(9)])
        let d = Diagnoser.diagnose(kb: kb, facts: flooded,
                                   records: [], extraFacts: [], host: Self.host, answers: [:])
        XCTAssertTrue(d.likelyCauses.isEmpty, "a likely finding alone is no likely cause (exit 0): \(d.likelyCauses.map(\.cause.id))")
        XCTAssertEqual(d.shownFindings.first?.cause.id, "syn-flood")
    }

    func testFindingsOfTheKnowledgeBase() throws {
        let kb = try kb()
        XCTAssertEqual(Set(kb.causes.filter { !$0.makesResets }.map(\.id)), ["syn-flood", "conntrack-table-full", "paws-stalls"])
        // The default is true: causes.yaml says nothing for the causes of resets.
        XCTAssertTrue(try XCTUnwrap(kb.causes.first { $0.id == "no-listener" }).makesResets)
        XCTAssertTrue(try XCTUnwrap(kb.causes.first { $0.id == "paws-timestamps" }).makesResets)
    }

    /// PAWSEstab drops (a duplicate ACK, no RST) raise the finding paws-stalls, never the cause of
    /// resets paws-timestamps; PAWSActive (a SYN-ACK answered with a RST) raises the cause.
    func testPawsEstabIsAStallNotAReset() throws {
        let kb = try kb()
        let estab = Engine(kb: kb).infer(store([
            "nstat.TcpExtPAWSEstab.delta": .int(40), "nstat.TcpExtPAWSEstab": .int(400), "nstat.TcpExtPAWSActive": .int(0),
            "nstat.TcpExtPAWSActive.delta": .int(0), "nstat.TcpActiveOpens": .int(100), "nstat.TcpPassiveOpens": .int(100),
            "window.seconds": .duration(1),
        ]))
        let ts = try XCTUnwrap(estab.causes.first { $0.cause.id == "paws-timestamps" })
        XCTAssertLessThanOrEqual(ts.probability, ts.cause.prior, "PAWSEstab alone: \(ts.forEvidence.map(\.rule))")
        XCTAssertTrue(ts.forEvidence.isEmpty)
        let stalls = try XCTUnwrap(estab.findings.first { $0.cause.id == "paws-stalls" })
        XCTAssertGreaterThanOrEqual(stalls.probability, Diagnosis.likely)
        XCTAssertEqual(Set(stalls.forEvidence.map(\.rule)), ["paws-estab-drops-now", "paws-estab-share"])

        let active = Engine(kb: kb).infer(store([
            "nstat.TcpExtPAWSActive.delta": .int(3), "nstat.TcpExtPAWSActive": .int(30), "nstat.TcpActiveOpens": .int(100),
            "nstat.TcpExtPAWSEstab": .int(0), "window.seconds": .duration(1),
        ]))
        let rst = try XCTUnwrap(active.causes.first { $0.cause.id == "paws-timestamps" })
        XCTAssertEqual(Set(rst.forEvidence.map(\.rule)), ["paws-rejects-now", "paws-active-share"])
        XCTAssertGreaterThan(rst.probability, 0.5)
        XCTAssertLessThan(try XCTUnwrap(active.findings.first { $0.cause.id == "paws-stalls" }).probability, 0.02)
    }

    /// `makes_resets` must be a boolean: lint says where it is not.
    func testLintRejectsANonBooleanMakesResets() throws {
        var files = try KnowledgeFiles.directory(Self.root)
        let causes = try XCTUnwrap(files.files["knowledge/causes.yaml"])
        files.files["knowledge/causes.yaml"] = causes.replacingOccurrences(
            of: "- id: syn-flood\n", with: "- id: syn-flood\n  makes_resets: sometimes\n")
            .replacingOccurrences(of: "  makes_resets: false   # a finding: verified", with: "  # verified")
        let (kb, problems) = KnowledgeBase.load(files)
        let p = try XCTUnwrap(problems.first { $0.description.contains("makes_resets") }, "\(problems.map(\.description))")
        XCTAssertTrue(p.description.contains("knowledge/causes.yaml"), p.description)
        XCTAssertTrue(p.description.contains("true or false"), p.description)
        XCTAssertFalse(kb.causes.contains { $0.id == "syn-flood" })

        files.files["knowledge/causes.yaml"] = causes.replacingOccurrences(of: "makes_resets: false   # a finding: SYNs",
                                                                           with: "makes_resets: [no]   # SYNs")
        XCTAssertTrue(KnowledgeBase.load(files).1.contains { $0.description.contains("makes_resets") })
        XCTAssertEqual(KnowledgeBase.load(try KnowledgeFiles.directory(Self.root)).1.map(\.description), [])
    }
}
