import Foundation

/// The server application sets SO_LINGER {1, 0} and closes: the socket is aborted with a RST
/// instead of a FIN, right after the response.
struct ApplicationAbort: Scenario {
    var v6 = false
    var id: String { v6 ? "application-abort-v6" : "application-abort" }
    var expectedCause: String? { "application-abort" }
    var summary: String { "server responds, then close() with SO_LINGER {1,0}\(v6 ? " (IPv6)" : "")" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: v6) }

    func build(_ lab: Lab) throws { try Topology.pair(lab, v6: v6) }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(v6))
        let cli = try lab.startAgent("client", in: "c")
        try Steps.expectOK(cli.call("connect", ["addr": ev.server, "port": Topology.port]), "connect")
        let a = srv.call("accept", ["id": l])
        try Steps.expectOK(a, "accept")
        ev.note("server-conn", a.id ?? "")
        try Steps.expectOK(cli.call("send", ["id": "C1", "data": "GET /\n"]), "request")
        try Steps.expectOK(srv.call("recv", ["id": a.id ?? ""]), "request read")
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        let s = ev.note("server-conn") ?? ""
        ev.step("server.send", srv.call("send", ["id": s, "data": "200 OK\n"]))
        ev.step("server.linger0", srv.call("linger0", ["id": s]))
        ev.step("server.close", srv.call("close", ["id": s]))
        usleep(50_000)
        ev.step("client.recv", cli.call("recv", ["id": "C1"]))
        ev.step("client.recv-again", cli.call("recv", ["id": "C1"]))
        ev.step("client.send", cli.call("send", ["id": "C1", "data": "more\n"]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("client.recv", "data")
        x.app("client.recv-again", "ECONNRESET")
        x.app("client.send", "EPIPE")
        x.counter("s", "TcpExtTCPAbortOnData")
        x.counter("s", "TcpOutRsts")
        x.counter("c", "TcpEstabResets")
        x.rst("from the server's socket (RST/ACK, real window, timestamp option)") {
            $0.src == ev.server && $0.hasACK && $0.window > 0 && $0.tcpOptions > 0
        }
        x.trace([tracePoint(ev.server, Topology.port), "state=TCP_CLOSE", "reason=TCP_STATE"])
        return x.failures
    }
}
