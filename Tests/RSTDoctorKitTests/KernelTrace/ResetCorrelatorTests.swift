import XCTest

@testable import RSTDTrace

final class ResetCorrelatorTests: XCTestCase {
    private func events(_ text: String, filter: TraceFilter = TraceFilter(), reasonReported: Bool = true,
                        window: Double = 0.02) throws -> [ResetEvent] {
        var c = ResetCorrelator(window: window, reasons: try TraceFixtures.reasons(), filter: filter, clockOffset: 1_000_000)
        c.reasonReported = reasonReported
        return c.consume(text)
    }

    /// The lab trace (Linux 6.18, netns pair): closed port, SO_LINGER 0, unread data, accept-queue overflow.
    func testLabTraceOfThisKernel() throws {
        let all = try events(try TraceFixtures.text("trace/lab-6.18.trace"))
        let sent = all.filter { $0.direction == .sent }
        XCTAssertEqual(sent.map(\.reason), ["NO_SOCKET", "TCP_STATE", "TCP_ABORT_ON_CLOSE", "INVALID_SYN", "TCP_STATE", "TCP_STATE"])
        XCTAssertEqual(sent.map(\.cause), ["no-listener", "application-abort", "unread-data-close", "accept-queue-overflow",
                                           "application-abort", "application-abort"])

        let closed = sent[0]
        XCTAssertEqual(closed.src, "198.18.0.2")
        XCTAssertEqual(closed.sport, 9)
        XCTAssertEqual(closed.dst, "198.18.0.1")
        XCTAssertEqual(closed.dport, 42374)
        XCTAssertEqual(closed.state, "UNKNOWN")
        XCTAssertEqual(closed.dropReason, "NO_SOCKET", "joined to kfree_skb by skbaddr")
        XCTAssertEqual(closed.peerState, "TCP_SYN_SENT", "the client's socket on this host was connecting")
        XCTAssertEqual(closed.time, 1_000_000 + 639.729499, accuracy: 1e-6)
        XCTAssertFalse(closed.listener)

        let overflow = sent[3]
        XCTAssertTrue(overflow.listener)
        XCTAssertEqual(overflow.state, "TCP_LISTEN")
        XCTAssertEqual(overflow.dropReason, "TCP_LISTEN_OVERFLOW")
        // The kernel printed dest=0.0.0.0:0; the receiver's tcp_receive_reset gives the peer.
        XCTAssertEqual(overflow.dst, "198.18.0.1")
        XCTAssertEqual(overflow.dport, 37994)
        XCTAssertEqual(overflow.peerState, "TCP_ESTABLISHED")
        XCTAssertTrue(overflow.explain?.contains("TCP_LISTEN_OVERFLOW") ?? false)

        // Both ends are on this machine: each RST is reported once, as sent, with the receiver's state.
        XCTAssertEqual(all.filter { $0.direction == .received }.count, 0, "a RST sent and received here is one RST")

        // Watched from the client's namespace (its address), the same trace shows the five RSTs it
        // received, each with the cause its sender (another namespace) knew; the sent events
        // happened elsewhere and are left out.
        var c = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), filter: TraceFilter(addresses: ["198.18.0.1"]),
                                clockOffset: 1_000_000)
        let atClient = c.consume(try TraceFixtures.text("trace/lab-6.18.trace"))
        XCTAssertEqual(atClient.filter { $0.direction == .sent }.count, 0)
        XCTAssertEqual(c.elsewhere, 1, "the one sent RST that no socket here received happened elsewhere")
        let received = atClient.filter { $0.direction == .received }
        XCTAssertEqual(received.count, 5)
        XCTAssertEqual(received.first?.state, "TCP_SYN_SENT", "from inet_sock_set_state SYN_SENT -> CLOSE")
        XCTAssertEqual(received.first?.src, "198.18.0.2", "a received RST's src is the peer that sent it")
        XCTAssertEqual(received.first?.dport, 42374)
        XCTAssertTrue(received.allSatisfy(\.alsoSentHere))
        XCTAssertEqual(received.map(\.cause), ["no-listener", "application-abort", "unread-data-close", "accept-queue-overflow", "application-abort"])
        XCTAssertTrue(received.allSatisfy { $0.reason == nil })

        // Watched from a namespace that is neither end: nothing is its, and each RST happened
        // elsewhere once (sent by one namespace, received by another: one RST, not two).
        var third = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), filter: TraceFilter(addresses: ["198.18.99.1"]),
                                    clockOffset: 1_000_000)
        XCTAssertEqual(third.consume(try TraceFixtures.text("trace/lab-6.18.trace")).count, 0)
        XCTAssertEqual(third.elsewhere, sent.count, "each RST of other namespaces counted once")
    }

    func testListenerResetWithoutLocalReceiverKeepsWildcardAndSurvivesPeerFilter() throws {
        let text = try TraceFixtures.text("trace/lab-6.18.trace").split(separator: "\n")
            .filter { !$0.contains("tcp_receive_reset") && !$0.contains("inet_sock_set_state") }.joined(separator: "\n")
        let all = try events(text, filter: TraceFilter(peer: "203.0.113.7"))
        XCTAssertEqual(all.count, 1, "only the listener RST (peer unknown) may concern 203.0.113.7")
        let e = try XCTUnwrap(all.first)
        XCTAssertEqual(e.reason, "INVALID_SYN")
        XCTAssertTrue(e.peerUnknown)
        XCTAssertEqual(e.cause, "accept-queue-overflow")
        XCTAssertTrue(WatchOutput.line(e).contains("peer not reported"))
    }

    /// A restarted service's listener answers a forgotten connection (half-open, RST-SIGNALS.md 4b): it
    /// prints its wildcard address and no peer; the client in another namespace logs the receive.
    /// Watched from the client's namespace it is one RST, with the flow's addresses; from a third
    /// namespace it happened elsewhere, once. (Lab, Linux 6.18.)
    func testWildcardListenerResetReceivedInTheWatchedNamespace() throws {
        let text = """
                     python3-17346   [001] ..s1.  3183.322925: tcp_send_reset: skbaddr=00000000589e2621 skaddr=00000000448cf02d src=0.0.0.0:8080 dest=0.0.0.0:0 state=TCP_LISTEN reason=TCP_FLAGS
                     python3-17346   [001] .....  3183.322984: tcp_receive_reset: family=AF_INET sport=54702 dport=8080 saddr=198.18.10.1 daddr=198.18.10.5 saddrv6=::ffff:198.18.10.1 daddrv6=::ffff:198.18.10.5 sock_cookie=1f27c
            """
        var atClient = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), filter: TraceFilter(port: 8080, addresses: ["198.18.10.1"]),
                                       clockOffset: 1_000_000)
        let here = atClient.consume(text + "\n")
        XCTAssertEqual(here.count, 1, "the RST this namespace received is its evidence: \(here)")
        XCTAssertEqual(here.first?.src, "198.18.10.5")
        XCTAssertEqual(here.first?.dst, "198.18.10.1")
        XCTAssertEqual(atClient.elsewhere, 0)
        var third = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), filter: TraceFilter(port: 8080, addresses: ["198.18.99.1"]),
                                    clockOffset: 1_000_000)
        XCTAssertEqual(third.consume(text + "\n").count, 0)
        XCTAssertEqual(third.elsewhere, 1)
    }

    func testFilters() throws {
        let text = try TraceFixtures.text("trace/lab-6.18.trace")
        let byPort = try events(text, filter: TraceFilter(port: 8095))
        XCTAssertEqual(byPort.filter { $0.direction == .sent }.map(\.reason), ["INVALID_SYN", "TCP_STATE", "TCP_STATE"])
        // With the join the listener RST's peer is known, so a peer filter for someone else drops it.
        XCTAssertEqual(try events(text, filter: TraceFilter(peer: "203.0.113.7")).count, 0)
        XCTAssertEqual(try events(text, filter: TraceFilter(peer: "198.18.0.1")).count, 6, "one event per RST")
        // A namespace is placed by each event's local side: the server sent 6, the client received 5.
        XCTAssertEqual(try events(text, filter: TraceFilter(addresses: ["198.18.0.2"])).map(\.direction), Array(repeating: .sent, count: 6))
        XCTAssertEqual(try events(text, filter: TraceFilter(addresses: ["198.18.0.1"])).map(\.direction), Array(repeating: .received, count: 5))
        XCTAssertEqual(try events(text, filter: TraceFilter(addresses: ["10.9.9.9"])).count, 0)
        XCTAssertEqual(try events(text, filter: TraceFilter(port: 1)).count, 0)
    }

    func testJoinWindow() throws {
        let lines = """
             python3-1 [000] ..s1.   10.000000: tcp_send_reset: skbaddr=00000000aaaa0001 skaddr=0000000000000000 src=198.18.0.2:9 dest=198.18.0.1:4000 state=UNKNOWN reason=NO_SOCKET
             python3-1 [000] ..s1.   10.500000: kfree_skb: skbaddr=00000000aaaa0001 rx_sk=0000000000000000 protocol=2048 location=tcp_v4_rcv+0x91/0x13f0 reason: NO_SOCKET
             python3-1 [000] ..s1.   11.000000: tcp_send_reset: skbaddr=00000000aaaa0002 skaddr=0000000000000000 src=198.18.0.2:9 dest=198.18.0.1:4001 state=UNKNOWN reason=NO_SOCKET
             python3-1 [000] ..s1.   11.000010: kfree_skb: skbaddr=00000000aaaa0002 rx_sk=0000000000000000 protocol=2048 location=tcp_v4_rcv+0x91/0x13f0 reason: NO_SOCKET
            """
        let all = try events(lines)
        XCTAssertEqual(all.map(\.dropReason), [nil, "NO_SOCKET"], "a recycled skbaddr half a second later is not the same segment")
    }

    func testOlderKernelEventsWithoutReason() throws {
        // As Linux 6.6 prints them (format-6.6/tcp_send_reset.format): no reason, socket 4-tuple.
        let lines = """
                 python3-14799   [000] ..s2.   387.671495: tcp_receive_reset: family=AF_INET sport=52756 dport=8080 saddr=198.18.0.1 daddr=198.18.0.2 saddrv6=::ffff:198.18.0.1 daddrv6=::ffff:198.18.0.2 sock_cookie=1002
                 python3-14799   [000] .....   387.671500: tcp_send_reset: family=AF_INET sport=8080 dport=52756 saddr=198.18.0.2 daddr=198.18.0.1 saddrv6=::ffff:198.18.0.2 daddrv6=::ffff:198.18.0.1 state=TCP_CLOSE
                 python3-14801   [001] ..s2.   388.000000: tcp_send_reset: family=AF_INET6 sport=443 dport=40000 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd00::2 daddrv6=fd00::1 state=TCP_ESTABLISHED
            """
        let all = try events(lines, reasonReported: false)
        let sent = all.filter { $0.direction == .sent }
        XCTAssertEqual(sent.count, 2)
        XCTAssertEqual(sent[0].src, "198.18.0.2")
        XCTAssertEqual(sent[0].sport, 8080)
        XCTAssertEqual(sent[0].dst, "198.18.0.1")
        XCTAssertNil(sent[0].reason)
        XCTAssertNil(sent[0].cause)
        XCTAssertEqual(sent[0].explain, ResetEvent.noReasonText)
        XCTAssertEqual(sent[1].src, "fd00::2")
        XCTAssertEqual(sent[1].dst, "fd00::1")
        XCTAssertTrue(WatchOutput.line(sent[0]).contains(ResetEvent.noReasonText))
        XCTAssertTrue(WatchOutput.line(sent[1]).contains("[fd00::2]:443 > [fd00::1]:40000"))
    }

    func testIPv6EndpointsAndMalformedLines() throws {
        XCTAssertEqual(TraceAddress.splitEndpoint("[fd00:5253:5444:1::2]:8080")?.0, "fd00:5253:5444:1::2")
        XCTAssertEqual(TraceAddress.splitEndpoint("[::ffff:198.18.0.1]:80")?.0, "198.18.0.1")
        XCTAssertNil(TraceAddress.splitEndpoint("198.18.0.1:99999"))
        XCTAssertNil(TraceAddress.splitEndpoint("(einval)"))
        let junk = """
              x-1 [000] ..... 1.0: tcp_send_reset: src=(einval) dest=(einval) state=UNKNOWN reason=NO_SOCKET
              x-1 [000] ..... 1.1: tcp_receive_reset: family=AF_INET sport=abc
              x-1 [000] ..... 1.2: kfree_skb: skbaddr=1
            """
        XCTAssertEqual(try events(junk).count, 0)
    }
}

