import XCTest

@testable import RSTDCore
@testable import RSTDTrace

/// Real resets in a throwaway namespace pair, traced by TraceSession on this kernel.
final class TraceLiveTests: XCTestCase {
    func testSessionNamesTheCauseOfRealResets() throws {
        try TraceLab.skipUnlessPossible()
        let lab = try TraceLab()
        var options = TraceSession.Options(filter: TraceFilter(addresses: [lab.clientIP, lab.serverIP]),
                                           reasons: try TraceFixtures.reasons())
        options.instanceName = "rstdoctor-test-\(getpid())"
        let session = TraceSession(options: options)
        do { try session.start() } catch { throw XCTSkip("tracing unavailable: \(error.reason)") }
        XCTAssertTrue(session.instance.exists)
        XCTAssertTrue(session.reasonReported, "Linux 6.10+ reports reasons")

        XCTAssertTrue(lab.connectToClosedPort(7).contains("errno 111"))
        XCTAssertTrue(lab.serverCloses("linger", port: 8201).contains("errno 104"))
        XCTAssertTrue(lab.serverCloses("unread", port: 8202).contains("errno 104"))
        let end = Date().addingTimeInterval(5)
        while Date() < end && session.events.filter({ $0.direction == .sent }).count < 3 { _ = session.poll(timeout: 0.2) }
        let events = session.stop()
        XCTAssertFalse(session.instance.exists, "the instance is removed by stop()")

        let sent = events.filter { $0.direction == .sent }
        func find(_ port: Int) -> ResetEvent? { sent.first { $0.sport == port } }
        let closed = try XCTUnwrap(find(7), "\(events)")
        XCTAssertEqual(closed.reason, "NO_SOCKET")
        XCTAssertEqual(closed.cause, "no-listener")
        XCTAssertEqual(closed.dst, lab.clientIP)
        XCTAssertEqual(closed.dropReason, "NO_SOCKET")
        let linger = try XCTUnwrap(find(8201))
        XCTAssertEqual(linger.reason, "TCP_STATE")
        XCTAssertEqual(linger.state, "TCP_CLOSE")
        XCTAssertEqual(linger.cause, "application-abort")
        let unread = try XCTUnwrap(find(8202))
        XCTAssertEqual(unread.reason, "TCP_ABORT_ON_CLOSE")
        XCTAssertEqual(unread.cause, "unread-data-close")
        // Wall-clock times: within the test's run.
        XCTAssertEqual(closed.time, Date().timeIntervalSince1970, accuracy: 60)
        // The client side (another namespace of this machine) received them too: each RST is reported
        // once, as sent, with the receiving socket's state.
        XCTAssertEqual(events.filter { $0.direction == .received }.count, 0, "\(events)")
        XCTAssertEqual([closed, linger, unread].compactMap(\.peerState).count, 3, "the receiver's state is joined")
        let facts = FactStore(session.facts())
        XCTAssertEqual(facts.value("trace.sent.NO_SOCKET"), .int(1))
        XCTAssertEqual(facts.value("trace.sent.TCP_ABORT_ON_CLOSE"), .int(1))
        XCTAssertEqual(facts.value("trace.sent"), .int(3))
    }

    func testStartFailureLeavesNothingBehind() throws {
        try TraceLab.skipUnlessPossible()
        var options = TraceSession.Options()
        options.root = "/nonexistent-tracefs-\(getpid())"
        let session = TraceSession(options: options)
        XCTAssertThrowsError(try session.start()) { e in
            XCTAssertTrue((e as? TraceUnavailable)?.reason.contains("does not exist") ?? false, "\(e)")
        }
    }
}
