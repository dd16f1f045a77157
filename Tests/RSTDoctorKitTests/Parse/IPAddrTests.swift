import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class IPAddrTests: XCTestCase {
    /// Captured in a namespace that shares a bridge with another holding the same IPv6 address:
    /// the kernel marked fd00:99::5 `dadfailed tentative`.
    func testDadFailedCapture() throws {
        let facts = try IPAddrParser.parse(RawOutput(try TestFiles.fixture("ip-addr", "netns-dadfailed.json")))
        XCTAssertEqual(facts.int("addresses.dadfailed"), 1)
        let a = facts.records("addresses")
        XCTAssertEqual(a.count, 7)
        let failed = try XCTUnwrap(a.first { $0["dadfailed"] == .bool(true) })
        XCTAssertEqual(failed.string("address"), "fd00:99::5")
        XCTAssertEqual(failed.string("ifname"), "eth0")
        XCTAssertEqual(failed.string("family"), "inet6")
        XCTAssertEqual(failed.int("prefixlen"), 64)
        XCTAssertEqual(failed["tentative"], .bool(true))
        XCTAssertEqual(failed.string("scope"), "global")
        XCTAssertEqual(failed.string("state"), "UP")
        let v4 = try XCTUnwrap(a.first { $0.string("address") == "198.18.10.6" })
        XCTAssertEqual(v4["dadfailed"], .bool(false))
        XCTAssertEqual(v4.int("prefixlen"), 24)
        XCTAssertEqual(a.first { $0.string("ifname") == "lo" }?.string("state"), "UNKNOWN")
    }

    func testHostAndVeth() throws {
        let host = try IPAddrParser.parse(RawOutput(try TestFiles.fixture("ip-addr", "host.json")))
        XCTAssertEqual(host.int("addresses.dadfailed"), 0)
        XCTAssertEqual(host.records("addresses").count, 5, "down interfaces without addresses give no record")
        XCTAssertTrue(host.records("addresses").contains { $0.string("address") == "192.0.2.2" && $0.string("scope") == "global" })
        let veth = try IPAddrParser.parse(RawOutput(try TestFiles.fixture("ip-addr", "netns-veth.json")))
        XCTAssertEqual(veth.records("addresses").filter { $0.string("ifname") == "veth-a" }.count, 2)
    }

    func testMalformed() throws {
        XCTAssertThrowsError(try IPAddrParser.parse(RawOutput("")))
        XCTAssertThrowsError(try IPAddrParser.parse(RawOutput(#"{"ifname": "eth0"}"#)))
        let full = try TestFiles.fixture("ip-addr", "netns-dadfailed.json")
        XCTAssertThrowsError(try IPAddrParser.parse(RawOutput(String(full.prefix(full.count / 2)))))
        let odd = try IPAddrParser.parse(RawOutput(#"[{"ifname": 3}, {"ifname": "x", "addr_info": [{"local": 5}, {"local": "10.0.0.1", "dadfailed": "yes", "prefixlen": "8"}]}]"#))
        XCTAssertEqual(odd.records("addresses").count, 1)
        XCTAssertEqual(odd.records("addresses").first?["dadfailed"], .bool(false))
        XCTAssertEqual(odd.records("addresses").first?.int("prefixlen"), 8)
    }
}
