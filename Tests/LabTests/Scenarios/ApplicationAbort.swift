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
        _ = try ServerResetAtClose.open(lab, ev, v6: v6)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        try ServerResetAtClose.close(lab, ev) { srv, s in
            ev.step("server.send", srv.call("send", ["id": s, "data": "200 OK\n"]))
            ev.step("server.linger0", srv.call("linger0", ["id": s]))
        }
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        // SO_LINGER 0 reports TCP_STATE, not TCP_ABORT_ON_LINGER, and counts TCPAbortOnData.
        ServerResetAtClose.verify(&x, ev, counter: "TcpExtTCPAbortOnData", reason: "TCP_STATE")
        return x.failures
    }
}
