import Foundation
import RSTDCollect
import RSTDKnowledge
import RSTDData
import RSTDCore
import XCTest

/// `check --since` and a counter check the journal could not fill (a journal without conntrack
/// statistics): one reading, totals kept as history, no live rate standing in for the period's.
final class PeriodCounterTests: XCTestCase {
    /// The conntrack-stat check as the catalog defines it, reading a copy of its real sample (a lab
    /// router after two segments were found invalid) instead of /proc/net/stat/nf_conntrack.
    func conntrackCheck(_ dir: URL) throws -> (KnowledgeBase, CheckDefinition) {
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        var c = try XCTUnwrap(kb.catalog.check("conntrack-stat"))
        let file = dir.appendingPathComponent("nf_conntrack")
        try XCTUnwrap(c.sample).write(to: file, atomically: true, encoding: .utf8)
        c.action = .read([file.path])
        return (kb, c)
    }

    func run(_ c: CheckDefinition, kb: KnowledgeBase, journalPeriod: Bool) async -> (CheckRecord, FactStore) {
        var o = CollectOptions()
        o.window = 0.05
        o.journalPeriod = journalPeriod
        let rec = await Collector(catalog: kb.catalog, options: o).run(c)
        let (facts, _) = EvidenceBuilder.facts(from: [rec], catalog: kb.catalog)
        return (rec, facts)
    }

    func testJournalPeriodReadsOnceAndSaysTheRateIsUnknown() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-period-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (kb, c) = try conntrackCheck(dir)
        let (rec, facts) = await run(c, kb: kb, journalPeriod: true)
        XCTAssertEqual(rec.status, .ok, rec.reason)
        XCTAssertEqual(rec.samples.count, 1, "one reading: no live window for a past period")
        XCTAssertNil(rec.window)
        XCTAssertTrue(rec.reason.contains("no conntrack statistics for this period"), rec.reason)
        XCTAssertTrue(rec.reason.contains("rstdoctor record"), "says how to have them next time: \(rec.reason)")
        // The totals stay (history); the rate is unknown with that reason, never 0.
        XCTAssertEqual(facts.value("conntrack.stat.invalid"), .int(2))
        let delta = try XCTUnwrap(facts["conntrack.stat.invalid.delta"])
        XCTAssertNil(delta.value)
        XCTAssertTrue(delta.unknownReason?.contains("has no rate") == true, delta.unknownReason ?? "")
    }

    /// Without a journal period the same check takes its two readings over the window, as before.
    func testLiveCheckStillSamplesTheWindow() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-period-live-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (kb, c) = try conntrackCheck(dir)
        let (rec, facts) = await run(c, kb: kb, journalPeriod: false)
        XCTAssertEqual(rec.samples.count, 2)
        XCTAssertEqual(rec.window, 0.05)
        XCTAssertEqual(rec.reason, "")
        XCTAssertEqual(facts.value("conntrack.stat.invalid.delta"), .int(0))
    }
}
