import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse
@testable import RSTDCollect

final class ArpingTests: XCTestCase {
    /// One run as the collector hands it over: named by its argv, with its exit code.
    func part(_ fixture: String, _ argv: String) throws -> RawOutput.Part {
        let text = try TestFiles.fixture("arping", fixture + ".txt")
        let exit = Int32(try TestFiles.fixture("arping", fixture + ".exit").trimmingCharacters(in: .whitespacesAndNewlines))
        return .init(name: argv, text: text, exitCode: exit)
    }

    /// Real runs from a namespace on a bridge where another namespace holds 198.18.10.5 too
    /// (MAC 02:00:00:00:00:0b) and nobody else holds 198.18.10.7.
    func testIputilsDuplicateAndUnique() throws {
        let facts = try ArpingParser.parse(RawOutput(parts: [
            try part("iputils-dup", "arping -D -c 2 -w 2 -I eth0 198.18.10.5"),
            try part("iputils-unique", "arping -D -c 2 -w 2 -I eth0 198.18.10.7"),
        ]))
        XCTAssertEqual(facts.int("duplicate_ip.count"), 1)
        let r = facts.records("duplicate_ip")
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r[0].string("ifname"), "eth0")
        XCTAssertEqual(r[0].string("address"), "198.18.10.5")
        XCTAssertEqual(r[0]["duplicate"], .bool(true))
        XCTAssertEqual(r[0].string("mac"), "02:00:00:00:00:0b")
        XCTAssertEqual(r[1]["duplicate"], .bool(false))
        XCTAssertEqual(r[1].string("mac"), "")
    }

    /// Debian's `arping` package is Thomas Habets' program: DAD with `-0`, and exit 0 means *answered*.
    func testHabetsDuplicateAndUnique() throws {
        let facts = try ArpingParser.parse(RawOutput(parts: [
            try part("habets-dup", "arping -0 -c 2 -w 2 -i eth0 198.18.10.5"),
            try part("habets-unique", "arping -0 -c 2 -w 2 -i eth0 198.18.10.7"),
        ]))
        let r = facts.records("duplicate_ip")
        XCTAssertEqual(r.map { $0["duplicate"] }, [.bool(true), .bool(false)])
        XCTAssertEqual(r[0].string("mac"), "02:00:00:00:00:0b")
        XCTAssertEqual(r[1].string("ifname"), "eth0")
        XCTAssertEqual(facts.int("duplicate_ip.count"), 1)
        // The exit codes are opposite to iputils': the verdict must not come from them.
        XCTAssertEqual(try part("habets-dup", "").exitCode, 0)
        XCTAssertEqual(try part("iputils-dup", "").exitCode, 1)
    }

    /// The collector's probe (`Collector.probeArgv`: three probes 0.15 s apart, stop at the first answer),
    /// real runs of it from a namespace on a veth whose peer holds 198.18.10.5 (MAC 02:00:00:00:00:0b;
    /// answered within 7 µs of the first probe, 0.12 s wall) and nobody holds 198.18.10.9 (three
    /// `Timeout`s, 0.52 s wall). The runs are named by that argv, so interface and address come from it.
    func testHabetsThreeProbesStopAtTheFirstAnswer() throws {
        let dupArgv = Collector.probeArgv(habets: true, ifname: "eth0", address: "198.18.10.5")
        let uniqueArgv = Collector.probeArgv(habets: true, ifname: "eth0", address: "198.18.10.9")
        let facts = try ArpingParser.parse(RawOutput(parts: [
            try part("habets-probe3-dup", dupArgv.joined(separator: " ")),
            try part("habets-probe3-unique", uniqueArgv.joined(separator: " ")),
        ]))
        let r = facts.records("duplicate_ip")
        XCTAssertEqual(r.map { $0["duplicate"] }, [.bool(true), .bool(false)])
        XCTAssertEqual(r.map { $0.string("address") }, ["198.18.10.5", "198.18.10.9"])
        XCTAssertEqual(r.map { $0.string("ifname") }, ["eth0", "eth0"])
        XCTAssertEqual(r[0].string("mac"), "02:00:00:00:00:0b")
        XCTAssertEqual(facts.int("duplicate_ip.count"), 1)
        let alone = try ArpingParser.parse(RawOutput(parts: [try part("habets-probe3-unique", uniqueArgv.joined(separator: " "))]))
        XCTAssertEqual(alone.int("duplicate_ip.count"), 0, "three unanswered probes: no duplicate")
    }

    /// Habets' `-D` prints dots; sent from the duplicated address itself it gets no answer at all.
    func testHabetsDotsAndFailures() throws {
        let dots = try ArpingParser.parse(RawOutput(parts: [try part("habets-D-flag", "arping -D -c 2 -w 2 -I eth0 198.18.10.5")]))
        XCTAssertEqual(dots.records("duplicate_ip").first?["duplicate"], .bool(false))
        let bang = try ArpingParser.parse(RawOutput(parts: [.init(name: "arping -D -c 2 -I eth0 10.0.0.1", text: "!.\t 50% packet loss (0 extra)\n", exitCode: 0)]))
        XCTAssertEqual(bang.records("duplicate_ip").first?["duplicate"], .bool(true))

        XCTAssertThrowsError(try ArpingParser.parse(RawOutput(parts: [try part("iputils-nodevice", "arping -D -c 2 -w 2 -I eth9 198.18.10.7")]))) { e in
            XCTAssertTrue("\(e)".contains("Device eth9 not available"), "\(e)")
        }
        let mixed = try ArpingParser.parse(RawOutput(parts: [
            try part("habets-nodevice", "arping -0 -c 2 -w 2 -i eth9 198.18.10.7"),
            try part("iputils-unique", "arping -D -c 2 -w 2 -I eth0 198.18.10.7"),
        ]))
        XCTAssertEqual(mixed.records("duplicate_ip").count, 1)
        XCTAssertEqual(mixed.int("duplicate_ip.failed_runs"), 1)
        XCTAssertEqual(try ArpingParser.parse(RawOutput(parts: [])).records("duplicate_ip").count, 0)
    }

    func testGarbage() throws {
        XCTAssertThrowsError(try ArpingParser.parse(RawOutput(parts: [.init(name: "arping -D -I eth0 1.2.3.4", text: "\u{0}\u{7}zzz", exitCode: 1)])))
        let truncated = try TestFiles.fixture("arping", "iputils-dup.txt")
        for cut in 0..<truncated.count {
            _ = try? ArpingParser.parse(RawOutput(parts: [.init(name: "arping -D -I eth0 198.18.10.5", text: String(truncated.prefix(cut)))]))
        }
        let r = try ArpingParser.parse(RawOutput(parts: [.init(name: "arping", text: "Unicast reply from 10.1.1.1 [AA:BB:CC:DD:EE:FF]  1ms\n")]))
        XCTAssertEqual(r.records("duplicate_ip").first?.string("address"), "10.1.1.1", "address from the reply when the name has none")
        XCTAssertEqual(r.records("duplicate_ip").first?.string("mac"), "aa:bb:cc:dd:ee:ff")
    }
}
