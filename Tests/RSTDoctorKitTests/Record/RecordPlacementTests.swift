import Foundation
import RSTDJournal
import RSTDCollect
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDCore
import XCTest

/// The recorder's place and time: resets placed in a namespace by their local side (the tracepoints are
/// global), the others counted as `elsewhere` and reported by `check --since`; a wall clock that jumps.
final class RecordPlacementTests: XCTestCase {
    static func sent(_ t: Double, _ src: String, _ dst: String) -> String {
        "  python3-10 [000] ..s2. \(t): tcp_send_reset: skbaddr=0000000000000000 skaddr=00000000deadbeef src=\(src) dest=\(dst) state=TCP_ESTABLISHED reason=TCP_ABORT_ON_CLOSE"
    }

    static func received(_ t: Double, local: String, lport: Int, remote: String, rport: Int) -> String {
        "  python3-11 [001] ..s2. \(t): tcp_receive_reset: family=AF_INET sport=\(lport) dport=\(rport) saddr=\(local) daddr=\(remote) "
            + "saddrv6=::ffff:\(local) daddrv6=::ffff:\(remote) sock_cookie=1"
    }

    func testCorrelatorPlacesByLocalSideAndCountsTheRest() {
        var filter = TraceFilter(addresses: ["198.18.0.2"], ports: [8080, 9])
        var c = ResetCorrelator(reasons: nil, filter: filter)
        let lines = [
            Self.sent(1.0, "198.18.5.5:8080", "198.18.5.6:4000"),        // another namespace, focused port: elsewhere
            Self.sent(1.1, "198.18.5.5:80", "198.18.5.6:4001"),          // another namespace, another port: not counted
            Self.sent(1.2, "198.18.0.2:8080", "198.18.0.1:5000"),        // sent here
            Self.received(1.3, local: "198.18.0.2", lport: 8080, remote: "198.18.9.9", rport: 6000),  // received here
            Self.sent(1.4, "127.0.0.1:9", "127.0.0.1:7000"),             // loopback: cannot be placed
            // Sent and received in this namespace (to its own address): one RST, reported once.
            Self.sent(1.5, "198.18.0.2:9", "198.18.0.2:7100"),
            Self.received(1.500002, local: "198.18.0.2", lport: 7100, remote: "198.18.0.2", rport: 9),
        ].joined(separator: "\n")
        let events = c.consume(lines)
        XCTAssertEqual(events.count, 3, "\(events)")
        XCTAssertEqual(events.filter { $0.direction == .sent }.map(\.sport), [8080, 9])
        XCTAssertEqual(events.filter { $0.direction == .received }.map(\.dst), ["198.18.0.2"])
        XCTAssertEqual(c.elsewhere, 2)  // the other namespace's 8080 and the loopback RST on port 9
        XCTAssertEqual(c.merged, 1)

        // The host's recorder keeps loopback resets (every namespace has 127.0.0.1; most are the host's).
        filter.loopbackHere = true
        var host = ResetCorrelator(reasons: nil, filter: filter)
        let kept = host.consume(Self.sent(2.0, "127.0.0.1:9", "127.0.0.1:7000"))
        XCTAssertEqual(kept.count, 1)
        XCTAssertEqual(host.elsewhere, 0)
    }

