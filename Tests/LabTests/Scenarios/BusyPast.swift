import Foundation

/// A namespace with a busy past and a healthy present: before rstdoctor starts, connections were
/// aborted with SO_LINGER {1,0}, connects were refused, and an accept queue overflowed with
/// tcp_abort_on_overflow=1 (still set, as on an old host); then the faults are gone and normal
/// traffic runs on the focused port. Every counter since the namespace was created says "resets
/// happened", none of it is about now: no cause may reach 0.3 (evidence has a time).
struct BusyPast: Scenario {
    var id: String { "busy-past" }
    var expectedCause: String? { nil }
    var summary: String { "aborts, refusals and abort_on_overflow=1 overflows in the past; healthy traffic now" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }
    static let pastPort = 8081

    func build(_ lab: Lab) throws {
        try Topology.pair(lab)
        try lab.sysctl("s", "net.ipv4.tcp_abort_on_overflow", "1")
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        // Three connections aborted by the server with SO_LINGER {1,0}.
        for i in 1...3 {
            let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev, tag: "past-abort\(i)")
            _ = srv.call("linger0", ["id": s])
            _ = srv.call("close", ["id": s])
            _ = cli.call("recv", ["id": c])
            _ = cli.call("close", ["id": c])
        }
        // Three refused connects to a port nobody listens on.
        for i in 1...3 { ev.step("past-refused\(i)", cli.call("connect", ["addr": ev.server, "port": 9])) }
        // An accept-queue overflow answered with RST, on another port (as AcceptOverflow stages it).
        let lo = srv.call("listen", ["addr": "0.0.0.0", "port": Self.pastPort, "backlog": 1])
        guard lo.ok, let overflowListener = lo.id else { throw LabError("listen \(Self.pastPort) failed: \(lo)") }
        _ = cli.call("connect", ["addr": ev.server, "port": Self.pastPort])
        try lab.nft("c", """
            table inet rstdlab {
              chain out { type filter hook output priority 0; policy accept;
                tcp dport \(Self.pastPort) tcp flags == ack drop
              }
            }
            """)
        var ids: [String] = []
        for _ in 0..<2 {
            let r = cli.call("connect", ["addr": ev.server, "port": Self.pastPort])
            if let id = r.id { ids.append(id) }
        }
        try lab.nftDeleteTable("c", "rstdlab")
        for (n, id) in ids.enumerated() {
            _ = cli.call("send", ["id": id, "data": "GET /\n"])
            if n == 0 { usleep(50_000) }
        }
        if let last = ids.last { ev.step("past-overflow.recv", cli.call("recv", ["id": last, "timeout": 1.5])) }
        _ = srv.call("close", ["id": overflowListener])
        usleep(200_000)
        let past = lab.nstat("s")
        for k in ["TcpExtTCPAbortOnData", "TcpExtListenOverflows", "TcpExtEmbryonicRsts", "TcpOutRsts"] { ev.note("past \(k)", String(past[k] ?? 0)) }
        ev.note("server-listener", l)
    }

    /// The present: healthy requests on the focused port, closed with FINs.
    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        for i in 1...5 {
            let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: ev.note("server-listener") ?? "L1", to: ev.server, ev, tag: "now\(i)")
            ev.step("now\(i).close", cli.call("close", ["id": c]))
            ev.step("now\(i).eof", srv.call("recv", ["id": s]))
            _ = srv.call("close", ["id": s])
        }
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        // The past really happened…
        for k in ["TcpExtTCPAbortOnData", "TcpExtListenOverflows", "TcpExtEmbryonicRsts"] {
            x.that(Int(ev.note("past \(k)") ?? "0") ?? 0 >= 1, "the busy past did not count \(k): \(ev.notes)")
        }
        x.app("past-refused1", "ECONNREFUSED")
        // …and the present is healthy.
        // (The capture runs from before the past, so its RSTs are there: judge the present by counters.)
        x.app("now5.eof", "eof")
        x.counterUnchanged("s", "TcpOutRsts")
        x.counterUnchanged("c", "TcpOutRsts")
        x.counterUnchanged("c", "TcpEstabResets")
        return x.failures
    }
}

/// A container-like host: forwarding on (net.ipv4.ip_forward=1) and forwarding the client's
/// traffic to a service in another namespace, while nothing listens on the focused port on the host
/// itself. A client connecting to the host's own port is refused: no-listener, whatever the host
/// forwards for others.
struct ContainerHost: Scenario {
    var id: String { "container-host-no-listener" }
    var expectedCause: String? { "no-listener" }
    var summary: String { "ip_forward=1 host forwarding to a service namespace; a connect to its own port \(Topology.port) is refused" }
    var ends: Topology.Ends { Topology.Ends(client: "198.18.2.1", server: "198.18.2.254") }
    var side: String { "r" }
    var counted: [String] { ["c", "r"] }

    func build(_ lab: Lab) throws { try Topology.routed(lab) }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        // The "container": a service in s that the host forwards to.
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let svc = Topology.ends(.routed, v6: false).server
        let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: svc, ev, tag: "forwarded")
        _ = cli.call("close", ["id": c]); _ = srv.call("recv", ["id": s]); _ = srv.call("close", ["id": s])
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c")
        ev.step("connect", cli.call("connect", ["addr": ev.server, "port": Topology.port]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("forwarded.connect", "ok")
        x.app("connect", "ECONNREFUSED")
        x.counter("r", "TcpOutRsts")
        x.rst("from the host answering the SYN (RST/ACK, win 0)") { $0.src == ev.server && $0.sport == Topology.port && $0.hasACK && $0.window == 0 }
        return x.failures
    }
}
