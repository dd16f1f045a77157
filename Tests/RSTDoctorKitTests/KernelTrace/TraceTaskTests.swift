import XCTest
@testable import RSTDCollect
@testable import RSTDJournal
@testable import RSTDTrace
@testable import RSTDCore

/// Who sent or received a RST (issue 15): the ftrace header's `comm-pid` names the process only when
/// the kernel logged the event in that process's own context (flags `.....`: a system call, or its
/// socket's backlog); in a softirq (`..s1.`) it is whoever happened to run, so it is not named.
final class TraceTaskTests: XCTestCase {
    func testContextFromTheHeaderFlags() throws {
        func context(_ flags: String) -> TraceLine.Context? {
            TraceLine.parse(Substring("  app-42 [001] \(flags)  5.000001: tcp_send_reset: src=1.2.3.4:5 dest=6.7.8.9:10"))?.context
        }
        XCTAssertEqual(context("....."), .process)
        XCTAssertEqual(context("b..1."), .process, "bottom halves disabled in a system call is still the process's context")
        XCTAssertEqual(context("..s1."), .softirq)
        XCTAssertEqual(context("dNs2."), .softirq)
        XCTAssertEqual(context("d.h3."), .hardirq)
        XCTAssertEqual(context("d.Z1."), .nmi)
        // Without the irq-info column (trace_options noirq-info) nothing says which context it was.
        XCTAssertEqual(TraceLine.parse("  app-42 [001] 5.000001: tcp_send_reset: src=1.2.3.4:5")?.context, .unknown)
    }

    /// The lab trace of this kernel: a refused connect is answered in the softirq the client's own
    /// connect() ran over veth (task python3-25528 is the client, not the server): no process named.
    /// The server's close() with unread data is sent in its system call: python3-25652 named.
    func testOnlyProcessContextNamesTheProcess() throws {
        var c = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), clockOffset: 1_000_000)
        let sent = c.consume(try TraceFixtures.text("trace/lab-6.18.trace")).filter { $0.direction == .sent }
        let refused = try XCTUnwrap(sent.first { $0.reason == "NO_SOCKET" })
        XCTAssertEqual(refused.task, "python3", "the raw header is kept (watch --format json prints it with its context)")
        XCTAssertEqual(refused.context, .softirq)
        XCTAssertNil(refused.process)
        XCTAssertEqual(refused.record["task"], .string(""))
        XCTAssertEqual(refused.record["pid"], .int(0))
        let unread = try XCTUnwrap(sent.first { $0.reason == "TCP_ABORT_ON_CLOSE" })
        XCTAssertEqual(unread.context, .process)
        XCTAssertEqual(unread.process?.name, "python3")
        XCTAssertEqual(unread.process?.pid, 25652)
        XCTAssertEqual(unread.record["task"], .string("python3"))
        XCTAssertEqual(unread.record["pid"], .int(25652))
    }

    /// The journal keeps the task only when the trace named it, and reads it back as named.
    func testJournalKeepsOnlyANamedProcess() throws {
        let soft = ResetEvent(traceTime: 1, time: 1, direction: .sent, src: "198.18.0.2", sport: 9, dst: "198.18.0.1", dport: 4000,
                              state: "UNKNOWN", reason: "NO_SOCKET", task: "<idle>", pid: 0, context: .softirq)
        let own = ResetEvent(traceTime: 2, time: 2, direction: .sent, src: "198.18.0.2", sport: 8080, dst: "198.18.0.1", dport: 4001,
                             state: "TCP_CLOSE", reason: "TCP_ABORT_ON_LINGER", task: "nginx", pid: 812, context: .process)
        let rows = [soft, own].map { JoinedRST(trace: $0, wire: nil).journalEvent(netns: "host") }
        XCTAssertNil(rows[0].task)
        XCTAssertNil(rows[0].pid)
        XCTAssertEqual(rows[1].task, "nginx")
        XCTAssertEqual(rows[1].pid, 812)
        let back = JournalEvidence.resetEvent(rows[1])
        XCTAssertEqual(back.process?.name, "nginx")
        XCTAssertNil(JournalEvidence.resetEvent(rows[0]).process)
    }
}
