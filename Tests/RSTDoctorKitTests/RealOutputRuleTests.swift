import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDParse

/// The rules of causes the lab cannot stage (global limits: nf_conntrack_max, tcp_max_orphans,
/// tcp_mem) run on real outputs of real hosts (Fixtures/conntrack-stat/README.md gives origins):
/// each fires on the pressured host's output and stays silent on a healthy one.
final class RealOutputRuleTests: XCTestCase {
    func fired(_ facts: ParsedFacts, extra: [String: FactValue] = [:], cause: String) throws -> Set<String> {
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        var all = facts.values
        for (k, v) in extra { all[k] = v }
        let out = Engine(kb: kb).infer(KnowledgeTestSupport.store(all))
        // conntrack-table-full is a finding (makes no RST): its rules run all the same.
        let c = try XCTUnwrap((out.causes + out.findings).first { $0.cause.id == cause })
        return Set(c.forEvidence.map(\.rule) + c.against.map(\.rule))
    }

    func log(_ name: String) throws -> ParsedFacts {
        try KernelLogParser.parse(RawOutput(try TestFiles.fixture("kernel-log", name)))
    }

    func testConntrackTableFullLog() throws {
        let full = try fired(log("k8s-71261-conntrack-full.txt"), cause: "conntrack-table-full")
        XCTAssertTrue(full.contains("kernel-log-table-full"))
        XCTAssertFalse(full.contains("no-conntrack-full-log"))
        let quiet = try fired(log("journalctl-k-short-iso.txt"), cause: "conntrack-table-full")
        XCTAssertFalse(quiet.contains("kernel-log-table-full"))
        XCTAssertTrue(quiet.contains("no-conntrack-full-log"))
    }

    func testOrphanAndTcpMemLogs() throws {
        for f in ["shadowsocks-rust-376-orphans.txt", "tempesta-1763-tcp-mem.txt"] {
            XCTAssertTrue(try fired(log(f), cause: "orphan-memory-pressure").contains("kernel-log-orphans"), f)
        }
        XCTAssertFalse(try fired(log("journalctl-k-short-iso.txt"), cause: "orphan-memory-pressure").contains("kernel-log-orphans"))
    }

    func testOrphansNearLimitSockstat() throws {
        let max: [String: FactValue] = ["sysctl.net.ipv4.tcp_max_orphans": .int(65536)]
        let pressured = try SockstatParser.parse(RawOutput(try TestFiles.fixture("sockstat", "geekgao-7-orphans.txt")))
        XCTAssertTrue(try fired(pressured, extra: max, cause: "orphan-memory-pressure").contains("orphans-near-limit"))
        let healthy = try SockstatParser.parse(RawOutput(try TestFiles.fixture("sockstat", "netns-sockstat.txt")))
        XCTAssertFalse(try fired(healthy, extra: max, cause: "orphan-memory-pressure").contains("orphans-near-limit"))
    }

    func testConntrackStatFormats() throws {
        let s = try ConntrackStatParser.parse(RawOutput(try TestFiles.fixture("conntrack-stat", "telegraf-8955-conntrack-S.txt")))
        XCTAssertEqual(s.values["conntrack.stat.drop"], .int(1))
        XCTAssertEqual(s.values["conntrack.stat.insert_failed"], .int(1))
        XCTAssertEqual(s.values["conntrack.stat.invalid"], .int(516 + 583 + 9927))
        XCTAssertEqual(s.values["conntrack.stat.error"], .int(513))
        XCTAssertTrue(try fired(s, cause: "conntrack-table-full").contains("conntrack-drops"))
        let proc = try ConntrackStatParser.parse(RawOutput("""
            entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
            00000fce  00000000 00000000 00000000 00000004 00000000 00000000 00000000 00000000 000000c8 000001d8 00000000 00000000  00000000 00000000 00000000 00000000
            00000fce  00000000 00000000 00000000 00000004 00000000 00000000 00000000 00000000 000000a2 0000016f 00000000 00000000  00000000 00000000 00000000 00000000
            """))
        XCTAssertEqual(proc.values["conntrack.stat.entries"], .int(0xfce))
        XCTAssertEqual(proc.values["conntrack.stat.drop"], .int(0x1d8 + 0x16f))
        XCTAssertEqual(proc.values["conntrack.stat.insert_failed"], .int(0xc8 + 0xa2))
        let none = try ConntrackStatParser.parse(RawOutput(try TestFiles.fixture("conntrack-stat", "telegraf-8955-conntrack-S.txt")
            .replacingOccurrences(of: "drop=1", with: "drop=0")))
        XCTAssertFalse(try fired(none, cause: "conntrack-table-full").contains("conntrack-drops"))
        XCTAssertThrowsError(try ConntrackStatParser.parse(RawOutput("garbage here")))
    }
}
