import Foundation

/// A router with conntrack forgets an idle connection (nf_conntrack_tcp_timeout_established set low
/// inside the router namespace only); its forward rules reject what is not an established flow
/// with a TCP reset, so the first segment after the idle period is answered by the router.
struct IdleTimeout: Scenario {
    static let timeout = 2
    static let idle = 3.2
    var id: String { "idle-timeout" }
    var expectedCause: String? { "idle-timeout" }
    var summary: String { "idle \(Self.idle) s through a router whose conntrack forgets after \(Self.timeout) s" }
    var ends: Topology.Ends { Topology.ends(.routed, v6: false) }
    var counted: [String] { ["c", "r", "s"] }
    var provokeSeconds: Double { Self.idle + 3 }
    var side: String { "r" }
    /// Run where the timeout lives: on the router (a user suspecting the firewall runs it there).
    func target(_ lab: Lab) -> Target { Target(netns: lab.ns("r"), port: Topology.port, peer: ends.client) }

    func build(_ lab: Lab) throws {
        try Topology.routed(lab)
        try lab.sysctl("r", "net.netfilter.nf_conntrack_tcp_timeout_established", String(Self.timeout))
        try lab.nft("r", """
            table inet rstdlab {
              chain forward { type filter hook forward priority 0; policy accept;
                ct state established,related accept
                ct state invalid meta l4proto tcp counter reject with tcp reset
                ct state new tcp flags & (syn | ack | fin | rst) != syn counter reject with tcp reset
              }
            }
            """)
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let (_, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
        ev.note("server-conn", s)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        usleep(UInt32(Self.idle * 1_000_000))
        ev.step("client.send", cli.call("send", ["id": "C1", "data": "GET /after-idle\n"]))
        ev.step("client.recv", cli.call("recv", ["id": "C1", "timeout": 1]))
        let s = ev.note("server-conn") ?? ""
        ev.step("server.state-before-send", srv.call("state", ["id": s]))
        ev.step("server.send", srv.call("send", ["id": s, "data": "late push\n"]))
        ev.step("server.recv", srv.call("recv", ["id": s, "timeout": 1]))
        ev.note("router-rules", lab.exec("r", ["nft", "list", "table", "inet", "rstdlab"]).stdout)
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("client.send", "ok")
        x.app("client.recv", "ECONNRESET")
        x.that(ev.app("server.state-before-send")?.state == "ESTABLISHED", "the server should still be ESTABLISHED after the client's reset")
        x.app("server.recv", "ECONNRESET")
        x.counterUnchanged("r", "TcpOutRsts")
        x.counterUnchanged("s", "TcpOutRsts")
        let serverTTL = ev.frames.first { $0.isTCP && $0.src == ev.server && !$0.rst }?.ttl ?? 0
        x.rst("to the client forged by the router (TTL one above the server's)") {
            $0.src == ev.server && $0.dst == ev.client && $0.ttl == serverTTL + 1
        }
        x.that((ev.note("router-rules") ?? "").contains("counter packets 1") || (ev.note("router-rules") ?? "").contains("counter packets 2"),
               "the router's reject rules should have counted the rejected segments")
        x.noTrace(["tcp_send_reset", "src=" + tracePoint(ev.server, Topology.port)])
        return x.failures
    }
}