    func testCheckSinceCountsWhatWasLeftOut() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-place-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("j.db").path
        let now = Date()
        let t = now.addingTimeInterval(-20).journalMicros
        do {
            let j = try Journal.openForWriting(path: path)
            try j.write(events: [JournalEvent(timeMicros: t, direction: "sent", netns: "host", src: "198.18.0.2", sport: 8080,
                                              dst: "198.18.0.1", dport: 1, reason: "NO_SOCKET", cause: "no-listener")],
                        notes: [JournalNote(timeMicros: t, kind: "elsewhere", netns: "host", text: "12 reset(s) of other network namespaces …"),
                                JournalNote(timeMicros: t + 10_000_000, kind: "elsewhere", netns: "host", text: "5 reset(s) of other …"),
                                JournalNote(timeMicros: t - 3_600_000_000, kind: "elsewhere", netns: "host", text: "100 before the period"),
                                JournalNote(timeMicros: t, kind: "elsewhere", netns: "web", text: "7 another recorder's")])
        }
        let r = try JournalEvidence.read(JournalEvidence.Period(since: now.addingTimeInterval(-60), until: now, journal: path),
                                         target: .host, port: nil, peer: nil)
        XCTAssertEqual(r.elsewhere, 17)
        XCTAssertEqual(FactStore(r.facts).value("trace.elsewhere"), .int(17))
        XCTAssertTrue(r.records.contains { $0.id == "kernel-trace" && $0.reason.contains("17 reset(s) of other network namespaces") })
    }

    func testClockJumpDetector() {
        var d = ClockJumpDetector()
        XCTAssertNil(d.check(wall: 1_800_000_000, boot: 100))
        XCTAssertNil(d.check(wall: 1_800_000_010.0004, boot: 110))   // slewed, not stepped
        XCTAssertEqual(d.check(wall: 1_799_996_411, boot: 111) ?? 0, -3600, accuracy: 0.01)
        XCTAssertNil(d.check(wall: 1_799_996_412, boot: 112))
        XCTAssertTrue(ClockJumpDetector.text(-3600, at: 1_799_996_412).contains("jumped back by 60m"))
    }

    /// With the wall clock stepped back an hour, a trace event without a wire twin still goes out after
    /// `maxHold` seconds of boot time (by wall time alone it would wait an hour).
    func testJoinHoldsByBootTime() {
        var j = WireTraceJoin()
        j.maxHold = 2
        let e = ResetEvent(traceTime: 10, time: 1_800_000_000, direction: .sent, src: "198.18.0.2", sport: 80, dst: "198.18.0.1",
                           dport: 5, state: "UNKNOWN", reason: "NO_SOCKET")
        XCTAssertTrue(j.add(traced: [e], wire: [], now: 1_800_000_000, local: [], wireIdle: false, arrival: 10).isEmpty)
        XCTAssertTrue(j.add(traced: [], wire: [], now: 1_799_996_401, local: [], wireIdle: false, arrival: 11).isEmpty)
        XCTAssertEqual(j.add(traced: [], wire: [], now: 1_799_996_402, local: [], wireIdle: false, arrival: 12.1).count, 1)
    }

    /// The whole recorder on a fake clock: the wall clock jumps back an hour mid-run; the jump is noted, the
    /// counter snapshots go on every interval (by boot time), and nothing is filed in the future.
    func testRecorderNotesAClockJumpAndKeepsItsIntervals() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-clock-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("j.db").path
        let clock = JumpingClock()
        var o = RecorderOptions()
        o.isRoot = false
        o.wire = false
        o.counterInterval = 0.5
        o.clock = clock
        let writer = JournalWriter(journal: try Journal.openForWriting(path: path), interval: 0.2)
        let recorder = Recorder(options: o, writer: writer, reasons: nil)
        writer.start()
        let started = SystemRecorderClock().boot()
        let stop: @Sendable () -> Bool = {
            let t = SystemRecorderClock().boot() - started
            if t > 1.1 { clock.jump(-3600) }
            return t > 2.6
        }
        await recorder.run(shouldStop: stop)
        writer.stop()
        let s = recorder.currentStats
        XCTAssertEqual(s.clockJumps, 1)
        XCTAssertGreaterThanOrEqual(s.counterSnapshots, 5, "start, about four intervals, stop")
        let j = try Journal.openForReading(path: path)
        let notes = try j.notes(JournalFilter(sinceMicros: 0, untilMicros: .max, netns: "host"))
        let jump = try XCTUnwrap(notes.first { $0.kind == "clock" })
        XCTAssertTrue(jump.text.contains("jumped back by 60m"), jump.text)
        XCTAssertTrue(notes.contains { $0.kind == "stop" })
        XCTAssertLessThan(jump.timeMicros, Date().journalMicros - 3_000_000_000)
    }
}

/// The real boot clock; a wall clock that can be stepped.
private final class JumpingClock: RecorderClock, @unchecked Sendable {
    private let lock = NSLock()
    private var offset = 0.0
    private var jumped = false
    func jump(_ by: Double) { lock.withLock { if !jumped { offset += by; jumped = true } } }
    func wall() -> Double { SystemRecorderClock().wall() + lock.withLock { offset } }
    func boot() -> Double { SystemRecorderClock().boot() }
}
