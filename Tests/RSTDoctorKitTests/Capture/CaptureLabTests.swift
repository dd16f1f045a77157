import Foundation
import XCTest

@testable import RSTDCapture
@testable import RSTDCore

/// RSTs staged for real in network namespaces on Linux 6.18 (Fixtures/capture/stage/stage.sh, see the
/// README there) and captured on the client: each is classified as RST-SIGNALS.md describes.
final class CaptureLabTests: XCTestCase {
    func testNoListenerIsASynAnswer() throws {
        let r = try CaptureFixtures.lab("no-listener")
        XCTAssertEqual(r.rstCount, 1)
        let x = try XCTUnwrap(r.resets.first)
        XCTAssertEqual(x.class, "syn-answer")
        XCTAssertEqual(x.cause, "no-listener")
        XCTAssertEqual(x.sender, "server")
        XCTAssertEqual(x.roles, "handshake")
        XCTAssertEqual(x.answered, "SYN")
        XCTAssertEqual(x.answeredFrame, 1)
        XCTAssertEqual(x.flags, "RA")
        XCTAssertTrue(x.stateless)
        XCTAssertEqual(x.ttlDelta, 0)
        XCTAssertEqual(x.seq, 0)
        XCTAssertEqual(r.connStates, ["REJ": 1])
        XCTAssertTrue(r.pointsToCause)
        XCTAssertLessThan(try XCTUnwrap(x.delay), 0.01)
    }

    func testLingerZeroCloseIsASocketAbortByTheServer() throws {
        let r = try CaptureFixtures.lab("linger0")
        XCTAssertEqual(r.rstCount, 1)
        let x = try XCTUnwrap(r.resets.first)
        XCTAssertEqual(x.sender, "server")
        XCTAssertFalse(x.stateless, "a socket RST carries the real window and timestamps")
        XCTAssertEqual(x.flags, "RA")
        XCTAssertGreaterThan(x.window, 0)
        XCTAssertTrue(["abort", "abort-with-data", "abort-with-unread"].contains(x.class), x.class)
        XCTAssertEqual(x.cause.map { ["application-abort", "unread-data-close"].contains($0) }, true)
        XCTAssertEqual(x.ttlDelta, 0)
        XCTAssertEqual(r.connStates, ["RSTR": 1])
    }

    func testCloseWithUnreadDataIsASocketAbortByTheServer() throws {
        let r = try CaptureFixtures.lab("unread")
        let x = try XCTUnwrap(r.resets.first)
        XCTAssertEqual(r.rstCount, 1)
        XCTAssertEqual(x.sender, "server")
        XCTAssertFalse(x.stateless)
        // The wire cannot tell this from SO_LINGER 0 here (the server had acknowledged the data it
        // left unread); the explanation must say both, and the kernel trace separates them.
        XCTAssertTrue(["abort", "abort-with-data", "abort-with-unread"].contains(x.class), x.class)
        XCTAssertTrue(x.explain.contains("unread"), x.explain)
    }

    func testRouterRejectIsInjectedOneHopCloser() throws {
        let r = try CaptureFixtures.lab("router-reject")
        XCTAssertEqual(r.rstCount, 2)
        XCTAssertEqual(r.resets.map(\.class), ["injected-ttl", "injected-ttl"])
        XCTAssertEqual(r.resets.map(\.cause), ["firewall-reset", "firewall-reset"])
        XCTAssertEqual(r.resets.map(\.ttlDelta), [1, 1], "the router is one hop closer than the server")
        XCTAssertEqual(r.resets.map(\.answered), ["data", "SYN"])
        XCTAssertEqual(r.resets.map(\.stateless), [true, true])
        XCTAssertEqual(r.resets.map(\.ttl), [64, 64])
        // Mid-stream: compared with the server's packets in this connection; on the new SYN, with its
        // packets in the earlier connection.
        XCTAssertTrue(r.resets[0].explain.contains("other packets in this connection"))
        XCTAssertTrue(r.resets[1].explain.contains("packets in other connections"))
    }

    func testFilterByPortAndPeer() throws {
        let url = CaptureFixtures.fixtures.appending(path: "lab/router-reject.pcap")
        let all = try CaptureFixtures.analyze(url)
        let none = try CaptureFixtures.analyze(url, options: CaptureOptions(port: 9999))
        XCTAssertEqual(none.rstCount, 0)
        XCTAssertEqual(none.filteredOut, all.tcpPackets)
        let peer = try CaptureFixtures.analyze(url, options: CaptureOptions(peer: IPAddress("198.18.51.2")))
        XCTAssertEqual(peer.rstCount, 2)
        let other = try CaptureFixtures.analyze(url, options: CaptureOptions(peer: IPAddress("198.18.99.9")))
        XCTAssertEqual(other.rstCount, 0)
    }
}
