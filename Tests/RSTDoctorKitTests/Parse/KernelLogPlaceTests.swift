import Foundation
import XCTest

@testable import RSTDCollect
@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDKnowledge

/// The kernel log is the machine's: a SYN flood line naming an address this namespace does not hold
/// is another namespace's (a container's) listener and must not make syn-flood likely here.
final class KernelLogPlaceTests: XCTestCase {
    /// Real `dmesg --time-format iso` lines of this machine, read from the host namespace, written
    /// while the lab's syn-flood scenarios flooded a listener on 198.18.1.2:8080 in a lab namespace.
    func labFlood() throws -> CheckRecord {
        let log = try TestFiles.fixture("kernel-log", "dmesg-iso-lab-syn-flood.txt")
        return CheckRecord(id: "kernel-log", status: .ok, samples: [RawOutput(log)])
    }

    /// Real `ip -j addr` outputs: the host namespace of this machine (192.0.2.2, fd00::2) and a
    /// namespace holding the flooded listener's address (198.18.1.2, fd00:5::2).
    func addresses(_ file: String) throws -> CheckRecord {
        CheckRecord(id: "addresses", status: .ok, samples: [RawOutput(try TestFiles.fixture("ip-addr", file))])
    }

    func diagnose(_ records: [CheckRecord]) throws -> (FactStore, [String]) {
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        let (facts, _) = EvidenceBuilder.facts(from: records, catalog: kb.catalog)
        let flood = Engine(kb: kb).infer(facts).findings.first { $0.cause.id == "syn-flood" }
        return (facts, flood?.forEvidence.map(\.rule) ?? [])
    }

    func testAnotherNamespacesFloodDoesNotCountHere() throws {
        let (facts, rules) = try diagnose([try labFlood(), try addresses("host.json")])
        XCTAssertEqual(facts.value("kernel_log.syn_flood"), .int(3), "the lines are still counted as the log's")
        XCTAssertEqual(facts.value("kernel_log.syn_flood_elsewhere"), .int(3))
        guard case .records(let events)? = facts.value("kernel_log.events") else { return XCTFail("no events") }
        XCTAssertEqual(events.map { $0["addr"] }, Array(repeating: .string("198.18.1.2"), count: 3))
        XCTAssertTrue(events.allSatisfy { $0["elsewhere"] == .bool(true) })
        XCTAssertFalse(rules.contains("kernel-log-syn-flood"), "fired on another namespace's flood: \(rules)")
    }

    func testTheListenersOwnNamespaceCountsIt() throws {
        let (facts, rules) = try diagnose([try labFlood(), try addresses("netns-listener.json")])
        XCTAssertEqual(facts.value("kernel_log.syn_flood_elsewhere"), .int(0))
        XCTAssertTrue(rules.contains("kernel-log-syn-flood"), "\(rules)")
    }

    /// Without this namespace's addresses nothing can be excluded: the line may be this namespace's.
    func testUnknownAddressesExcludeNothing() throws {
        let (facts, rules) = try diagnose([try labFlood()])
        XCTAssertNil(facts.value("kernel_log.syn_flood_elsewhere"))
        XCTAssertTrue(facts["kernel_log.syn_flood_elsewhere"]?.unknownReason?.contains("addresses are unknown") == true)
        XCTAssertTrue(rules.contains("kernel-log-syn-flood"), "\(rules)")
    }

    /// Wildcard and loopback listeners exist in every namespace and are never "elsewhere"; an IPv6
    /// listener is named as `[%pI6c]:%u` (net/ipv4/tcp_input.c: tcp_syn_flood_action()), in the line
    /// this machine logged for the lab's IPv6 flood (`TCP: request_sock_TCPv6: … [fd00:5253:5444:1::2]:8080.`).
    func testWildcardLoopbackAndIPv6() throws {
        let log = """
        2026-12-05T06:44:27,409069+00:00 TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Dropping request.
        2026-12-05T06:44:28,409069+00:00 TCP: request_sock_TCPv6: Possible SYN flooding on port [::]:443. Sending cookies.
        2026-12-05T06:44:29,409069+00:00 TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:6379. Sending cookies.
        2026-12-05T06:44:30,409069+00:00 TCP: request_sock_TCPv6: Possible SYN flooding on port [fd00:5::2]:8443. Sending cookies.
        2026-12-05T06:44:31,409069+00:00 TCP: request_sock_TCPv6: Possible SYN flooding on port [fd00::2]:9000. Sending cookies.
        """
        let rec = CheckRecord(id: "kernel-log", status: .ok, samples: [RawOutput(log)])
        let (facts, _) = try diagnose([rec, try addresses("host.json")])
        guard case .records(let events)? = facts.value("kernel_log.events") else { return XCTFail("no events") }
        XCTAssertEqual(events.map { $0["addr"] }, ["0.0.0.0", "::", "127.0.0.1", "fd00:5::2", "fd00::2"].map { .string($0) })
        XCTAssertEqual(events.map { $0["port"] }, [8080, 443, 6379, 8443, 9000].map { .int($0) })
        XCTAssertEqual(events.map { $0["elsewhere"] == .bool(true) }, [false, false, false, true, false])
        XCTAssertEqual(facts.value("kernel_log.syn_flood_elsewhere"), .int(1))
    }
}
