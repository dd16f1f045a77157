import Foundation
import XCTest

@testable import RSTDCollect
@testable import RSTDCore
@testable import RSTDTrace

/// The observe join: a captured RST leaving a local address with no tcp_send_reset behind it was
/// built by a firewall (RST-SIGNALS.md 5a); one the stack sent keeps its own cause.
final class ObserveJoinTests: XCTestCase {
    func record(src: String, sport: Int64, dst: String, dport: Int64, time: Double, cause: String) -> Record {
        ["src": .string(src), "sport": .int(sport), "dst": .string(dst), "dport": .int(dport), "time": .double(time),
         "cause": .string(cause), "firewall_built": .bool(false)]
    }

    /// `traced`: the trace ran from t = 50 to t = 150 (the records' times are around 100).
    func joined(_ rs: [Record], events: [ResetEvent], traced: Bool, coverage: ClosedRange<Double> = 50...150) -> [Record] {
        let f = Fact(key: "capture.resets", value: .records(rs), source: FactSource(check: "capture"))
        guard case .records(let out)? = Observation.join([f], events: events, coverage: traced ? coverage : nil, local: ["198.18.2.2"]).first?.value
        else { return [] }
        return out
    }

    /// A RST the capture saw after the trace had stopped (or before it started) has no
    /// tcp_send_reset to be found: that proves nothing, so it is not called firewall-built.
    func testRSTOutsideTheTracedIntervalIsNotJudged() {
        let late = record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000, time: 149.99, cause: "no-listener")
        let early = record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40001, time: 49, cause: "no-listener")
        let out = joined([late, early], events: [], traced: true)
        for r in out {
            XCTAssertEqual(r["trace_covered"], .bool(false))
            XCTAssertNil(r["stack_sent"])
            XCTAssertEqual(r["firewall_built"], .bool(false))
            XCTAssertEqual(r["cause"], .string("no-listener"))
        }
        // Inside the interval the same RST without a trace event is the firewall's.
        let inside = joined([record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000, time: 140, cause: "no-listener")],
                            events: [], traced: true)
        XCTAssertEqual(inside.first?["firewall_built"], .bool(true))
    }

    func testLocalRSTWithoutTraceEventIsFirewallBuilt() {
        let out = joined([record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000, time: 100, cause: "half-open-after-restart")],
                         events: [], traced: true)
        XCTAssertEqual(out.first?["local"], .bool(true))
        XCTAssertEqual(out.first?["stack_sent"], .bool(false))
        XCTAssertEqual(out.first?["firewall_built"], .bool(true))
        XCTAssertEqual(out.first?["cause"], .string("firewall-reset"))
    }

    func testStackSentRSTKeepsItsCause() {
        let e = ResetEvent(traceTime: 1, time: 100.00002, direction: .sent, src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000,
                           state: "TCP_CLOSE", reason: "TCP_ABORT_ON_CLOSE")
        let out = joined([record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000, time: 100, cause: "unread-data-close")],
                         events: [e], traced: true)
        XCTAssertEqual(out.first?["stack_sent"], .bool(true))
        XCTAssertEqual(out.first?["firewall_built"], .bool(false))
        XCTAssertEqual(out.first?["cause"], .string("unread-data-close"))
    }

    func testWithoutTraceNothingIsClaimed() {
        let out = joined([record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000, time: 100, cause: "no-listener"),
                          record(src: "198.18.9.9", sport: 8080, dst: "198.18.2.2", dport: 40000, time: 100, cause: "no-listener")],
                         events: [], traced: false)
        XCTAssertEqual(out[0]["local"], .bool(true))
        XCTAssertNil(out[0]["stack_sent"])
        XCTAssertEqual(out[0]["cause"], .string("no-listener"))
        XCTAssertEqual(out[1]["local"], .bool(false))
    }

    /// On a router (capture on `any`): a RST sent from here in another host's name with no incoming
    /// copy was built by this host's firewall, trace or not; one that came in and was forwarded was not.
    func testRouterBuiltRSTIsFirewallBuiltWithoutTrace() {
        var built = record(src: "198.18.61.2", sport: 8080, dst: "198.18.60.1", dport: 40000, time: 100, cause: "no-listener")
        built["local_built"] = .bool(true)
        built["direction"] = .string("out")
        var forwarded = built
        forwarded["local_built"] = .bool(false)
        forwarded["direction"] = .string("out")
        let out = joined([built, forwarded], events: [], traced: false)
        XCTAssertEqual(out[0]["firewall_built"], .bool(true))
        XCTAssertEqual(out[0]["cause"], .string("firewall-reset"))
        XCTAssertEqual(out[1]["firewall_built"], .bool(false))
        XCTAssertEqual(out[1]["cause"], .string("no-listener"))
    }

    /// A RST the capture saw arrive was not sent here, even from a local address (a duplicate address,
    /// a looped copy): the missing tcp_send_reset proves nothing about it.
    func testReceivedRSTIsNotLookedForInTheTrace() {
        var r = record(src: "198.18.2.2", sport: 8080, dst: "198.18.2.1", dport: 40000, time: 100, cause: "duplicate-ip")
        r["direction"] = .string("in")
        r["local_built"] = .bool(false)
        let out = joined([r], events: [], traced: true)
        XCTAssertEqual(out.first?["firewall_built"], .bool(false))
        XCTAssertEqual(out.first?["cause"], .string("duplicate-ip"))
        XCTAssertNil(out.first?["stack_sent"])
    }
}
