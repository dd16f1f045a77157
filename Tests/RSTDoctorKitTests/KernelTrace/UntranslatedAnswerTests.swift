import XCTest

@testable import RSTDTrace

/// The trace-side signature of conntrack INVALID behind DNAT (UntranslatedAnswer.swift), on trace lines
/// shaped as the lab's conntrack-invalid-dnat scenarios print them (Linux 6.18): client C 198.18.2.1,
/// service S 198.18.4.10:8080 DNATed to backend B 198.18.3.2:8080.
final class UntranslatedAnswerTests: XCTestCase {
    private func sent(_ t: String, _ src: String, _ dst: String, state: String = "UNKNOWN", reason: String = "NO_SOCKET") -> String {
        "  <idle>-0 [001] ..s1. \(t): tcp_send_reset: skbaddr=00000000aa\(t.filter(\.isNumber).suffix(6)) "
            + "skaddr=0000000000000000 src=\(src) dest=\(dst) state=\(state) reason=\(reason)"
    }

    /// tcp_receive_reset and the socket's `-> TCP_CLOSE`: the socket local:lport ↔ remote:rport.
    private func received(_ t: String, local: String, _ lport: Int, remote: String, _ rport: Int,
                          old: String = "TCP_ESTABLISHED") -> String {
        let tuple = "sport=\(lport) dport=\(rport) saddr=\(local) daddr=\(remote) saddrv6=::ffff:\(local) daddrv6=::ffff:\(remote)"
        return "  <idle>-0 [001] ..s1. \(t): tcp_receive_reset: family=AF_INET \(tuple) sock_cookie=1\n"
            + "  <idle>-0 [001] ..s1. \(t): inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP \(tuple) "
            + "oldstate=\(old) newstate=TCP_CLOSE"
    }

    /// The client answers the backend's untranslated segment (NO_SOCKET, C → B), the backend's socket takes
    /// it; 0.2 s later the backend's listener answers the client's next segment and the client's socket
    /// (C ↔ S) takes the RST, translated.
    private var scenario: String {
        [sent("100.000000", "198.18.2.1:47876", "198.18.3.2:8080"),
         received("100.000020", local: "198.18.3.2", 8080, remote: "198.18.2.1", 47876),
         sent("100.200000", "0.0.0.0:8080", "0.0.0.0:0", state: "TCP_LISTEN", reason: "TCP_FLAGS"),
         received("100.200030", local: "198.18.2.1", 47876, remote: "198.18.4.10", 8080)].joined(separator: "\n") + "\n"
    }

