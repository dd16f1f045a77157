import Foundation

/// An nft `reject with tcp reset` on the server itself or on a router in between, added while a
/// connection is open: the next segment is answered by netfilter, not by the TCP stack.
///
/// `clientView`: rstdoctor runs on the client only (peer = the server), as a user who has only the
/// client would; the client talks to the server inside the window before the rule appears, so the
/// capture holds the server's own packets to compare the RSTs' TTL with. From the client a router's
/// reject shows in the TTL (the router's initial TTL, one hop less decremented than the server's
/// packets); a reject on the server's own input chain has the server's TTL and the kernel's
/// stateless shape, and the client cannot tell it from a host with no socket (`indistinct`). That
/// variant stages only the refused connect: a RST mid-connection with the server's TTL is, from the
/// client, a firewall or a host that forgot the connection (half-open), a third reading on top.
struct FirewallReset: Scenario {
    var onRouter = false
    var v6 = false
    var clientView = false
    var id: String { "firewall-reset-" + (onRouter ? "router" : "server") + (v6 ? "-v6" : "") + (clientView ? "-client" : "") }
    var expectedCause: String? { "firewall-reset" }
    var indistinct: Set<String> { clientView && !onRouter && !v6 ? ["firewall-reset", "no-listener"] : [] }
    var summary: String {
        "nft reject with tcp reset on the \(onRouter ? "router" : "server") mid-connection\(v6 ? " (IPv6)" : "")\(clientView ? ", seen from the client" : "")"
    }
    var ends: Topology.Ends { Topology.ends(onRouter ? .routed : .pair, v6: v6) }
    var counted: [String] { onRouter ? ["c", "r", "s"] : ["c", "s"] }
    /// The server sees nothing of a router's reject: rstdoctor runs on the router (or the client) then.
    var side: String { clientView ? "c" : (onRouter ? "r" : "s") }
    /// The rule lives on another host than the client: nothing of it is left in the client's state.
    var visibleAfterTheFact: Bool { !clientView }
    /// On a router the rule lives on the router: run there (peer = the client), as a user suspecting it would.
    func target(_ lab: Lab) -> Target {
        Target(netns: lab.ns(side), port: Topology.port, peer: side == "c" ? ends.server : ends.client)
    }

    func build(_ lab: Lab) throws {
        if onRouter { try Topology.routed(lab, v6: v6) } else { try Topology.pair(lab, v6: v6) }
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(v6))
        let cli = try lab.startAgent("client", in: "c")
        let (_, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
        ev.note("server-conn", s)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c")
        if clientView {
            // Normal traffic first, inside the window: the server's packets as the client receives them.
            let srv = try lab.agent("server", in: "s"), s = ev.note("server-conn") ?? ""
            try Steps.expectOK(cli.call("send", ["id": "C1", "data": "GET /before\n"]), "request before the rule")
            try Steps.expectOK(srv.call("recv", ["id": s]), "request read")
            try Steps.expectOK(srv.call("send", ["id": s, "data": "200 OK\n"]), "response")
            try Steps.expectOK(cli.call("recv", ["id": "C1"]), "response read")
        }
        let hook = onRouter ? "forward" : "input"
        try lab.nft(onRouter ? "r" : "s", """
            table inet rstdlab {
              chain \(hook) { type filter hook \(hook) priority 0; policy accept;
                tcp dport \(Topology.port) reject with tcp reset
              }
            }
            """)
        if midConnection {
            ev.step("send", cli.call("send", ["id": "C1", "data": "GET /blocked\n"]))
            ev.step("recv", cli.call("recv", ["id": "C1", "timeout": 2]))
        }
        ev.step("connect-again", cli.call("connect", ["addr": ev.server, "port": Topology.port]))
        ev.note("server-sockets", lab.ss("s", ["-tn", "state", "established"]))
    }

    /// Whether the staging resets the open connection too (all but the server's rule seen from the client).
    var midConnection: Bool { !(clientView && !onRouter) }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        if midConnection {
            x.app("send", "ok")
            x.app("recv", "ECONNRESET")
        }
        x.app("connect-again", "ECONNREFUSED")
        // The stack never saw the rejected segments: no TCP counter of the server moved.
        x.counterUnchanged("s", "TcpOutRsts")
        // (Seen from the client, the exchange before the rule is inside the counted interval.)
        if !clientView { x.counterUnchanged("s", "TcpInSegs") }
        x.that((ev.note("server-sockets") ?? "").contains(ev.client), "the server's socket should still be ESTABLISHED")
        let serverTTL = ev.frames.first { $0.isTCP && $0.src == ev.server && !$0.rst }?.ttl ?? 0
        if onRouter {
            x.counter("r", v6 ? "Ip6OutForwDatagrams" : "IpForwDatagrams")
            x.rst("forged by the router (one hop closer than the server's packets)") {
                $0.src == ev.server && $0.ttl == serverTTL + 1
            }
        } else {
            x.rst("from the server's firewall (same TTL as the server's packets)") { $0.src == ev.server && $0.ttl == serverTTL }
        }
        if v6 { x.rst("with IPv6 flow label 0 (the stack's own RSTs carry one)") { $0.src == ev.server && $0.flowLabel == 0 } }
        x.noTrace(["tcp_send_reset", "src=" + tracePoint(ev.server, Topology.port)])
        return x.failures
    }
}
