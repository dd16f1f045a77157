import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDRender

/// Resets in groups before lists: one line per flow, port and verdict.
final class ResetGroupsTests: XCTestCase {
    func testIdenticalResetsMakeOneGroupWithTheirTimeSpan() {
        var facts = FactStore()
        var rs: [Record] = (0..<55).map { i in
            ["frame": .int(Int64(i)), "time": .double(1_000_000 + Double(i) * 0.1), "src": .string("198.18.0.2"), "sport": .int(9999),
             "dst": .string("198.18.0.1"), "dport": .int(Int64(40000 + i)), "class": .string("syn-answer"), "cause": .string("no-listener")]
        }
        rs.append(["time": .double(1_000_001), "src": .string("198.18.0.9"), "sport": .int(50000), "dst": .string("198.18.0.2"),
                   "dport": .int(443), "class": .string("firewall"), "cause": .string("firewall-reset")])
        facts.add("capture.resets", .records(rs), source: FactSource(check: "capture"))
        let gs = ResetSummary.groups(facts)
        XCTAssertEqual(gs.count, 2)
        XCTAssertEqual(gs[0].count, 55)
        XCTAssertEqual(gs[0].port, 9999)
        XCTAssertEqual(gs[1].port, 443)
        let text = ResetSummary.text(facts, singles: false)
        XCTAssertTrue(text.contains("55 RST 198.18.0.2 → 198.18.0.1, port 9999"), text)
        XCTAssertTrue(text.contains("syn-answer → no-listener"), text)
        XCTAssertFalse(text.contains("Every RST"), "single RSTs only on request")
        XCTAssertTrue(ResetSummary.text(facts, singles: true).contains("#54 "), "and then every one")
    }

    /// A service on a high port (above the client's ephemeral one): the focus port, or the capture's
    /// roles, say which side is the service, so refused connects make one group, not one per connection.
    func testTheServicePortIsTheFocusOrTheServersNotTheLower() {
        var facts = FactStore()
        let rs: [Record] = (0..<4).map { i in
            ["time": .double(1_000_000 + Double(i)), "src": .string("127.0.0.1"), "sport": .int(47123), "dst": .string("127.0.0.1"),
             "dport": .int(Int64(46750 + i)), "direction": .string("sent"), "reason": .string("NO_SOCKET"), "cause": .string("no-listener")]
        }
        facts.add("trace.resets", .records(rs), source: FactSource(check: "kernel-trace"))
        XCTAssertEqual(ResetSummary.groups(facts).count, 4, "without a focus the lower port is a client's here")
        facts.add("focus.port", .int(47123), source: FactSource(check: "options"))
        let gs = ResetSummary.groups(facts)
        XCTAssertEqual(gs.map(\.port), [47123])
        XCTAssertEqual(gs.first?.count, 4)
        let server: Record = ["sport": .int(47123), "dport": .int(46750), "sender": .string("server")]
        XCTAssertEqual(ResetView.servicePort(server, focus: nil), 47123)
        XCTAssertEqual(ResetView.servicePort(["sport": .int(46750), "dport": .int(47123), "sender": .string("client")], focus: nil), 47123)
    }
    /// A bounded list keeps a few records per reading; each stands for the unlisted RSTs like it
    /// (`rsts`, as CaptureFacts sets it): the groups count RSTs, so they add up to the capture's count.
    func testGroupsCountTheRSTsTheirRecordsStandFor() {
        var facts = FactStore()
        func rec(_ i: Int, _ src: String, _ rsts: Int?) -> Record {
            var r: Record = ["frame": .int(Int64(i)), "time": .double(1_000_000 + Double(i)), "src": .string(src), "sport": .int(9999),
                             "dst": .string("198.18.0.1"), "dport": .int(Int64(40000 + i)), "sender": .string("server"),
                             "class": .string("syn-answer"), "cause": .string("no-listener")]
            if let rsts { r["rsts"] = .int(Int64(rsts)) }
            return r
        }
        // 3 records from .2 (the last standing for 997 more), 2 from .3 (no weight: one each).
        facts.add("capture.resets", .records([rec(1, "198.18.0.2", 1), rec(2, "198.18.0.2", 1), rec(3, "198.18.0.2", 998),
                                              rec(4, "198.18.0.3", nil), rec(5, "198.18.0.3", nil)]),
                  source: FactSource(check: "capture"))
        let gs = ResetSummary.groups(facts)
        XCTAssertEqual(gs.map(\.count), [1000, 2])
        XCTAssertEqual(gs.map(\.src), ["198.18.0.2", "198.18.0.3"])
        let text = ResetSummary.text(facts, singles: false)
        XCTAssertTrue(text.contains("1002 RST in 2 groups"), text)
        XCTAssertTrue(text.contains("1000 RST 198.18.0.2 → 198.18.0.1, port 9999"), text)
    }
}
