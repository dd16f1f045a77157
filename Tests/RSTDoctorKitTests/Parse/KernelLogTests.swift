import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class KernelLogTests: XCTestCase {
    /// Real logs of this machine after a SYN flood on a backlog-4 listener (syncookies on) and a
    /// failed IPv6 DAD, as `journalctl -k -o short-iso` and `dmesg --time-format iso` print them.
    func testJournalctlShortIso() throws {
        let facts = try KernelLogParser.parse(RawOutput(try TestFiles.fixture("kernel-log", "journalctl-k-short-iso.txt")))
        XCTAssertEqual(facts.int("kernel_log.syn_flood"), 1)
        XCTAssertEqual(facts.int("kernel_log.ipv6_dad"), 1)
        XCTAssertEqual(facts.int("kernel_log.conntrack_full"), 0)
        let e = facts.records("kernel_log.events")
        XCTAssertEqual(e.count, 2)
        let flood = try XCTUnwrap(e.first { $0.string("kind") == "syn-flood" })
        XCTAssertEqual(flood.int("port"), 8181)
        XCTAssertEqual(flood.string("time"), "2026-11-21T19:56:24+0000")
        XCTAssertEqual(flood.string("message"), "TCP: request_sock_TCP: Possible SYN flooding on port 10.99.0.1:8181. Sending cookies.")
    }

    func testDmesgIso() throws {
        let facts = try KernelLogParser.parse(RawOutput(try TestFiles.fixture("kernel-log", "dmesg-iso.txt")))
        XCTAssertEqual(facts.int("kernel_log.syn_flood"), 1)
        let flood = try XCTUnwrap(facts.records("kernel_log.events").first { $0.string("kind") == "syn-flood" })
        XCTAssertEqual(flood.string("time"), "2026-11-21T19:56:13,674019+00:00")
        XCTAssertEqual(flood.int("port"), 8181)
        XCTAssertTrue(flood.string("message")?.hasPrefix("TCP: request_sock_TCP:") == true)
    }

    /// The other messages in the exact texts of the kernel sources (net/ipv4/tcp.c tcp_check_oom,
    /// net/core/neighbour.c, nf_conntrack_core.c), in the line formats of plain dmesg and syslog,
    /// plus the old lower-case SYN flood text with a bare port.
    func testKernelSourceMessages() throws {
        let log = """
        [ 8123.456789] TCP: too many orphaned sockets
        [ 8123.456790] TCP: out of memory -- consider tuning tcp_mem
        Nov 21 19:56:13 web1 kernel: [104235.156774] nf_conntrack: nf_conntrack: table full, dropping packet
        Nov 21 19:56:14 web1 kernel: [104235.2] neighbour: arp_cache: neighbor table overflow!
        Nov 21 19:56:15 web1 kernel: Neighbour table overflow.
        [  900.1] TCP: time wait bucket table overflow
        [  901.0] possible SYN flooding on port 80. Sending cookies.
        [  902.0] TCP: request_sock_TCPv6: Possible SYN flooding on port [::]:8443. Dropping request.  Check SNMP counters.
        [  903.0] eth0: link up
        """
        let facts = try KernelLogParser.parse(RawOutput(log))
        XCTAssertEqual(facts.int("kernel_log.orphans"), 1)
        XCTAssertEqual(facts.int("kernel_log.tcp_mem"), 1)
        XCTAssertEqual(facts.int("kernel_log.conntrack_full"), 1)
        XCTAssertEqual(facts.int("kernel_log.neigh_overflow"), 2)
        XCTAssertEqual(facts.int("kernel_log.tw_overflow"), 1)
        XCTAssertEqual(facts.int("kernel_log.syn_flood"), 2)
        let e = facts.records("kernel_log.events")
        XCTAssertEqual(e.count, 8)
        XCTAssertEqual(e.filter { $0.string("kind") == "syn-flood" }.map { $0.int("port") }, [80, 8443])
        XCTAssertEqual(e[0].string("time"), "8123.456789")
        XCTAssertEqual(e[2].string("time"), "Nov 21 19:56:13")
        XCTAssertEqual(e[2].string("message"), "nf_conntrack: nf_conntrack: table full, dropping packet")
    }

    func testEmptyGarbageAndBounds() throws {
        let none = try KernelLogParser.parse(RawOutput("-- No entries --\n"))
        XCTAssertEqual(none.int("kernel_log.syn_flood"), 0)
        XCTAssertEqual(none.records("kernel_log.events").count, 0)
        _ = try KernelLogParser.parse(RawOutput("\u{0}\u{ff}[\n[ ]\nkernel: \n Possible SYN flooding on port :. \n"))
        let many = String(repeating: "[1.0] TCP: too many orphaned sockets\n", count: 1000)
        let facts = try KernelLogParser.parse(RawOutput(many))
        XCTAssertEqual(facts.int("kernel_log.orphans"), 1000)
        XCTAssertEqual(facts.records("kernel_log.events").count, KernelLogParser.maxEvents)
    }
}
