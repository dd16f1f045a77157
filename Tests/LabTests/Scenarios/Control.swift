import Foundation

/// A healthy exchange closed gracefully: no reset anywhere. Guards against rules that fire on nothing.
struct Control: Scenario {
    var id: String { "control" }
    var expectedCause: String? { nil }
    var summary: String { "connect, request, response, FIN both ways" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }

    func build(_ lab: Lab) throws { try Topology.pair(lab) }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        _ = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        try lab.startAgent("client", in: "c")
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: "L1", to: ev.server, ev, tag: "first")
        ev.step("client.close", cli.call("close", ["id": c]))
        ev.step("server.eof", srv.call("recv", ["id": s]))
        ev.step("server.close", srv.call("close", ["id": s]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("first.connect", "ok")
        x.app("server.eof", "eof")
        x.noRST()
        for ns in ["c", "s"] {
            x.counterUnchanged(ns, "TcpOutRsts")
            x.counterUnchanged(ns, "TcpEstabResets")
        }
        x.counter("s", "TcpPassiveOpens")
        return x.failures
    }
}
