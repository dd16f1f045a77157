import Foundation
import XCTest

@testable import RSTDInteractive
@testable import RSTDJournal
@testable import RSTDRender

/// The session's `history` on a journal written through the Journal API (the pty test in
/// CLITests/SessionJournalTests uses one the real recorder wrote): the period joins the evidence,
/// moves the ranking, is listed as kept, and goes with `drop history`; without a journal the session
/// says how to start the recorder.
final class SessionHistoryTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rstd-history-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func session() throws -> (Session, BufferOutput) {
        let out = BufferOutput()
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        let s = try Session(kb: kb, state: SessionState(target: .init(port: 8080)), path: dir + "/session.json", output: out,
                            style: Style(enabled: false))
        return (s, out)
    }

    func testWithoutAJournalItSaysHowToStartTheRecorder() async throws {
        let (s, out) = try session()
        s.defaultJournal = dir + "/none.db"
        await s.handle("history 2h")
        XCTAssertTrue(out.text.contains("There is no recorder journal at \(dir)/none.db"), out.text)
        XCTAssertTrue(out.text.contains("start one with `sudo rstdoctor record`"), out.text)
        XCTAssertNil(s.state.observed, "nothing joined the evidence")
        await s.handle("history 5x")
        XCTAssertTrue(out.text.contains("usage: history [SINCE]"), out.text)
        await s.handle("history --until")
        XCTAssertTrue(out.text.contains("--until needs a value"), out.text)
    }

    func testThePeriodJoinsTheEvidenceUntilDropped() async throws {
        let path = dir + "/j.db"
        let now = Date()
        let t0 = now.addingTimeInterval(-120).journalMicros
        do {
            let j = try Journal.openForWriting(path: path)
            try j.write(events: (0..<5).map { i in
                JournalEvent(timeMicros: t0 + Int64(i) * 100_000, direction: "sent", netns: "host", src: "198.18.1.2", sport: 8080,
                             dst: "198.18.1.1", dport: 40000 + i, reason: "NO_SOCKET", state: "UNKNOWN", cause: "no-listener")
            }, counters: [CounterSnapshot(timeMicros: t0 - 1_000_000, netns: "host", trigger: "start", counters: ["TcpOutRsts": 5]),
                          CounterSnapshot(timeMicros: t0 + 5_000_000, netns: "host", trigger: "stop", counters: ["TcpOutRsts": 10])])
        }
        let (s, out) = try session()
        s.defaultJournal = path
        let before = s.diagnosis().causes.first { $0.cause.id == "no-listener" }?.probability ?? 1
        await s.handle("history 10m")
        XCTAssertTrue(out.text.contains("no-listener (sent): 5×"), out.text)
        XCTAssertTrue(out.text.contains("ports 8080 (5)"), out.text)
        XCTAssertTrue(s.state.observed?["kernel-trace"]?.hasPrefix("history 10m at") == true, "\(s.state.observed ?? [:])")
        let after = s.diagnosis()
        XCTAssertEqual(after.causes.first?.cause.id, "no-listener", "the journal's resets count in the ranking")
        XCTAssertGreaterThan(after.causes.first?.probability ?? 0, max(before, 0.5))
        await s.handle("drop")
        XCTAssertTrue(out.text.contains("kernel-trace — from history 10m at"), out.text)
        await s.handle("drop history")
        XCTAssertTrue(out.text.contains("Dropped what `history` brought"), out.text)
        XCTAssertFalse(s.state.observed?.values.contains { $0.hasPrefix("history") } ?? false)
        XCTAssertNil(s.diagnosis().facts.value("trace.sent"), "the period's facts are gone")
        XCTAssertLessThan(s.diagnosis().causes.first { $0.cause.id == "no-listener" }?.probability ?? 1, 0.5)
    }
}
