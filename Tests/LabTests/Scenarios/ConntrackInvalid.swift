import Foundation

/// The Kubernetes Service case: a node (router namespace `r`) DNATs a service address to a backend
/// (`s`), with `nf_conntrack_tcp_be_liberal=0` and no `ct state invalid drop` rule. The backend's
/// stack sends a segment conntrack marks INVALID (data far beyond the client's window: "SEQ is over
/// upper bound (over the window of the receiver)"); an invalid packet has no conntrack entry, so it
/// is not un-DNATed and reaches the client from the backend's real address. The client has no
/// socket for that address and answers with a stateless RST (seq = the segment's ack = the
/// backend's rcv_nxt), which the backend accepts: the backend's connection dies while the client's
/// is still ESTABLISHED, and the client's next request is reset by the backend's listener.
///
/// Below-window segments are no longer INVALID since Linux 6.1 (conntrack ignores them), and an ACK
/// for data conntrack never saw is INVALID but harmless here: the client's RST then carries that
/// bogus ack as its seq, outside the backend's window, and the backend drops it (verified, see the
/// README). The segment is built by hand (raw socket in the backend namespace) from the backend
/// socket's own sequence numbers (TCP_REPAIR read); its source is the backend, as a real late
/// retransmission's would be.
struct ConntrackInvalid: Scenario {
    enum Fix: String, Sendable { case none, liberal, dropInvalid = "dropped" }
    var v6 = false
    var fix: Fix = .none
    /// Where rstdoctor runs: "r" (the node doing DNAT), "s" (the backend) or "c" (the client).
    var place = "r"

    static let vip4 = "198.18.4.10", vip6 = "fd00:5253:5444:4::10"
    var vip: String { v6 ? Self.vip6 : Self.vip4 }
    var backend: String { Topology.ends(.routed, v6: v6).server }

    var id: String {
        "conntrack-invalid-dnat" + (fix == .none ? "" : "-\(fix.rawValue)") + (place == "r" ? "" : "-from-\(place == "s" ? "backend" : "client")")
            + (v6 ? "-v6" : "")
    }
    var expectedCause: String? { fix == .none ? "conntrack-invalid" : nil }
    var tolerated: Set<String> { fix == .none ? [] : ["conntrack-invalid"] }
    var summary: String {
        let what = "segment beyond the client's window from a DNAT backend, untranslated, answered by the client's RST"
        switch fix {
        case .none: return what + (v6 ? " (IPv6)" : "") + (place == "r" ? "" : ", diagnosed on the \(place == "s" ? "backend" : "client")")
        case .liberal: return "the same with nf_conntrack_tcp_be_liberal=1: no reset"
        case .dropInvalid: return "the same with `ct state invalid drop` (kube-proxy's rule): no reset"
        }
    }
    /// The client talks to the service address; the backend's real address appears only in the fault.
    var ends: Topology.Ends { Topology.Ends(client: Topology.ends(.routed, v6: v6).client, server: vip) }
    var counted: [String] { ["c", "r", "s"] }
    /// Saved captures of every place: the backend's veth, and the node's `any` (cooked: which way
    /// each packet went, so forwarded copies are seen as such).
    var extraCaptures: [(ns: String, dev: String, name: String)] {
        place == "r" && fix == .none ? [("s", "eth0", "backend"), ("r", "any", "node")] : []
    }
    var side: String { place }
    /// Nothing stays in host state: the backend's socket is gone, the client's still looks fine.
    var visibleAfterTheFact: Bool { place == "r" }
    func target(_ lab: Lab) -> Target {
        Target(netns: lab.ns(place), port: Topology.port, peer: place == "c" ? vip : ends.client)
    }

