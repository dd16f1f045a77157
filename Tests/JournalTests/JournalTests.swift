import Foundation
import RSTDJournal
import XCTest

final class JournalTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-journal-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String = "journal.db") -> String { dir.appendingPathComponent(name).path }

    func event(_ t: Int64, cause: String? = "no-listener", dir: String = "sent", sport: Int = 8080, dport: Int = 40000,
               src: String = "198.18.0.2", dst: String = "198.18.0.1", netns: String = "host") -> JournalEvent {
        JournalEvent(timeMicros: t, direction: dir, netns: netns, src: src, sport: sport, dst: dst, dport: dport,
                     reason: "NO_SOCKET", state: "UNKNOWN", task: "python3", pid: 42, cause: cause)
    }

    func testCreateWriteQuery() throws {
        let j = try Journal.openForWriting(path: path())
        let base: Int64 = 1_700_000_000_000_000
        try j.write(events: [event(base), event(base + 1_000_000, cause: "application-abort"),
                             event(base + 2_000_000, sport: 9090), event(base + 3_000_000, src: "198.18.0.9", dst: "198.18.0.7", netns: "other")],
                    counters: [CounterSnapshot(timeMicros: base, netns: "host", trigger: "start", counters: ["TcpOutRsts": 5]),
                               CounterSnapshot(timeMicros: base + 3_000_000, netns: "host", trigger: "interval", counters: ["TcpOutRsts": 9])],
                    notes: [JournalNote(timeMicros: base, kind: "limit", netns: "host", text: "no libpcap")])
        XCTAssertEqual(try j.meta()["application"], "rstdoctor")
        let all = JournalFilter(sinceMicros: base, untilMicros: base + 10_000_000)
        XCTAssertEqual(try j.events(all).count, 4)
        var f = all
        f.netns = "host"
        f.ports = [8080]
        XCTAssertEqual(try j.events(f).count, 2)
        f.ports = []
        f.peer = "198.18.0.1"
        XCTAssertEqual(try j.events(f).count, 3)
        let sum = try j.summary(JournalFilter(sinceMicros: base, untilMicros: base + 10_000_000, netns: "host"))
        XCTAssertEqual(sum.first?.cause, "no-listener")
        XCTAssertEqual(sum.first?.count, 2)
        XCTAssertEqual(sum.first?.firstMicros, base)
        XCTAssertEqual(sum.first?.perHour.values.reduce(0, +), 2)
        let bounds = try XCTUnwrap(try j.counterBounds(all))
        XCTAssertEqual(bounds.last.counters["TcpOutRsts"]! - bounds.first.counters["TcpOutRsts"]!, 4)
        XCTAssertEqual(try j.notes(JournalFilter(sinceMicros: base + 5, untilMicros: base + 10_000_000)).first?.text, "no libpcap")
        // Readers see it while the writer holds it.
        let r = try Journal.openForReading(path: path())
        XCTAssertEqual(try r.eventCount(), 4)
    }

    func testSampleKeepsLatestPerCause() throws {
        let j = try Journal.openForWriting(path: path())
        try j.write(events: (0..<50).map { event(Int64($0) * 1000) })
        let ev = try j.events(JournalFilter(sinceMicros: 0, untilMicros: 1_000_000), perGroup: 10)
        XCTAssertEqual(ev.count, 10)
        XCTAssertEqual(ev.last?.timeMicros, 49_000)
        XCTAssertEqual(try j.summary(JournalFilter(sinceMicros: 0, untilMicros: 1_000_000)).first?.count, 50)
    }

    func testSecondWriterRefused() throws {
        let first = try Journal.openForWriting(path: path())
        XCTAssertThrowsError(try Journal.openForWriting(path: path())) { e in
            let err = e as? JournalError
            XCTAssertEqual(err?.kind, .locked)
            XCTAssertTrue(err?.message.contains("process \(getpid())") ?? false, "\(e)")
        }
        _ = first
    }

    func testForeignAndCorruptRefused() throws {
        let text = path("notes.txt")
        try Data("hello, this is not a database at all, just text, long enough to have a header".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try Journal.openForWriting(path: text)) { XCTAssertEqual(($0 as? JournalError)?.kind, .foreign, "\($0)") }
        XCTAssertThrowsError(try Journal.openForReading(path: text)) { XCTAssertEqual(($0 as? JournalError)?.kind, .foreign, "\($0)") }

        // An SQLite file of another application.
        let other = path("other.db")
        let made = Process()
        made.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        made.arguments = ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()", other]
        try made.run(); made.waitUntilExit()
        XCTAssertThrowsError(try Journal.openForWriting(path: other)) { e in
            XCTAssertEqual((e as? JournalError)?.kind, .foreign)
            XCTAssertTrue("\(e)".contains("another application"), "\(e)")
        }

        // A journal whose pages were overwritten.
        let broken = path("broken.db")
        do {
            let j = try Journal.openForWriting(path: broken)
            try j.write(events: (0..<2000).map { event(Int64($0)) })
            try j.enforceRetention(maxAge: nil, maxBytes: nil)
        }
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: broken))
        try h.seek(toOffset: 4096)
        h.write(Data(repeating: 0xA5, count: 40_000))
        try h.close()
        XCTAssertThrowsError(try Journal.openForReading(path: broken).events(JournalFilter(sinceMicros: 0, untilMicros: .max))) { e in
            XCTAssertTrue([.corrupt, .foreign].contains((e as? JournalError)?.kind), "\(e)")
        }
        let aside = try Journal.moveAside(path: broken)
        XCTAssertTrue(FileManager.default.fileExists(atPath: aside))
        XCTAssertNoThrow(try Journal.openForWriting(path: broken))
    }

    func testMissingJournal() {
        XCTAssertThrowsError(try Journal.openForReading(path: path("none.db"))) { e in
            XCTAssertEqual((e as? JournalError)?.kind, .missing)
            XCTAssertTrue("\(e)".contains("rstdoctor record"))
        }
    }

    func testRetentionByAgeAndSize() throws {
        let j = try Journal.openForWriting(path: path())
        let now = Date()
        let old = now.addingTimeInterval(-3 * 86400).journalMicros
        try j.write(events: (0..<100).map { event(old + Int64($0)) } + (0..<100).map { event(now.journalMicros - 1000 + Int64($0)) })
        let r = try j.enforceRetention(maxAge: 86400, maxBytes: nil, now: now)
        XCTAssertEqual(r.byAge, 100)
        XCTAssertEqual(try j.eventCount(), 100)

        let big = (0..<40_000).map { event(now.journalMicros + Int64($0), cause: "application-abort") }
        try j.write(events: big)
        let before = j.sizeBytes()
        let limit: Int64 = before / 2
        let s = try j.enforceRetention(maxAge: nil, maxBytes: limit)
        XCTAssertGreaterThan(s.bySize, 0)
        XCTAssertLessThanOrEqual(j.sizeBytes(), limit)
        // Oldest first: the 100 older no-listener events went before any newer one.
        let left = try j.events(JournalFilter(sinceMicros: 0, untilMicros: .max), perGroup: 1_000_000)
        XCTAssertFalse(left.contains { $0.cause == "no-listener" })
        XCTAssertEqual(left.last?.timeMicros, big.last?.timeMicros)
    }

    func testWriterCommitsWithinASecondAndCountsLoss() throws {
        let j = try Journal.openForWriting(path: path())
        let w = JournalWriter(journal: j, interval: 0.2, maxPending: 10)
        w.start()
        w.add((0..<15).map { event(Int64($0)) })
        XCTAssertEqual(w.dropped, 5)
        Thread.sleep(forTimeInterval: 0.6)
        let r = try Journal.openForReading(path: path())
        XCTAssertEqual(try r.eventCount(), 10)
        w.stop()
        XCTAssertEqual(w.written, 10)
    }
}
