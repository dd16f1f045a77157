import Foundation

/// The server "reboots" under an idle connection: its namespace is deleted without a packet leaving
/// and re-created with the same IP and MAC. The client's next segment meets a host that has never
/// heard of the connection: with the service down (no socket) or back up (a listener).
struct HalfOpen: Scenario {
    static let serverMAC = "02:52:53:44:0a:05"
    var serviceBack = false
    var id: String { serviceBack ? "half-open-after-restart-up" : "half-open-after-restart-down" }
    var expectedCause: String? { "half-open-after-restart" }
    var summary: String { "server rebooted under an open connection, service \(serviceBack ? "back up" : "still down")" }
    var ends: Topology.Ends { Topology.ends(.bridged, v6: false) }
    /// The client's side: the server namespace is re-created during the fault.
    var side: String { "c" }
    /// After the RST the client's socket is gone and the server never knew: nothing is left to see.
    var visibleAfterTheFact: Bool { false }

    func build(_ lab: Lab) throws {
        try Topology.bridged(lab, hosts: [("c", "198.18.10.1/24", "02:52:53:44:0a:01"),
                                          ("s", "198.18.10.5/24", Self.serverMAC)])
        try lab.waitReachable("c", ends.server)
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let (_, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
        ev.note("server-conn", s)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        // The reboot: the server forgets the connection silently (no FIN, no RST), then the whole
        // host disappears and comes back with the same addresses and an empty neighbour table.
        try Steps.expectOK(srv.call("repair_close", ["id": ev.note("server-conn") ?? ""]), "silent close on the server")
        lab.deleteNamespace("s")
        try Topology.plug(lab, "s", cidr: "198.18.10.5/24", mac: Self.serverMAC)
        if serviceBack { _ = try Steps.listen(lab, in: "s", addr: Topology.any(false)) }
        ev.step("send", cli.call("send", ["id": "C1", "data": "GET /after-reboot\n"]))
        ev.step("recv", cli.call("recv", ["id": "C1", "timeout": 2]))
        ev.step("send-again", cli.call("send", ["id": "C1", "data": "again\n"]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("send", "ok")
        x.app("recv", "ECONNRESET")
        x.app("send-again", "EPIPE")
        x.counter("s", "TcpOutRsts")
        x.counter("c", "TcpEstabResets")
        x.rst("from the rebooted server (no ACK)") { $0.src == ev.server && $0.sport == Topology.port && !$0.hasACK }
        let firstRST = ev.resets.first?.number ?? 0
        x.that(ev.frames.contains { $0.isARP && $0.arpOp == 1 && $0.srcMAC == Self.serverMAC && $0.number < firstRST },
               "the rebooted server should ARP for the client before its RST")
        x.trace(serviceBack ? ["src=0.0.0.0:\(Topology.port)", "state=TCP_LISTEN", "reason=TCP_FLAGS"]
                            : [tracePoint(ev.server, Topology.port), "reason=NO_SOCKET"])
        return x.failures
    }
}