    func build(_ lab: Lab) throws {
        try Topology.routed(lab, v6: v6)
        try lab.route("c", v6 ? "fd00:5253:5444:4::/64" : "198.18.4.0/24", via: v6 ? "fd00:5253:5444:2::fe" : "198.18.2.254")
        let family = v6 ? "ip6" : "ip"
        try lab.nft("r", """
            table inet rstdsvc {
              chain prerouting { type nat hook prerouting priority dstnat; policy accept;
                \(family) daddr \(vip) tcp dport \(Topology.port) counter dnat \(family) to \(v6 ? "[\(backend)]" : backend):\(Topology.port)
              }
              chain forward { type filter hook forward priority filter; policy accept;
                \(fix == .dropInvalid ? "ct state invalid counter drop" : "ct state invalid counter")
              }
            }
            """)
        try lab.sysctl("r", "net.netfilter.nf_conntrack_tcp_be_liberal", fix == .liberal ? "1" : "0")
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(v6))
        let cli = try lab.startAgent("client", in: "c")
        let (_, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: vip, ev)
        ev.note("server-conn", s)
        ev.note("ct-before", Self.conntrackStat(lab))
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let srv = try lab.agent("server", in: "s"), cli = try lab.agent("client", in: "c")
        let s = ev.note("server-conn") ?? ""
        let q = ev.step("server.seqs", srv.call("seqs", ["id": s]))
        guard q.ok, let obj = Self.object(q.raw), let snd = obj["snd_nxt"] as? Int, let rcv = obj["rcv_nxt"] as? Int,
              let peer = obj["peer"] as? [Any], let cport = peer.last as? Int else { throw LabError("seqs failed: \(q)") }
        ev.note("client-port", String(cport))
        // 20 MB beyond anything the client advertised: past conntrack's tolerance for senders that
        // overshoot the receive window (up to the receiver's largest window).
        ev.step("server.inject", srv.call("inject", ["src": backend, "dst": ends.client, "sport": Topology.port, "dport": cport,
                                                     "seq": snd + 20_000_000, "ack": rcv, "data": "late retransmission\n"]))
        usleep(200_000)
        ev.step("server.state", srv.call("state", ["id": s]))
        ev.step("server.recv", srv.call("recv", ["id": s, "timeout": 0.5]))
        ev.step("client.state", cli.call("state", ["id": "C1"]))
        ev.step("client.send", cli.call("send", ["id": "C1", "data": "GET /again\n"]))
        ev.step("client.recv", cli.call("recv", ["id": "C1", "timeout": 1]))
        ev.note("ct-after", Self.conntrackStat(lab))
        ev.note("router-rules", lab.exec("r", ["nft", "list", "chain", "inet", "rstdsvc", "forward"]).stdout)
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("server.inject", "ok")
        x.app("client.state", "ok")
        x.that(ev.app("client.state")?.state == "ESTABLISHED", "the client's connection to the service should still be ESTABLISHED")
        let invalid = Self.invalid(ev.note("ct-after")) - Self.invalid(ev.note("ct-before"))
        let rules = ev.note("router-rules") ?? ""
        let cport = Int(ev.note("client-port") ?? "") ?? -1
        // The untranslated segment on the client's wire: from the backend's real address.
        let leaked = ev.frames.contains { $0.isTCP && $0.src == backend && $0.dst == ev.client && $0.dport == cport && !$0.rst }
        switch fix {
        case .none:
            x.that(invalid >= 1, "conntrack's invalid counter (/proc/net/stat/nf_conntrack in r) should have moved, moved by \(invalid)")
            x.that(leaked, "the invalid segment should reach the client untranslated (from \(backend))")
            x.rst("from the client to the backend's real address (no socket for it)") {
                $0.src == ev.client && $0.dst == backend && $0.sport == cport && !$0.hasACK
            }
            x.that(ev.app("server.state")?.state == "CLOSE", "the backend's connection should be reset (CLOSE), is \(ev.app("server.state")?.state ?? "?")")
            x.app("server.recv", "ECONNRESET")
            x.app("client.recv", "ECONNRESET")
            x.counter("c", "TcpOutRsts")
            x.counter("s", "TcpEstabResets")
            x.counter("c", "TcpEstabResets")
            x.trace(["tcp_send_reset", "src=" + tracePoint(ev.client, cport), "dest=" + tracePoint(backend, Topology.port), "NO_SOCKET"])
        case .liberal:
            x.that(invalid == 0, "with be_liberal=1 conntrack should accept the segment (invalid moved by \(invalid))")
            x.that(!leaked, "the segment should be translated (from \(ev.server)), not leak from \(backend)")
            x.that(ev.app("server.state")?.state == "ESTABLISHED", "the backend's connection should survive")
            x.app("client.recv", "TIMEOUT")
            x.noRST()
        case .dropInvalid:
            x.that(invalid >= 1, "conntrack's invalid counter should have moved, moved by \(invalid)")
            x.that(rules.contains("drop") && !rules.contains("packets 0 bytes 0 drop"), "the ct state invalid drop rule should have counted the segment")
            x.that(!leaked, "the invalid segment should be dropped on the router")
            x.that(ev.app("server.state")?.state == "ESTABLISHED", "the backend's connection should survive")
            x.app("client.recv", "TIMEOUT")
            x.noRST()
        }
        return x.failures
    }

    /// /proc/net/stat/nf_conntrack of the router (per-CPU rows, hex columns).
    static func conntrackStat(_ lab: Lab) -> String { lab.exec("r", ["cat", "/proc/net/stat/nf_conntrack"]).stdout }

    /// The invalid column summed over the CPUs.
    static func invalid(_ text: String?) -> Int {
        let lines = (text ?? "").split(separator: "\n")
        guard let head = lines.first?.split(separator: " "), let col = head.firstIndex(of: "invalid") else { return 0 }
        return lines.dropFirst().reduce(0) { sum, l in
            let f = l.split(separator: " ")
            return sum + (col < f.count ? Int(f[col], radix: 16) ?? 0 : 0)
        }
    }

    static func object(_ raw: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any]
    }
}
