import Foundation

/// PAWS on an established connection: after a request and a response, a data segment arrives at
/// the server at exactly the next expected sequence number but with a timestamp 100 s older than the
/// client's clock (built by hand from the client socket's own seq/ack, read with TCP_REPAIR, and its
/// TSval, read with TCP_TIMESTAMP), as a segment from another host behind the same NAT would.
/// tcp_validate_incoming() → tcp_paws_discard(): PAWSEstab +1, the segment is dropped and answered
/// with a duplicate ACK; the connection goes on (the client's next request is read at the same
/// sequence number). No RST: the honest outcome is no cause of resets.
struct PawsEstab: Scenario, ShowsFindings {
    static let old = "OLD SEGMENT\n", again = "GET /again\n"

    var id: String { "paws-estab" }
    var expectedCause: String? { nil }
    var findings: Set<String> { ["paws-stalls"] }
    /// With `--observe --port`: PAWSEstab's delta and the drop itself, kfree_skb TCP_RFC7323_PAWS placed on
    /// the server's socket by its tcp_probe (paws-drops-traced-here).
    var confidentFindings: Set<String> { ["paws-stalls"] }
    var summary: String { "a data segment with a timestamp 100 s old into an ESTABLISHED connection: dropped, duplicate ACK, no reset" }
    var ends: Topology.Ends { Topology.ends(.pair, v6: false) }

    func build(_ lab: Lab) throws {
        try Topology.pair(lab)
    }

    func setUp(_ lab: Lab, _ ev: Evidence) throws {
        let (srv, l) = try Steps.listen(lab, in: "s", addr: Topology.any(false))
        let cli = try lab.startAgent("client", in: "c")
        let (c, s) = try Steps.connectAndExchange(lab, client: cli, server: srv, listener: l, to: ev.server, ev)
        ev.note("client-conn", c)
        ev.note("server-conn", s)
    }

    func provoke(_ lab: Lab, _ ev: Evidence) throws {
        let cli = try lab.agent("client", in: "c"), srv = try lab.agent("server", in: "s")
        let c = ev.note("client-conn") ?? "", s = ev.note("server-conn") ?? ""
        let q = ev.step("client.seqs", cli.call("seqs", ["id": c]))
        guard q.ok, let obj = ConntrackInvalid.object(q.raw), let snd = obj["snd_nxt"] as? Int, let rcv = obj["rcv_nxt"] as? Int,
              let ts = obj["tsval"] as? Int, let local = obj["local"] as? [Any], let cport = local.last as? Int else {
            throw LabError("seqs failed: \(q)")
        }
        ev.note("client-port", String(cport))
        ev.note("old-seq", String(snd))
        ev.step("client.inject", cli.call("inject", ["src": ev.client, "dst": ev.server, "sport": cport, "dport": Topology.port,
                                                     "seq": snd, "ack": rcv, "tsval": ts - 100_000, "tsecr": 0, "data": Self.old]))
        usleep(100_000)
        ev.step("server.recv-old", srv.call("recv", ["id": s, "timeout": 0.5]))
        ev.step("client.send", cli.call("send", ["id": c, "data": Self.again]))
        ev.step("server.recv", srv.call("recv", ["id": s, "timeout": 1]))
        ev.step("server.state", srv.call("state", ["id": s]))
        ev.step("client.state", cli.call("state", ["id": c]))
    }

    func verify(_ ev: Evidence) -> [String] {
        var x = Checks(ev)
        x.app("client.inject", "ok")
        x.counter("s", "TcpExtPAWSEstab")
        x.app("server.recv-old", "TIMEOUT")
        x.that(ev.app("server.recv")?.data == Self.again,
               "the server should read the client's next request, not the old segment: read \(ev.app("server.recv")?.raw ?? "nothing")")
        x.that(ev.app("server.state")?.state == "ESTABLISHED", "the server's connection should stay ESTABLISHED")
        x.that(ev.app("client.state")?.state == "ESTABLISHED", "the client's connection should stay ESTABLISHED")
        // On the wire: the old segment, then the server's duplicate ACK (no data, ack still at the
        // old segment's seq: its bytes were not taken).
        let cport = Int(ev.note("client-port") ?? "") ?? -1
        let seq = UInt32(truncatingIfNeeded: Int(ev.note("old-seq") ?? "") ?? -1)
        let old = ev.frames.first {
            $0.isTCP && $0.src == ev.client && $0.sport == cport && $0.seq == seq && $0.payload == Self.old.utf8.count
        }
        x.that(old != nil, "the old segment should be on the wire (seq \(seq))")
        if let old {
            x.that(ev.frames.contains { $0.isTCP && $0.number > old.number && $0.src == ev.server && $0.dport == cport
                    && $0.payload == 0 && $0.hasACK && $0.ack == seq },
                   "the server should answer the old segment with a duplicate ACK (ack \(seq))")
        }
        x.noRST()
        x.counterUnchanged("s", "TcpEstabResets")
        x.counterUnchanged("c", "TcpEstabResets")
        return x.failures
    }
}
