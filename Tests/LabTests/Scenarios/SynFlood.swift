import Foundation

/// A SYN flood against a small listener: 200 SYNs from an address no host holds (198.18.1.77, so the
/// listener's SYN-ACKs wait for an ARP answer that never comes and no handshake completes), listen
/// backlog 8, tcp_max_syn_backlog 16 (both per namespace). The SYN queue holds 9 requests
/// (inet_csk_reqsk_queue_is_full: more than the backlog), then tcp_conn_request() calls
/// tcp_syn_flood_action(): with tcp_syncookies=1 every further SYN gets a cookie (SyncookiesSent,
/// TCPReqQFullDoCookies) and a real client connects at once (SyncookiesRecv); with 0 they are
/// dropped (TCPReqQFullDrop, ListenDrops) and the real client's connect times out after its SYN
/// retransmission. No RST either way: the honest outcome is no cause of resets, and syn-flood
/// reported as what explains the failed connects.
/// The IPv6 variant floods from fd00:5253:5444:1::77 (no neighbour answers for it); the same
/// net.ipv4.tcp_syncookies and tcp_max_syn_backlog govern IPv6 listeners (tcp_v6_conn_request()
/// → tcp_conn_request()), and the kernel log names the listener as `[%pI6c]:%u`.
struct SynFlood: Scenario, ShowsFindings {
    var cookies = true
    var v6 = false
    static let burst = 200

    var id: String { (cookies ? "syn-flood-cookies" : "syn-flood-drop") + (v6 ? "-v6" : "") }
    var floodSource: String { v6 ? "fd00:5253:5444:1::77" : "198.18.1.77" }
    var expectedCause: String? { nil }
    var findings: Set<String> { ["syn-flood"] }
    var confidentFindings: Set<String> { ["syn-flood"] }
    var summary: String {
        "\(Self.burst) SYNs\(v6 ? " (IPv6)" : "") from an unreachable address into listen(8), tcp_max_syn_backlog 16, tcp_syncookies=\(cookies ? 1 : 0): "
            + (cookies ? "cookies, the real client connects" : "SYNs dropped, the real client's connect times out") + "; no reset"
    }
    var ends: Topology.Ends { Topology.ends(.pair, v6: v6) }
    var provokeSeconds: Double { 3 }

    func build(_ lab: Lab) throws {
        try Topology.pair(lab, v6: v6)
        try lab.sysctl("s", "net.ipv4.tcp_syncookies", cookies ? "1" : "0")
        try lab.sysctl("s", "net.ipv4.tcp_max_syn_backlog", "16")
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        // On the server's own address, not the wildcard: the kernel log line then names this lab
        // ("Possible SYN flooding on port 198.18.1.2:8080"), not any listener on port 8080.
        _ = try Steps.listen(lab, in: "s", addr: ev.server, backlog: 8)
        try lab.startAgent("client", in: "c")
        ev.note("klog-before", String(Self.floodLines(ev.server).count))
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c"), srv = try lab.agent("server", in: "s")
        ev.step("flood", cli.call("syn_burst", ["src": floodSource, "dst": ev.server, "dport": Topology.port,
                                                 "count": Self.burst, "sport": 30000]))
        let c = ev.step("client.connect", cli.call("connect", ["addr": ev.server, "port": Topology.port, "timeout": 2]))
        if c.ok, let id = c.id {
            let s = ev.step("server.accept", srv.call("accept", ["id": "L1", "timeout": 1]))
            ev.step("client.send", cli.call("send", ["id": id, "data": "GET /\n"]))
            if let sid = s.id { ev.step("server.recv", srv.call("recv", ["id": sid, "timeout": 1])) }
        }
        ev.note("syn-recv", String(lab.ss("s", ["-tan", "state", "syn-recv"]).split(separator: "\n").count - 1))
        let lines = Self.floodLines(ev.server)
        let before = Int(ev.note("klog-before") ?? "") ?? 0
        ev.note("klog", lines.count > before ? lines[before...].joined(separator: " | ") : "(no new line)")
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("flood", "ok")
        let queued = Int(ev.note("syn-recv") ?? "") ?? -1
        x.that((1...17).contains(queued), "the SYN queue should hold at most 17 half-open requests (backlog 8), holds \(queued)")
        if cookies {
            x.app("client.connect", "ok")
            x.app("server.accept", "ok")
            x.app("server.recv", "data")
            x.counter("s", "TcpExtSyncookiesSent", atLeast: Self.burst * 3 / 4)
            x.counter("s", "TcpExtTCPReqQFullDoCookies", atLeast: Self.burst * 3 / 4)
            x.counter("s", "TcpExtSyncookiesRecv")
            x.counterUnchanged("s", "TcpExtTCPReqQFullDrop")
        } else {
            x.app("client.connect", "TIMEOUT")
            x.counter("s", "TcpExtTCPReqQFullDrop", atLeast: Self.burst * 3 / 4)
            x.counter("s", "TcpExtListenDrops", atLeast: Self.burst * 3 / 4)
            x.counterUnchanged("s", "TcpExtSyncookiesSent")
            x.counter("c", "TcpExtTCPSynRetrans")
        }
        // The kernel log is the host's: only a line naming this lab's listener counts, and
        // net_info_ratelimited() may swallow it when other labs log at the same time, so its
        // absence is noted, not failed; a line that says the other action fails.
        let log = ev.note("klog") ?? ""
        if log != "(no new line)" {
            x.that(log.contains(cookies ? "Sending cookies" : "Dropping request"), "the kernel log should say "
                   + (cookies ? "Sending cookies" : "Dropping request") + ", says: \(log)")
        }
        x.noRST()
        x.counterUnchanged("s", "TcpOutRsts")
        x.noTrace(["tcp_send_reset", "src=" + tracePoint(ev.server, Topology.port)])
        return x.failures
    }

    /// The host's kernel log lines about a SYN flood on this lab's listener (`[addr]:port` for IPv6).
    static func floodLines(_ server: String) -> [String] {
        let listener = server.contains(":") ? "[\(server)]" : server
        return Command.run(["dmesg"], timeout: 5).stdout.split(separator: "\n")
            .filter { $0.contains("Possible SYN flooding on port \(listener):\(Topology.port).") }.map(String.init)
    }
}
