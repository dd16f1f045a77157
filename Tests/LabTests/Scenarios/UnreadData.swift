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
        let (srv, cli, s) = try ServerResetAtClose.open(lab, ev, v6: v6)
        try Steps.expectOK(srv.call("send", ["id": s, "data": "200 OK\n"]), "response")
        // A pipelined second request the server will never read.
        try Steps.expectOK(cli.call("send", ["id": "C1", "data": "GET /pipelined\n"]), "pipelined request")
        for _ in 0..<50 where (srv.call("inq", ["id": s]).bytes ?? 0) == 0 { usleep(10_000) }
        ev.note("unread-bytes", String(srv.call("inq", ["id": s]).bytes ?? 0))
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        try ServerResetAtClose.close(lab, ev)
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.that(Int(ev.note("unread-bytes") ?? "0") ?? 0 > 0, "the server should hold unread bytes before close")
        ServerResetAtClose.verify(&x, ev, counter: "TcpExtTCPAbortOnClose", reason: "TCP_ABORT_ON_CLOSE")
        return x.failures
    }
}
