import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class IPNeighTests: XCTestCase {
    /// Captured in the namespace that shares 198.18.10.5 with another: ARP to .6 and to an absent
    /// .77 failed (Linux ignores ARP requests that come from one of its own addresses), IPv6 resolved.
    func testNamespaceCapture() throws {
        let facts = try IPNeighParser.parse(RawOutput(try TestFiles.fixture("ip-neigh", "netns-failed.json")))
        XCTAssertEqual(facts.int("neighbours.total"), 3)
        XCTAssertEqual(facts.int("neighbours.failed"), 2)
        let n = facts.records("neighbours")
        let v6 = try XCTUnwrap(n.first { $0.string("address") == "fd00:99::6" })
        XCTAssertEqual(v6.string("lladdr"), "02:00:00:00:00:0b")
        XCTAssertEqual(v6.string("state"), "REACHABLE")
        XCTAssertEqual(v6.string("ifname"), "eth0")
        XCTAssertEqual(n.first { $0.string("address") == "198.18.10.77" }?.string("lladdr"), "")
    }

    func testHostAndEmpty() throws {
        let host = try IPNeighParser.parse(RawOutput(try TestFiles.fixture("ip-neigh", "host.json")))
        XCTAssertEqual(host.int("neighbours.total"), 2)
        XCTAssertEqual(host.int("neighbours.failed"), 1)
        let empty = try IPNeighParser.parse(RawOutput("[]\n"))
        XCTAssertEqual(empty.int("neighbours.total"), 0)
    }

    func testMalformed() throws {
        XCTAssertThrowsError(try IPNeighParser.parse(RawOutput("")))
        XCTAssertThrowsError(try IPNeighParser.parse(RawOutput(#"[{"dst":"192.0.2.1","dev":"#)))
        XCTAssertThrowsError(try IPNeighParser.parse(RawOutput(#"{"dst": "x"}"#)))
        let odd = try IPNeighParser.parse(RawOutput(#"[{"dst": "10.0.0.1", "state": "FAILED"}, {"dev": "eth0"}, 7, {"dst": "10.0.0.2", "state": [1, "STALE", "PROBE"]}]"#))
        XCTAssertEqual(odd.int("neighbours.total"), 2)
        XCTAssertEqual(odd.int("neighbours.failed"), 1)
        XCTAssertEqual(odd.records("neighbours").last?.string("state"), "STALE,PROBE")
    }
}
