import Foundation

/// TIME-WAIT assassination: after a clean close (client first, so the client holds TIME_WAIT), an
/// old segment of the server is re-sent from the capture with a raw socket. The TIME_WAIT socket
/// ACKs it, the server (where only the listener is left) answers that ACK with a RST, and with
/// tcp_rfc1337=0 the RST kills the TIME_WAIT socket; with 1 it survives.
struct TimeWait: Scenario {
    var rfc1337 = false
    var id: String { rfc1337 ? "time-wait-rfc1337" : "time-wait-assassination" }
    var expectedCause: String? { rfc1337 ? nil : "time-wait-assassination" }
    var tolerated: Set<String> { rfc1337 ? ["time-wait-assassination"] : [] }
    var summary: String { "old duplicate into TIME-WAIT, tcp_rfc1337=\(rfc1337 ? 1 : 0)" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }
    var side: String { "c" }

    func build(_ lab: Lab) throws {
        try Topology.pair(lab)
        try lab.sysctl("c", "net.ipv4.tcp_rfc1337", rfc1337 ? "1" : "0")
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
        ev.note("client-port", String(Int(ev.app("setup.connect").flatMap { Self.port(in: $0.raw) } ?? 0)))
        try Steps.expectOK(cli.call("close", ["id": c]), "client close")
        try Steps.expectOK(srv.call("recv", ["id": s]), "server sees the FIN")
        // Timestamps tick in milliseconds: let the server's FIN carry a later TSval than the
        // response that will be replayed, so the replay is an old duplicate for PAWS too.
        usleep(30_000)
        try Steps.expectOK(srv.call("close", ["id": s]), "server close")
        usleep(100_000)
        ev.note("ss-before", lab.ss("c", ["-tan", "state", "time-wait"]))
    }

    /// The local port in a connect reply (`"local": [addr, port]`).
    static func port(in raw: String) -> Int? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any],
              let local = obj["local"] as? [Any], local.count == 2 else { return nil }
        return (local[1] as? NSNumber)?.intValue
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        guard let pcap = ev.pcap else { throw LabError("the replay needs the capture") }
        let r = lab.exec("s", [Command.resolve("python3"), lab.agentScript, "replay", "--pcap", pcap.path,
                               "--src", ev.server, "--sport", String(Topology.port),
                               "--dst", ev.client, "--dport", ev.note("client-port") ?? "0"], timeout: 5)
        ev.step("replay", AgentReply(json: r.stdout.split(separator: "\n").last.map(String.init) ?? "{}"))
        usleep(200_000)
        ev.note("ss-after", lab.ss("c", ["-tan", "state", "time-wait"]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        let port = ev.note("client-port") ?? "?"
        x.that((ev.note("ss-before") ?? "").contains(":\(port)"), "the client should hold TIME-WAIT before the replay")
        x.app("replay", "ok")
        x.counter("c", "TcpExtPAWSTimewait")
        x.counter("s", "TcpOutRsts")
        x.rst("from the server's listener to the TIME_WAIT socket (no ACK)") {
            $0.src == ev.server && $0.sport == Topology.port && String($0.dport) == port && !$0.hasACK
        }
        let still = (ev.note("ss-after") ?? "").contains(":\(port)")
        x.that(still == rfc1337, rfc1337 ? "with tcp_rfc1337=1 the TIME-WAIT entry should survive the RST"
                                         : "with tcp_rfc1337=0 the RST should remove the TIME-WAIT entry")
        x.trace(["src=0.0.0.0:\(Topology.port)", "state=TCP_LISTEN"])
        return x.failures
    }
}
