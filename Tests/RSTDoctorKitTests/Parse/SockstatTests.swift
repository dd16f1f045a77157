import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class SockstatTests: XCTestCase {
    func testNamespaceCapture() throws {
        let out = RawOutput(parts: [
            .init(name: "/proc/net/sockstat", text: try TestFiles.fixture("sockstat", "netns-sockstat.txt")),
            .init(name: "/proc/net/sockstat6", text: try TestFiles.fixture("sockstat", "netns-sockstat6.txt")),
        ])
        let facts = try SockstatParser.parse(out)
        XCTAssertEqual(facts.int("sockstat.sockets.used"), 12)
        XCTAssertEqual(facts.int("sockstat.tcp.inuse"), 8)
        XCTAssertEqual(facts.int("sockstat.tcp.tw"), 2)
        XCTAssertEqual(facts.int("sockstat.tcp.alloc"), 13)
        XCTAssertEqual(facts.int("sockstat.tcp.orphan"), 0)
        XCTAssertEqual(facts.int("sockstat.tcp.mem"), 0)
        XCTAssertNotNil(facts.int("sockstat.tcp6.inuse"))
        XCTAssertEqual(facts.int("sockstat.frag.memory"), 0)
    }

    func testCorpus() throws {
        let a = try SockstatParser.parse(RawOutput(parts: [
            .init(name: "/proc/net/sockstat", text: try TestFiles.corpus("proc/node_exporter__proc_net_sockstat")),
            .init(name: "/proc/net/sockstat6", text: try TestFiles.corpus("proc/node_exporter__proc_net_sockstat6")),
        ]))
        XCTAssertEqual(a.int("sockstat.sockets.used"), 229)
        XCTAssertEqual(a.int("sockstat.tcp.mem"), 1)
        XCTAssertEqual(a.int("sockstat.tcp6.inuse"), 17)
        XCTAssertEqual(a.int("sockstat.raw6.inuse"), 1)
        let b = try SockstatParser.parse(RawOutput(try TestFiles.corpus("proc/procfs__proc_net_sockstat")))
        XCTAssertEqual(b.int("sockstat.tcp.mem"), 22)
        XCTAssertEqual(b.int("sockstat.udp.mem"), 62)
    }

    func testGarbage() throws {
        XCTAssertThrowsError(try SockstatParser.parse(RawOutput("not a sockstat file")))
        let partial = try SockstatParser.parse(RawOutput("TCP: inuse 4 orphan x tw 4\n"))
        XCTAssertEqual(partial.int("sockstat.tcp.inuse"), 4)
        XCTAssertNil(partial.values["sockstat.tcp.tw"], "pairs stop at the first label without a number")
        XCTAssertTrue(try SockstatParser.parse(RawOutput("")).values.isEmpty)
    }
}