    private func events(_ text: String, addresses: Set<String>? = nil) throws -> [ResetEvent] {
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons(), filter: TraceFilter(addresses: addresses), clockOffset: 1000)
        return c.consume(text)
    }

    func testBothEndsTracedHere() throws {
        let all = try events(scenario)
        XCTAssertEqual(all.map(\.direction), [.sent, .sent], "each RST once, as sent: \(all)")
        XCTAssertEqual(all.map(\.cause), ["conntrack-invalid", "conntrack-invalid"])
        XCTAssertEqual(all.first?.peerState, "TCP_ESTABLISHED")
        XCTAssertTrue(all.first?.explain?.contains("198.18.4.10:8080") ?? false, all.first?.explain ?? "")
    }

    func testFromTheClient() throws {
        let here = try events(scenario, addresses: ["198.18.2.1"])
        XCTAssertEqual(here.map(\.direction), [.sent, .received])
        XCTAssertEqual(here.map(\.cause), ["conntrack-invalid", "conntrack-invalid"])
        let rx = try XCTUnwrap(here.last)
        XCTAssertEqual(rx.state, "TCP_ESTABLISHED")
        XCTAssertEqual(rx.src, "198.18.4.10")
        // Without the backend's lines (a backend on another machine) the NO_SOCKET RST is not held (no socket
        // here took it live) and reads as before; the RST the client's live socket takes after it still tells.
        let clientOnly = scenario.split(separator: "\n").filter { $0.contains("198.18.2.1 daddr") || $0.contains("src=198.18.2.1") }
        let alone = try events(clientOnly.joined(separator: "\n") + "\n", addresses: ["198.18.2.1"])
        XCTAssertEqual(alone.map(\.cause), ["no-listener", "conntrack-invalid"])
    }

    func testFromTheBackend() throws {
        let here = try events(scenario, addresses: ["198.18.3.2"])
        let rx = try XCTUnwrap(here.first { $0.direction == .received }, "\(here)")
        XCTAssertEqual(rx.state, "TCP_ESTABLISHED")
        XCTAssertEqual(rx.cause, "conntrack-invalid", "inherits the cause of the client's NO_SOCKET")
        XCTAssertFalse(here.contains { $0.cause == "half-open-after-restart" }, "\(here.map(\.cause))")
    }

    /// A genuine half-open: the server forgot C's connection; its port has no live socket to anyone else.
    func testHalfOpenStaysHalfOpen() throws {
        let text = [sent("100.000000", "198.18.0.2:8080", "198.18.0.1:5000"),
                    received("100.000020", local: "198.18.0.1", 5000, remote: "198.18.0.2", 8080)].joined(separator: "\n") + "\n"
        XCTAssertEqual(try events(text).map(\.cause), ["half-open-after-restart"])
        XCTAssertEqual(try events(text, addresses: ["198.18.0.1"]).map(\.cause), ["half-open-after-restart"])
    }

    /// A live socket on the port to the same address (another connection of that client) is no NAT.
    func testLiveSocketToTheSameAddressIsNotAnUntranslatedAnswer() throws {
        let text = [sent("100.000000", "198.18.0.2:8080", "198.18.0.1:5000"),
                    received("100.000020", local: "198.18.0.1", 5000, remote: "198.18.0.2", 8080),
                    received("100.300000", local: "198.18.0.2", 8080, remote: "198.18.0.1", 5001)].joined(separator: "\n") + "\n"
        XCTAssertFalse(try events(text).contains { $0.cause == "conntrack-invalid" })
    }

    /// A refused connect, another port's socket in SYN_SENT, and a live socket too long after: silent.
    func testRefusalsAndDistantOrNotLiveSocketsAreSilent() throws {
        let refused = [sent("100.000000", "198.18.0.2:9", "198.18.0.1:42374"),
                       received("100.000020", local: "198.18.0.1", 42374, remote: "198.18.0.2", 9, old: "TCP_SYN_SENT")]
        XCTAssertEqual(try events(refused.joined(separator: "\n") + "\n").map(\.cause), ["no-listener"])
        let connecting = refused + [received("100.100000", local: "198.18.0.2", 9, remote: "198.18.7.7", 80, old: "TCP_SYN_SENT")]
        XCTAssertFalse(try events(connecting.joined(separator: "\n") + "\n").contains { $0.cause == "conntrack-invalid" })
        let late = refused + [received("101.500000", local: "198.18.0.2", 9, remote: "198.18.7.7", 80)]
        XCTAssertFalse(try events(late.joined(separator: "\n") + "\n").contains { $0.cause == "conntrack-invalid" })
        // The same socket ESTABLISHED within the window: the signature.
        let near = refused + [received("100.500000", local: "198.18.0.2", 9, remote: "198.18.7.7", 80)]
        XCTAssertEqual(try events(near.joined(separator: "\n") + "\n").map(\.cause), ["no-listener", "conntrack-invalid"],
                       "the refused connect's RST is not held (nobody here took it live); the live socket's RST is marked")
    }

    /// The lab trace (closed port, aborts, overflow) keeps its causes.
    func testLabTraceUnchanged() throws {
        let all = try events(try TraceFixtures.text("trace/lab-6.18.trace"))
        XCTAssertFalse(all.contains { $0.cause == "conntrack-invalid" })
    }

    /// A NO_SOCKET RST waits `untranslatedWindow` of trace time (or the end) before it is complete.
    func testNoSocketAnswerIsHeldForTheWindow() throws {
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons(), clockOffset: 1000)
        var out: [ResetEvent] = []
        for raw in scenario.split(separator: "\n") {
            if let line = TraceLine.parse(raw) { out += c.add(line) }
        }
        out += c.quiet(at: 100.5)
        XCTAssertEqual(out.count, 0, "held until 101.0: \(out)")
        out += c.quiet(at: 101.1)
        XCTAssertEqual(out.map(\.cause), ["conntrack-invalid", "conntrack-invalid"])
    }
}
