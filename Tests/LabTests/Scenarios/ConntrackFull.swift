import Foundation

/// A full conntrack table, stood in for in a router namespace: `nf_conntrack_max` is global (writable
/// only in the initial namespace), so a lab namespace cannot fill the real table without changing
/// the host. When the table is full, nf_conntrack drops the packet that would create a new entry
/// ("nf_conntrack: table full, dropping packet"): the new connection's SYN is dropped, never answered.
/// An nftables `ct count over 1` limit on new connections through the router drops a second
/// connection's SYN the same way while the first connection goes on. What the client sees is the
/// point: SYN retransmissions and a connect that times out, no RST at all — so the honest outcome
/// is no reset cause: no cause of resets reaches 0.3, and conntrack-table-full (makes_resets: false)
/// may appear only among the `findings` (it explains failed connections, not resets; the real
/// table's counters and log line are tested on captured outputs, Fixtures/conntrack-stat).
struct ConntrackFull: Scenario {
    var id: String { "conntrack-table-full-standin" }
    var expectedCause: String? { nil }
    var findings: Set<String> { ["conntrack-table-full"] }
    var summary: String { "router refuses new connections like a full conntrack table (nft ct count): timeouts, no reset" }
    var ends: Topology.Ends { Topology.ends(.routed, v6: false) }
    var counted: [String] { ["c", "r", "s"] }
    var side: String { "c" }
    var provokeSeconds: Double { 4 }

    func build(_ lab: Lab) throws {
        try Topology.routed(lab)
        try lab.nft("r", """
            table inet rstdfull {
              chain forward { type filter hook forward priority filter; policy accept;
                tcp dport \(Topology.port) ct state new ct count over 1 counter drop
              }
            }
            """)
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let (c, _) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
        ev.note("first-conn", c)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c")
        ev.step("second.connect", cli.call("connect", ["addr": ev.server, "port": Topology.port, "timeout": 2.5]))
        ev.step("first.state", cli.call("state", ["id": ev.note("first-conn") ?? "C1"]))
        ev.note("router-rules", lab.exec("r", ["nft", "list", "chain", "inet", "rstdfull", "forward"]).stdout)
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("second.connect", "TIMEOUT")
        x.that(ev.app("first.state")?.state == "ESTABLISHED", "the first connection should go on (ESTABLISHED)")
        let rules = ev.note("router-rules") ?? ""
        x.that(rules.contains("counter packets") && !rules.contains("counter packets 0 "), "the ct count rule should have dropped the SYNs")
        x.counter("c", "TcpExtTCPSynRetrans")
        x.noRST()
        return x.failures
    }
}
