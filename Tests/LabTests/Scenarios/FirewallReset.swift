import Foundation

/// An nft `reject with tcp reset` on the server itself or on a router in between, added while a
/// connection is open: the next segment is answered by netfilter, not by the TCP stack.
struct FirewallReset: Scenario {
    var onRouter = false
    var v6 = false
    var id: String { "firewall-reset-" + (onRouter ? "router" : "server") + (v6 ? "-v6" : "") }
    var expectedCause: String? { "firewall-reset" }
    var summary: String { "nft reject with tcp reset on the \(onRouter ? "router" : "server") mid-connection\(v6 ? " (IPv6)" : "")" }
    var ends: Topology.Ends { Topology.ends(onRouter ? .routed : .pair, v6: v6) }
    var counted: [String] { onRouter ? ["c", "r", "s"] : ["c", "s"] }
    /// The server sees nothing of a router's reject: rstdoctor runs on the client then.
    var side: String { onRouter ? "r" : "s" }
    /// On a router the rule lives on the router: run there (peer = the client), as a user suspecting it would.
    func target(_ lab: Lab) -> Target {
        Target(netns: lab.ns(side), port: Topology.port, peer: side == "s" || onRouter ? ends.client : ends.server)
    }

    func build(_ lab: Lab) throws {
        if onRouter { try Topology.routed(lab, v6: v6) } else { try Topology.pair(lab, v6: v6) }
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(v6))
        let cli = try lab.startAgent("client", in: "c")
        _ = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c")
        let hook = onRouter ? "forward" : "input"
        try lab.nft(onRouter ? "r" : "s", """
            table inet rstdlab {
              chain \(hook) { type filter hook \(hook) priority 0; policy accept;
                tcp dport \(Topology.port) reject with tcp reset
              }
            }
            """)
        ev.step("send", cli.call("send", ["id": "C1", "data": "GET /blocked\n"]))
        ev.step("recv", cli.call("recv", ["id": "C1", "timeout": 2]))
        ev.step("connect-again", cli.call("connect", ["addr": ev.server, "port": Topology.port]))
        ev.note("server-sockets", lab.ss("s", ["-tn", "state", "established"]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("send", "ok")
        x.app("recv", "ECONNRESET")
        x.app("connect-again", "ECONNREFUSED")
        // The stack never saw the rejected segments: no TCP counter of the server moved.
        x.counterUnchanged("s", "TcpOutRsts")
        x.counterUnchanged("s", "TcpInSegs")
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
