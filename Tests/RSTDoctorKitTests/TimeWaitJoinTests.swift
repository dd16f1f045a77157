import Foundation
import XCTest

@testable import RSTDCollect
@testable import RSTDCore
@testable import RSTDParse
@testable import RSTDTrace

/// The TIME-WAIT join of `--observe`: a RST received for a connection `ss` still lists in TIME-WAIT
/// at the end of the window hit a TIME-WAIT socket that ignored it (tcp_rfc1337=1 or out of window,
/// RST-SIGNALS.md row 6), whatever a capture that missed the close made of it.
final class TimeWaitJoinTests: XCTestCase {
    /// `ss -Htanoi` in a namespace on this machine (Linux 6.18) after a client closed first.
    static let ssOutput = """
    LISTEN    0      128    127.0.0.1:8080    0.0.0.0:*   
    \t bbr cwnd:10
    TIME-WAIT 0      0      127.0.0.1:53018 127.0.0.1:8080 timer:(timewait,59sec,0)
    \t
    """

    func timeWait() throws -> Set<TimeWaitJoin.Tuple> {
        let parsed = try SSSocketsParser.parse(RawOutput(Self.ssOutput))
        return TimeWaitJoin.timeWait(parsed.values["sockets"])
    }

    /// The listener's stateless RST as the capture classifies it when it did not see the close.
    func captured(dport: Int64 = 53018, dst: String = "127.0.0.1", time: Double = 100) -> Fact {
        Fact(key: "capture.resets", value: .records([[
            "src": .string("127.0.0.1"), "sport": .int(8080), "dst": .string(dst), "dport": .int(dport), "time": .double(time),
            "class": .string("stateless-unknown-flow"), "cause": .string("half-open-after-restart"), "firewall_built": .bool(false),
        ]]), source: FactSource(check: "capture"))
    }

    /// The server's listener answering the TIME-WAIT ACK, as the trace prints it (no peer).
    func traced(time: Double = 100.00003, sport: Int = 8080) -> Fact {
        let e = ResetEvent(traceTime: 1, time: time, direction: .sent, src: "0.0.0.0", sport: sport, dst: "0.0.0.0", dport: 0,
                           state: "TCP_LISTEN", reason: "TCP_FLAGS", listener: true)
        var r = e.record
        r["cause"] = .string("half-open-after-restart")
        return Fact(key: "trace.resets", value: .records([r]), source: FactSource(check: "kernel-trace"))
    }

    func records(_ facts: [Fact], _ key: String) -> [Record] {
        guard case .records(let r)? = facts.first(where: { $0.key == key })?.value else { return [] }
        return r
    }

    func testTimeWaitTuplesFromRealSS() throws {
        XCTAssertEqual(try timeWait(), [TimeWaitJoin.Tuple(local: "127.0.0.1", lport: 53018, peer: "127.0.0.1", pport: 8080)])
    }

    func testRSTIntoKeptTimeWaitLosesItsCause() throws {
        let out = TimeWaitJoin.mark([captured(), traced()], timeWait: try timeWait(), local: ["127.0.0.1"])
        let c = records(out, "capture.resets").first
        XCTAssertEqual(c?["time_wait_kept"], .bool(true))
        XCTAssertEqual(c?["class"], .string("into-time-wait"))
        XCTAssertEqual(c?["cause"], .string(""))
        let t = records(out, "trace.resets").first
        XCTAssertEqual(t?["time_wait_kept"], .bool(true))
        XCTAssertEqual(t?["cause"], .string(""))
        XCTAssertEqual(t?["reason"], .string("TCP_FLAGS"), "the kernel's own reason stays")
    }

    func testOtherConnectionsKeepTheirCause() throws {
        // Another port of the same peer: a live connection that the restarted server does not know.
        let out = TimeWaitJoin.mark([captured(dport: 53020), traced()], timeWait: try timeWait(), local: ["127.0.0.1"])
        XCTAssertEqual(records(out, "capture.resets").first?["cause"], .string("half-open-after-restart"))
        XCTAssertNil(records(out, "capture.resets").first?["time_wait_kept"])
        XCTAssertEqual(records(out, "trace.resets").first?["cause"], .string("half-open-after-restart"), "no captured RST matched")
    }

    func testOnlyRSTsReceivedHere() throws {
        // The TIME-WAIT tuple belongs to this host only if its address is local.
        let out = TimeWaitJoin.mark([captured()], timeWait: try timeWait(), local: ["198.18.1.1"])
        XCTAssertEqual(records(out, "capture.resets").first?["cause"], .string("half-open-after-restart"))
    }

    func testTraceEventsFarInTimeOrOnAnotherPortStay() throws {
        let far = TimeWaitJoin.mark([captured(), traced(time: 101)], timeWait: try timeWait(), local: ["127.0.0.1"])
        XCTAssertEqual(records(far, "trace.resets").first?["cause"], .string("half-open-after-restart"))
        let port = TimeWaitJoin.mark([captured(), traced(sport: 9090)], timeWait: try timeWait(), local: ["127.0.0.1"])
        XCTAssertEqual(records(port, "trace.resets").first?["cause"], .string("half-open-after-restart"))
    }

    func testNoTimeWaitNoChange() {
        let facts = [captured(), traced()]
        let out = TimeWaitJoin.mark(facts, timeWait: [], local: ["127.0.0.1"])
        XCTAssertEqual(records(out, "capture.resets"), records(facts, "capture.resets"))
    }
}
