import Foundation
import RSTDCollect
import RSTDCore
import RSTDData
import RSTDKnowledge
import XCTest

/// A check's alternatives: the next installed command is also tried when the first printed nothing
/// (journalctl on a host or container without a journal exits 0 with no lines, while dmesg holds the
/// kernel's messages). The kernel-log check as the catalog defines it, its commands replaced by
/// `true` (prints nothing), `cat` of its real sample, and `false` (fails).
final class AlternativeCommandTests: XCTestCase {
    func run(_ argvs: [[String]]) async throws -> (CheckRecord, FactStore) {
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        var c = try XCTUnwrap(kb.catalog.check("kernel-log"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-alt-\(getpid()).txt")
        try XCTUnwrap(c.sample).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        c.action = .run(argvs.map { $0.map { $0 == "SAMPLE" ? file.path : $0 } })
        let rec = await Collector(catalog: kb.catalog, options: CollectOptions()).run(c)
        return (rec, EvidenceBuilder.facts(from: [rec], catalog: kb.catalog).0)
    }

    func testEmptyOutputFallsBackToTheNextAlternative() async throws {
        let (rec, facts) = try await run([["true"], ["cat", "SAMPLE"]])
        XCTAssertNotEqual(rec.status, .failed, rec.reason)
        XCTAssertEqual(facts.value("kernel_log.syn_flood"), .int(1), "the alternative's lines were read")
    }

    func testAFailingAlternativeKeepsTheEmptyFirstReading() async throws {
        let (rec, facts) = try await run([["true"], ["false"]])
        XCTAssertEqual(rec.status, .ok, rec.reason)
        XCTAssertEqual(facts.value("kernel_log.syn_flood"), .int(0), "nothing seen, and the check did run")
    }

    func testOutputFromTheFirstCommandIsUsedAlone() async throws {
        let (rec, facts) = try await run([["cat", "SAMPLE"], ["false"]])
        XCTAssertNotEqual(rec.status, .failed, rec.reason)
        XCTAssertEqual(facts.value("kernel_log.syn_flood"), .int(1))
    }
}
