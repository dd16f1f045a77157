import Foundation

/// A client forgets its connection without a packet (TCP_REPAIR close, like a crash or a NAT reusing
/// the port) and connects again from the same port: the server's live socket answers the new SYN
/// with a challenge ACK, the client answers that with a RST, and retries its SYN about 10 ms later.
struct SynConflict: Scenario {
    static let sport = 40002
    var id: String { "syn-conflict" }
    var expectedCause: String? { "syn-conflict" }
    var summary: String { "reconnect from the same source port while the server still holds the old connection" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }

    func build(_ lab: Lab) throws { try Topology.pair(lab) }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, sport: Self.sport, ev)
        ev.note("old-server-conn", s)
        try Steps.expectOK(cli.call("repair_close", ["id": c]), "silent close of the client socket")
        ev.note("ss-server-before", lab.ss("s", ["-tn", "state", "established"]))
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        ev.step("reconnect", cli.call("connect", ["addr": ev.server, "port": Topology.port, "sport": Self.sport]))
        ev.step("server.accept-new", srv.call("accept", ["id": "L1", "timeout": 2]))
        ev.step("server.recv-old", srv.call("recv", ["id": ev.note("old-server-conn") ?? "", "timeout": 1]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("reconnect", "ok")
        x.that((ev.app("reconnect")?.elapsedMs ?? 0) >= 3, "the reconnect should wait for the SYN retransmission (~10 ms), took \(ev.app("reconnect")?.elapsedMs ?? 0) ms")
        x.app("server.accept-new", "ok")
        x.app("server.recv-old", "ECONNRESET")
        x.counter("s", "TcpExtTCPChallengeACK")
        x.counter("s", "TcpExtTCPSYNChallenge")
        x.counter("s", "TcpEstabResets")
        x.counter("c", "TcpOutRsts")
        x.counter("c", "TcpExtTCPSynRetrans")
        x.rst("from the client (no ACK) answering the challenge ACK") {
            $0.src == ev.client && $0.sport == Self.sport && !$0.hasACK && $0.window == 0
        }
        x.trace(["state=TCP_SYN_SENT", "reason=TCP_INVALID_ACK_SEQUENCE"])
        return x.failures
    }
}
