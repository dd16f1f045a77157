import Foundation

/// Two hosts on one bridge claim the same IPv4 address: B announces it with a gratuitous ARP and
/// takes the client's traffic over; B has no socket for the client's connection and resets it.
struct DuplicateIP: Scenario {
    static let macA = "02:52:53:44:0a:0a", macB = "02:52:53:44:0a:0b"
    var id: String { "duplicate-ip" }
    var expectedCause: String? { "duplicate-ip" }
    var summary: String { "a second host takes over the server's IPv4 address with a gratuitous ARP" }
    var ends: Topology.Ends { Topology.ends(.bridged, v6: false) }
    var counted: [String] { ["c", "a", "b"] }
    var side: String { "a" }
    /// Run on the server whose address was taken over: its own duplicate-address probe finds B.
    func target(_ lab: Lab) -> Target { Target(netns: lab.ns("a"), port: Topology.port, peer: ends.client) }

    func build(_ lab: Lab) throws {
        try lab.addBridge("br")
        // The ARP update from B must not be ignored for being too soon after A's last answer.
        // (A new namespace has no neigh/default entry: set it on the device.)
        try Topology.plug(lab, "c", cidr: "198.18.10.1/24", mac: "02:52:53:44:0a:01")
        try lab.sysctl("c", "net.ipv4.neigh.eth0.locktime", "0")
        try Topology.plug(lab, "a", cidr: "198.18.10.5/24", mac: Self.macA)
        try Topology.plug(lab, "b", cidr: nil, mac: Self.macB)
        try lab.waitReachable("c", ends.server)
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "a", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        _ = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c")
        try lab.address("b", "eth0", "198.18.10.5/24")
        let garp = lab.exec("b", ["arping", "-q", "-U", "-c", "1", "-w", "1", "-i", "eth0", "-S", ev.server, ev.server], timeout: 5)
        ev.note("gratuitous-arp", "exit \(garp.status.map(String.init) ?? "timeout")")
        usleep(100_000)
        ev.note("client-neigh", lab.exec("c", ["ip", "neigh", "show", ev.server]).stdout)
        ev.step("send", cli.call("send", ["id": "C1", "data": "GET /after-takeover\n"]))
        ev.step("recv", cli.call("recv", ["id": "C1", "timeout": 2]))
        // Debian's arping is Thomas Habets's: `-d` exits 1 when two different MACs answer
        // (iputils' `arping -D` is the equivalent there).
        let dad = lab.exec("c", ["arping", "-d", "-q", "-c", "2", "-W", "0.2", "-w", "2", "-i", "eth0", ev.server], timeout: 6)
        ev.note("arping-d-exit", dad.status.map(String.init) ?? "timeout")
        let all = lab.exec("c", ["arping", "-c", "2", "-W", "0.2", "-w", "2", "-i", "eth0", ev.server], timeout: 6)
        ev.note("arping-macs", Set(all.stdout.split(separator: "\n").compactMap { l in
            l.split(separator: " ").first { $0.hasPrefix("02:52:53:44:0a:0") }.map(String.init) }).sorted().joined(separator: " "))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.that((ev.note("client-neigh") ?? "").contains(Self.macB), "the client's neighbour entry should point at B after its gratuitous ARP")
        x.app("send", "ok")
        x.app("recv", "ECONNRESET")
        x.counter("b", "TcpOutRsts")
        x.counter("c", "TcpEstabResets")
        x.counterUnchanged("a", "TcpOutRsts")
        x.rst("from B (no ACK), whose MAC differs from the flow's earlier packets") {
            $0.src == ev.server && $0.srcMAC == Self.macB && !$0.hasACK
        }
        x.that(ev.frames.contains { $0.isTCP && $0.src == ev.server && $0.srcMAC == Self.macA }, "earlier packets of the flow should come from A's MAC")
        x.that(ev.note("arping-d-exit") == "1", "arping -d should find two MACs for the address (exit 1), got \(ev.note("arping-d-exit") ?? "?")")
        x.that(ev.note("arping-macs") == "\(Self.macA) \(Self.macB)", "plain arping should show both MACs, got \(ev.note("arping-macs") ?? "?")")
        x.trace([tracePoint(ev.server, Topology.port), "reason=NO_SOCKET"])
        return x.failures
    }
}
