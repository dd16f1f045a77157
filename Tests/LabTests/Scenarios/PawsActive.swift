import Foundation

/// PAWS on a connecting socket: the client's SYN is answered by a SYN-ACK whose echoed timestamp
/// (TSecr) is 100 s older than the SYN's own TSval — a timestamp this socket never sent, as a late
/// SYN-ACK of an earlier attempt on the same 4-tuple would carry. The server's stack never sees the
/// SYN (an nft rule drops it at prerouting); the server namespace's agent reads it with AF_PACKET
/// (before netfilter) and answers with the hand-built SYN-ACK (right ack, bad TSecr).
/// tcp_rcv_synsent_state_process(): rcv_tsecr outside [retrans_stamp, now] → PAWSActive +1 and
/// reset_and_undo; the caller sends a RST (no ACK, seq = the SYN-ACK's ack; tracepoint reason
/// TCP_RFC7323_PAWS, state TCP_SYN_SENT). The socket stays in SYN-SENT: the rule is removed at
/// once, the SYN retransmission (1 s) reaches the real listener and the connect succeeds, late.
struct PawsActive: Scenario {
    var id: String { "paws-active" }
    var expectedCause: String? { "paws-timestamps" }
    var summary: String { "a SYN-ACK echoing a timestamp the client never sent: PAWSActive, the client's RST, connect 1 s late" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }
    var side: String { "c" }

    func build(_ lab: Lab) throws {
        try Topology.pair(lab)
        // Priority raw (-300): before conntrack, so the dropped SYN leaves no entry either.
        try lab.nft("s", """
            table inet rstdpaws {
              chain prerouting { type filter hook prerouting priority raw; policy accept;
                tcp dport \(Topology.port) tcp flags & (syn | ack) == syn counter drop
              }
            }
            """)
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        _ = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        try lab.startAgent("client", in: "c")
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c"), srv = try lab.agent("server", in: "s")
        try Steps.expectOK(ev.step("server.forge", srv.call("forge_synack", ["dev": "eth0", "port": Topology.port,
                                                                              "back": 100_000, "timeout": 3])), "forge_synack")
        let done = DispatchSemaphore(value: 0)
        Command.thread {
            ev.step("client.connect", cli.call("connect", ["addr": ev.server, "port": Topology.port, "timeout": 3]))
            done.signal()
        }
        let f = ev.step("server.forged", srv.call("forged", ["timeout": 3], wait: 6))
        if let obj = ConntrackInvalid.object(f.raw) {
            for k in ["ack", "sport", "tsecr", "syn_tsval"] { if let v = obj[k] as? Int { ev.note("forged-\(k)", String(v)) } }
        }
        usleep(100_000)
        ev.note("ss-after-rst", lab.ss("c", ["-tan", "state", "syn-sent"]))
        try lab.nftDeleteTable("s", "rstdpaws")
        _ = done.wait(timeout: .now() + 6)
        ev.step("server.accept", srv.call("accept", ["id": "L1", "timeout": 1]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("server.forged", "ok")
        x.counter("c", "TcpExtPAWSActive")
        x.counter("c", "TcpOutRsts")
        x.counter("c", "TcpExtTCPSynRetrans")
        let cport = Int(ev.note("forged-sport") ?? "") ?? -1
        let ack = UInt32(truncatingIfNeeded: Int(ev.note("forged-ack") ?? "") ?? -1)
        x.rst("from the client answering the SYN-ACK (no ACK, seq = the SYN-ACK's ack \(ack))") {
            $0.src == ev.client && $0.sport == cport && $0.dst == ev.server && !$0.hasACK && $0.seq == ack
        }
        x.that(ev.resets.count == 1, "exactly one RST should be on the wire, saw \(ev.resets.map(\.description))")
        x.trace(["tcp_send_reset", "src=" + tracePoint(ev.client, cport), "state=TCP_SYN_SENT", "reason=TCP_RFC7323_PAWS"])
        x.that((ev.note("ss-after-rst") ?? "").contains(":\(cport)"), "the client's socket should still be in SYN-SENT after its RST")
        // The connect is not refused: it succeeds on the SYN retransmission, about 1 s late.
        x.app("client.connect", "ok")
        x.that((ev.app("client.connect")?.elapsedMs ?? 0) >= 900, "the connect should take one SYN retransmission (≥ 0.9 s), took "
               + "\(ev.app("client.connect")?.elapsedMs.map { String(format: "%.0f ms", $0) } ?? "?")")
        x.app("server.accept", "ok")
        return x.failures
    }
}
