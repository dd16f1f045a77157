import Foundation

/// `listen(backlog=1)` and no `accept()`; two handshakes complete together through their first data
/// segment (the client's bare final ACKs are dropped for a moment), so the second overflows the
/// accept queue. With tcp_abort_on_overflow=1 the server answers with a RST; with 0 it drops silently.
struct AcceptOverflow: Scenario {
    var abort = true
    var id: String { abort ? "accept-queue-overflow" : "accept-queue-overflow-abort0" }
    var expectedCause: String? { abort ? "accept-queue-overflow" : nil }
    var tolerated: Set<String> { abort ? [] : ["accept-queue-overflow"] }
    var summary: String { "accept queue overflow with tcp_abort_on_overflow=\(abort ? 1 : 0)" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }

    func build(_ lab: Lab) throws {
        try Topology.pair(lab)
        try lab.sysctl("s", "net.ipv4.tcp_abort_on_overflow", abort ? "1" : "0")
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        _ = try Steps.listen(lab, in: "s", addr: Topology.any(false), backlog: 1)
        let cli = try lab.startAgent("client", in: "c")
        try Steps.expectOK(ev.step("c1.connect", cli.call("connect", ["addr": ev.server, "port": Topology.port])), "c1")
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c")
        // Everything from here must happen within the server's first SYN-ACK retransmission
        // (1 s), or that retransmission completes c2's handshake by itself: so it is all in provoke,
        // after any observer's start.
        // Only the bare final ACK of the handshake (flags exactly ACK) is dropped: data segments carry PSH.
        try lab.nft("c", """
            table inet rstdlab {
              chain out { type filter hook output priority 0; policy accept;
                tcp dport \(Topology.port) tcp flags == ack drop
              }
            }
            """)
        for c in ["c2", "c3"] {
            try Steps.expectOK(ev.step("\(c).connect", cli.call("connect", ["addr": ev.server, "port": Topology.port])), c)
        }
        try lab.nftDeleteTable("c", "rstdlab")
        ev.note("ss-before", lab.ss("s", ["-tan"]))
        // c1 is C1, c2 is C2, c3 is C3 (agent ids follow creation order).
        ev.step("c2.send", cli.call("send", ["id": "C2", "data": "GET /2\n"]))
        usleep(50_000)
        ev.step("c3.send", cli.call("send", ["id": "C3", "data": "GET /3\n"]))
        ev.step("c3.recv", cli.call("recv", ["id": "C3", "timeout": 1.5]))
        ev.step("c3.state", cli.call("state", ["id": "C3"]))
        ev.note("c3-state", ev.app("c3.state")?.state ?? "?")
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("c3.send", "ok")
        x.counter("s", "TcpExtListenOverflows")
        x.counter("s", "TcpExtListenDrops")
        if abort {
            x.app("c3.recv", "ECONNRESET")
            x.counter("s", "TcpExtEmbryonicRsts")
            x.counter("s", "TcpOutRsts")
            x.counter("c", "TcpEstabResets")
            x.rst("from the server (no ACK, seq = the client's ack)") {
                $0.src == ev.server && $0.sport == Topology.port && !$0.hasACK && $0.window == 0
            }
            x.trace(["src=0.0.0.0:\(Topology.port)", "state=TCP_LISTEN", "reason=INVALID_SYN"])
        } else {
            x.app("c3.recv", "TIMEOUT")
            x.that(ev.note("c3-state") == "ESTABLISHED", "c3 should stay ESTABLISHED, is \(ev.note("c3-state") ?? "?")")
            x.noRST()
            x.counterUnchanged("s", "TcpOutRsts")
        }
        return x.failures
    }
}
