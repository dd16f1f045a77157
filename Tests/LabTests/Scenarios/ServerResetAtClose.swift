import Foundation

/// What application-abort and unread-data-close share: one request on a fresh connection, then the
/// server's live socket resets the connection at close() instead of sending a FIN. The client reads
/// what was sent before the close, then gets ECONNRESET, then EPIPE (RST-SIGNALS.md rows 7 and 9);
/// the two differ only in what makes close() abort, hence in the counter and the trace reason.
enum ServerResetAtClose {
    /// Listens, connects, accepts and reads the client's request (client connection `C1`); the
    /// server's connection id is noted as `server-conn` and returned.
    static func open(_ lab: Lab, _ ev: Evidence, v6: Bool) throws -> (server: Agent, client: Agent, conn: String) {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(v6))
        let cli = try lab.startAgent("client", in: "c")
        try Steps.expectOK(cli.call("connect", ["addr": ev.server, "port": Topology.port]), "connect")
        let a = srv.call("accept", ["id": l])
        try Steps.expectOK(a, "accept")
        let s = a.id ?? ""
        ev.note("server-conn", s)
        try Steps.expectOK(cli.call("send", ["id": "C1", "data": "GET /\n"]), "request")
        try Steps.expectOK(srv.call("recv", ["id": s]), "request read")
        return (srv, cli, s)
    }

    /// Runs `beforeClose` on the server's connection, closes it, then records what the client sees.
    static func close(_ lab: Lab, _ ev: Evidence, beforeClose: (Agent, String) -> Void = { _, _ in }) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        let s = ev.note("server-conn") ?? ""
        beforeClose(srv, s)
        ev.step("server.close", srv.call("close", ["id": s]))
        usleep(50_000)
        ev.step("client.recv", cli.call("recv", ["id": "C1"]))
        ev.step("client.recv-again", cli.call("recv", ["id": "C1"]))
        ev.step("client.send", cli.call("send", ["id": "C1", "data": "more\n"]))
    }

    /// The checks both share, with the server's counter and the tcp_send_reset reason that tell
    /// the two apart.
    static func verify(_ x: inout Checks, _ ev: Evidence, counter: String, reason: String) {
        x.app("client.recv", "data")
        x.app("client.recv-again", "ECONNRESET")
        x.app("client.send", "EPIPE")
        x.counter("s", counter)
        x.counter("s", "TcpOutRsts")
        x.counter("c", "TcpEstabResets")
        x.rst("from the server's socket (RST/ACK, real window, timestamp option)") {
            $0.src == ev.server && $0.hasACK && $0.window > 0 && $0.tcpOptions > 0
        }
        x.trace([tracePoint(ev.server, Topology.port), "state=TCP_CLOSE", "reason=\(reason)"])
    }
}
