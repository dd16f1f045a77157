import Foundation
import XCTest
@testable import RSTDoctorKit

/// The observe join: a captured RST leaving a local address with no tcp_send_reset behind it was
/// built by a firewall (RST-SIGNALS.md 5a); one the stack sent keeps its own cause.
final class ObserveJoinTests: XCTestCase {
    func record(src: String, sport: Int64, dst: String, dport: Int64, time: Double, cause: String) -> Record {
        ["src": .string(src), "sport": .int(sport), "dst": .string(dst), "dport": .int(dport), "time": .double(time),
         "cause": .string(cause), "firewall_built": .bool(false)]
    }

    func joined(_ rs: [Record], events: [ResetEvent], traced: Bool) -> [Record] {
        let f = Fact(key: "capture.resets", value: .records(rs), source: FactSource(check: "capture"))
        guard case .records(let out)? = Observation.join([f], events: events, traced: traced, local: ["198.18.2.2"]).first?.value else { return [] }
        return out
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
}
