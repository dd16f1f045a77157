import Foundation

/// The server closes a socket whose receive queue still holds data it never read: the kernel
/// aborts with a RST (RFC 2525) instead of a FIN.
struct UnreadData: Scenario {
    var v6 = false
    var id: String { v6 ? "unread-data-close-v6" : "unread-data-close" }
    var expectedCause: String? { "unread-data-close" }
    var summary: String { "server closes with unread request bytes in its receive queue\(v6 ? " (IPv6)" : "")" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: v6) }

    func build(_ lab: Lab) throws { try Topology.pair(lab, v6: v6) }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(v6))
        let cli = try lab.startAgent("client", in: "c")
        try Steps.expectOK(cli.call("connect", ["addr": ev.server, "port": Topology.port]), "connect")
        let a = srv.call("accept", ["id": l])
        try Steps.expectOK(a, "accept")
        let s = a.id ?? ""
        ev.note("server-conn", s)
        try Steps.expectOK(cli.call("send", ["id": "C1", "data": "GET /\n"]), "request")
        try Steps.expectOK(srv.call("recv", ["id": s]), "request read")
        try Steps.expectOK(srv.call("send", ["id": s, "data": "200 OK\n"]), "response")
        // A pipelined second request the server will never read.
        try Steps.expectOK(cli.call("send", ["id": "C1", "data": "GET /pipelined\n"]), "pipelined request")
        for _ in 0..<50 where (srv.call("inq", ["id": s]).bytes ?? 0) == 0 { usleep(10_000) }
        ev.note("unread-bytes", String(srv.call("inq", ["id": s]).bytes ?? 0))
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        ev.step("server.close", srv.call("close", ["id": ev.note("server-conn") ?? ""]))
        usleep(50_000)
        ev.step("client.recv", cli.call("recv", ["id": "C1"]))
        ev.step("client.recv-again", cli.call("recv", ["id": "C1"]))
        ev.step("client.send", cli.call("send", ["id": "C1", "data": "more\n"]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.that(Int(ev.note("unread-bytes") ?? "0") ?? 0 > 0, "the server should hold unread bytes before close")
        x.app("client.recv", "data")
        x.app("client.recv-again", "ECONNRESET")
        x.app("client.send", "EPIPE")
        x.counter("s", "TcpExtTCPAbortOnClose")
        x.counter("s", "TcpOutRsts")
        x.counter("c", "TcpEstabResets")
        x.rst("from the server's socket (RST/ACK, real window, timestamp option)") {
            $0.src == ev.server && $0.hasACK && $0.window > 0 && $0.tcpOptions > 0
        }
        x.trace([tracePoint(ev.server, Topology.port), "state=TCP_CLOSE", "reason=TCP_ABORT_ON_CLOSE"])
        return x.failures
    }
}
