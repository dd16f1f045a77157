import Foundation

/// A SYN to a port where nothing listens: the server's kernel answers with a stateless RST/ACK.
struct NoListener: Scenario {
    var v6 = false
    var id: String { v6 ? "no-listener-v6" : "no-listener" }
    var expectedCause: String? { "no-listener" }
    var summary: String { "connect to \(Topology.port) on a server where nothing listens" }

    var ends: Topology.Ends { Topology.ends(.pair, v6: v6) }

    func build(_ lab: Lab) throws { try Topology.pair(lab, v6: v6) }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        try lab.startAgent("client", in: "c")
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let c = try lab.agent("client", in: "c")
        ev.step("connect", c.call("connect", ["addr": ev.server, "port": Topology.port]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("connect", "ECONNREFUSED")
        x.counter("s", "TcpOutRsts")
        x.counter("c", "TcpAttemptFails")
        x.rst("from the server answering the SYN (RST/ACK, win 0, no options)") {
            $0.src == ev.server && $0.sport == Topology.port && $0.hasACK && $0.window == 0 && $0.tcpOptions == 0
        }
        x.trace([tracePoint(ev.server, Topology.port), "reason=NO_SOCKET"])
        return x.failures
    }
}