final class WireJoinTests: XCTestCase {
    func testCapturedResetsJoinTracedOnes() throws {
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons(), clockOffset: 1000)
        let events = c.consume(try TraceFixtures.text("trace/lab-6.18.trace"))
        // The closed-port RST as a capture would show it, 40 µs after the tracepoint.
        let t = 1000 + 639.729499 + 0.00004
        XCTAssertEqual(WireJoin.tracedSender(src: "198.18.0.2", sport: 9, dst: "198.18.0.1", dport: 42374, time: t, in: events)?.reason, "NO_SOCKET")
        XCTAssertFalse(WireJoin.builtByFirewall(src: "198.18.0.2", sport: 9, dst: "198.18.0.1", dport: 42374, time: t,
                                                in: events, localAddresses: ["198.18.0.2"]))
        // Same shape, another port, no tracepoint: an nft reject built it.
        XCTAssertTrue(WireJoin.builtByFirewall(src: "198.18.0.2", sport: 8443, dst: "198.18.0.1", dport: 42374, time: t,
                                               in: events, localAddresses: ["198.18.0.2"]))
        // Too far in time is not the same RST.
        XCTAssertNil(WireJoin.tracedSender(src: "198.18.0.2", sport: 9, dst: "198.18.0.1", dport: 42374, time: t + 5, in: events))
        // Not from this host: nothing to say.
        XCTAssertFalse(WireJoin.builtByFirewall(src: "203.0.113.1", sport: 80, dst: "198.18.0.1", dport: 1, time: t,
                                                in: events, localAddresses: ["198.18.0.2"]))
        // A listener RST with an unknown peer matches on its port.
        let listener = ResetEvent(traceTime: 1, time: 50, direction: .sent, src: "0.0.0.0", sport: 8080, dst: "0.0.0.0", dport: 0,
                                  state: "TCP_LISTEN", reason: "TCP_FLAGS", listener: true)
        XCTAssertNotNil(WireJoin.tracedSender(src: "198.18.0.2", sport: 8080, dst: "198.18.0.9", dport: 5555, time: 50.001, in: [listener]))
    }
}
