import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class SysctlTests: XCTestCase {
    func argv() throws -> String {
        try TestFiles.fixture("sysctl", "argv.txt").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `sysctl -e` with every key of checks/sysctls.yaml, on the host (all keys present).
    func testHostAllKeysPresent() throws {
        let name = try argv()
        let facts = try SysctlParser.parse(RawOutput(parts: [.init(name: name, text: try TestFiles.fixture("sysctl", "host.txt"))]))
        let asked = SysctlParser.askedKeys(name)
        XCTAssertEqual(asked.count, 22)
        for key in asked { XCTAssertNotNil(facts.values["sysctl." + key], key) }
        XCTAssertTrue(facts.unknown.isEmpty, "\(facts.unknown)")
        XCTAssertEqual(facts.int("sysctl.net.core.somaxconn"), 4096)
        XCTAssertEqual(facts.string("sysctl.net.ipv4.tcp_mem"), "287898\t383867\t575796")
        XCTAssertEqual(facts.int("sysctl.net.ipv4.tcp_mem.0"), 287898)
        XCTAssertEqual(facts.int("sysctl.net.ipv4.tcp_mem.2"), 575796)
        XCTAssertEqual(facts.int("sysctl.net.netfilter.nf_conntrack_tcp_timeout_established"), 432000)
    }

    /// In a non-initial network namespace tcp_mem and tcp_max_orphans do not exist: `sysctl -e`
    /// prints nothing for them, and the parser must call them unknown, not absent or zero.
    func testNamespaceMissingKeysAreUnknown() throws {
        let facts = try SysctlParser.parse(RawOutput(parts: [.init(name: try argv(), text: try TestFiles.fixture("sysctl", "netns.txt"))]))
        XCTAssertNil(facts.values["sysctl.net.ipv4.tcp_mem"])
        XCTAssertEqual(facts.unknown["sysctl.net.ipv4.tcp_mem"], SysctlParser.missingReason)
        XCTAssertEqual(facts.unknown["sysctl.net.ipv4.tcp_mem.1"], SysctlParser.missingReason)
        XCTAssertNotNil(facts.unknown["sysctl.net.ipv4.tcp_max_orphans"])
        XCTAssertEqual(facts.unknown.count, 5)
        XCTAssertEqual(facts.int("sysctl.net.ipv4.tcp_abort_on_overflow"), 0)
    }

    func testConntrackKeysUnknownWhenModuleAbsent() throws {
        // The host output without its net.netfilter lines: what a kernel without nf_conntrack prints.
        let text = try TestFiles.fixture("sysctl", "host.txt").split(separator: "\n").filter { !$0.hasPrefix("net.netfilter") }.joined(separator: "\n")
        let facts = try SysctlParser.parse(RawOutput(parts: [.init(name: try argv(), text: text)]))
        XCTAssertEqual(facts.unknown.keys.filter { $0.hasPrefix("sysctl.net.netfilter.") }.count, 5)
        XCTAssertTrue(facts.unknown["sysctl.net.netfilter.nf_conntrack_max"]?.contains("nf_conntrack module") == true)
    }

    func testCorpus() throws {
        let doc = try SysctlParser.parse(RawOutput(try TestFiles.corpus("sysctl/insights-core__sysctl_doc.txt")))
        XCTAssertEqual(doc.string("sysctl.kernel.domainname"), "example.com")
        XCTAssertEqual(doc.string("sysctl.kernel.modprobe"), "/sbin/modprobe")
        let odd = try SysctlParser.parse(RawOutput(try TestFiles.corpus("sysctl/insights-core__sysctl_odd.txt")))
        XCTAssertEqual(odd.int("sysctl.a"), 1)
        XCTAssertEqual(odd.int("sysctl.b"), 2)
        XCTAssertEqual(odd.string("sysctl.c"), "include an = sign")
    }

    func testGarbageAndEmpty() throws {
        XCTAssertThrowsError(try SysctlParser.parse(RawOutput("sysctl: permission denied on key 'x'\n\u{1b}[31mgarbage")))
        let empty = try SysctlParser.parse(RawOutput(parts: [.init(name: "sysctl -e net.ipv4.tcp_syncookies", text: "")]))
        XCTAssertEqual(empty.unknown["sysctl.net.ipv4.tcp_syncookies"], SysctlParser.missingReason)
        XCTAssertEqual(SysctlParser.askedKeys("sysctl -a"), [])
        XCTAssertEqual(SysctlParser.askedKeys("/proc/sys/net/ipv4/tcp_syncookies"), [])
    }
}
