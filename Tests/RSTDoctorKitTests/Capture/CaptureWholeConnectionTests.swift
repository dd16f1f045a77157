import Foundation
import XCTest

@testable import RSTDCapture
@testable import RSTDCore

/// RSTs judged with the whole connection (packets before and after them), and conn_state as Zeek's
/// TCP state machine records it. Zeek is not installable on this machine (no Debian/Ubuntu package):
/// each expected conn_state is derived by hand from Zeek's source (TCPSessionAdapter.cc's
/// UpdateStateMachine and main.zeek's conn_state, docs/conn-state.md), and the derivation is written
/// next to it.
final class CaptureWholeConnectionTests: XCTestCase {
    private func corpus(_ name: String, _ options: CaptureOptions = CaptureOptions(maxListedResets: 1000)) throws -> CaptureReport {
        try CaptureFixtures.analyze(CaptureFixtures.corpus.appending(path: name), options: options)
    }

    /// zeek tcp/rst-inject-rae: a RST (TTL 46, IP ID 0x1555 = the SYN's) answers the SYN; 1.03 s later
    /// the real server's SYN-ACK (TTL 49, as all its later packets) and the connection goes on.
    func testInjectedRSTIsJudgedWithTheServersLaterPackets() throws {
        let r = try corpus("zeek__tcp_rst-inject-rae.pcap")
        XCTAssertEqual(r.resets.map(\.frame), [2, 7, 9])
        let inj = try XCTUnwrap(r.resets.first)
        XCTAssertEqual(inj.class, "injected-endpoint-continued")
        XCTAssertEqual(inj.causes, ["firewall-reset"])
        XCTAssertEqual(inj.ttlDelta, -3)
        for m in ["46", "49", "after it", "IP ID", "SYN-ACK in frame 3"] {
            XCTAssertTrue(inj.explain.contains(m), "lacks \(m): \(inj.explain)")
        }
        XCTAssertFalse(inj.explain.contains("nothing listens"))
        // The connection went on: the server's own RST (7, TTL 49) is judged as the first real one.
        XCTAssertEqual(r.resets[1].class, "abort")
        XCTAssertEqual(r.resets[2].class, "after-reset")
        // Zeek: orig SYN -> SYN_SENT; resp RST -> RESET (a reject); the SYN-ACK after it changes no
        // state (UpdateResetState); conn_state: resp RESET with orig SYN_SENT -> REJ.
        XCTAssertEqual(r.connStates, ["REJ": 1])
    }

    /// The look-ahead is bounded: when the real answer comes after it, the RST is judged without it.
    func testLookAheadIsBoundedInTime() throws {
        var o = CaptureOptions(maxListedResets: 1000)
        o.lookAhead = 0.5
        XCTAssertEqual(try corpus("zeek__tcp_rst-inject-rae.pcap", o).resets.first?.class, "syn-answer")
        o.lookAhead = 3
        o.maxPendingResets = 1
        XCTAssertEqual(try corpus("zeek__tcp_rst-inject-rae.pcap", o).resets.first?.class, "injected-endpoint-continued")
    }

    /// ndpi tumblr frame 166: the client sent its FIN (161) 18 ms before and resets the server's late
    /// data (165): an application that closed early, not a restart.
    func testRSTFromASideThatSentItsFIN() throws {
        let r = try corpus("ndpi__tumblr.pcap")
        let x = try XCTUnwrap(r.resets.first { $0.frame == 166 })
        XCTAssertEqual(x.class, "after-own-fin")
        XCTAssertEqual(x.causes, ["unread-data-close", "application-abort"])
        XCTAssertEqual(x.sender, "client")
        XCTAssertTrue(x.explain.contains("frame 161"), x.explain)
        XCTAssertFalse(r.resets.contains { $0.class == "stateless-unknown-flow" })
        // Zeek: orig FIN -> CLOSED; orig RST with resp not closed -> RESET (prev CLOSED); resp FIN
        // (173) turns the peer's FIN-then-RST back to CLOSED (UpdateEstablishedState) -> SF.
        XCTAssertEqual(r.resetFlows.first { $0.firstResetFrame == 166 }?.connState, "SF")
    }

    /// zeek tcp/syn-then-rst: the SYN's own sender resets it 0.3 ms later, nothing answered.
    func testRSTAfterABareSYNFromItsSender() throws {
        let r = try corpus("zeek__tcp_syn-then-rst.pcap")
        XCTAssertEqual(r.resets.map(\.class), ["own-syn-abort"])
        XCTAssertEqual(r.resets.first?.cause, nil)
        XCTAssertEqual(r.resets.first?.sender, "client")
        // Zeek: history "SR" matches ^?S[^HAFGIQ]*R.* with the responder inactive -> RSTOS0.
        XCTAssertEqual(r.connStates, ["RSTOS0": 1])
        // zeek tcp/syn-then-ack-then-rst: the bare ACK answering the SYN is a challenge ACK; the
        // responder stays INACTIVE (a zero-length ACK to a SYN, UpdateInactiveState), history "SaR".
        let c = try corpus("zeek__tcp_syn-then-ack-then-rst.pcap")
        XCTAssertEqual(c.resets.map(\.class), ["challenge-ack-answer"])
        XCTAssertEqual(c.connStates, ["RSTOS0": 1])
    }

    // MARK: conn_state, one test per pattern where rstdoctor used to depart from Zeek

    /// Feeds segments between client 10.0.0.1:40000 and server 10.0.0.2:80 (`c` true: from the client).
    private func connState(_ segments: [(c: Bool, flags: UInt16, len: Int)]) throws -> [String: Int] {
        let a = CaptureAnalyzer(classes: try CaptureFixtures.classes(), source: "synthetic", linkType: LinkType.ethernet)
        var p = DecodedPacket()
        let buf = UnsafeRawBufferPointer(start: nil, count: 0)
        var seq: (UInt32, UInt32) = (1000, 5000)
        for (i, s) in segments.enumerated() {
            p.frame = UInt64(i + 1)
            p.time = 100 + Double(i) * 0.001
            p.src = IPAddress(v4: s.c ? 0x0A00_0001 : 0x0A00_0002)
            p.dst = IPAddress(v4: s.c ? 0x0A00_0002 : 0x0A00_0001)
            p.sport = s.c ? 40000 : 80
            p.dport = s.c ? 80 : 40000
            p.ttl = 64
            p.flags = s.flags
            p.payloadLength = s.len
            p.seq = s.c ? seq.0 : seq.1
            p.ack = s.flags & TCPFlag.ack != 0 ? (s.c ? seq.1 : seq.0) : 0
            p.window = s.flags & TCPFlag.rst != 0 ? 0 : 502
            let adv = UInt32(s.len) + (s.flags & (TCPFlag.syn | TCPFlag.fin) != 0 ? 1 : 0)
            if s.c { seq.0 &+= adv } else { seq.1 &+= adv }
            a.feed(p, frame: buf)
        }
        return a.report().connStates
    }

    private let S = TCPFlag.syn, SA = TCPFlag.syn | TCPFlag.ack, A = TCPFlag.ack
    private var FA: UInt16 { TCPFlag.fin | TCPFlag.ack }
    private var R: UInt16 { TCPFlag.rst }

    /// Both FINs, then a RST: both endpoints are CLOSED, and UpdateClosedState ignores a RST whose
    /// sender's peer is CLOSED -> SF (from either side).
    func testRSTAfterBothFINsStaysSF() throws {
        let close: [(c: Bool, flags: UInt16, len: Int)] = [(true, S, 0), (false, SA, 0), (true, A, 0), (true, A, 10), (false, A, 20),
                                                            (true, FA, 0), (false, FA, 0), (true, A, 0)]
        XCTAssertEqual(try connState(close + [(false, R, 0)]), ["SF": 1])
        XCTAssertEqual(try connState(close + [(true, R, 0)]), ["SF": 1])
        // One FIN only, then the RST: the closed side is RESET -> RSTO (the orig had sent the FIN).
        XCTAssertEqual(try connState(Array(close.prefix(6)) + [(true, R, 0)]), ["RSTO": 1])
    }

    /// The SYN was not captured, the SYN-ACK and the ACK were: the responder is ESTABLISHED on its
    /// SYN-ACK, and the originator's ACK with an ESTABLISHED peer makes it ESTABLISHED too (not
    /// PARTIAL: UpdateInactiveState) -> S1, and SF once both FINs came.
    func testMissedSYNWithSYNACKAndACKIsEstablished() throws {
        let open: [(c: Bool, flags: UInt16, len: Int)] = [(false, SA, 0), (true, A, 0), (true, A, 10), (false, A, 20)]
        XCTAssertEqual(try connState(open), ["S1": 1])
        XCTAssertEqual(try connState(open + [(true, FA, 0), (false, FA, 0), (true, A, 0)]), ["SF": 1])
    }

    /// A connection seen mid-stream (both sides PARTIAL) closing with FINs both ways: both CLOSED -> SF.
    func testMidStreamConnectionClosedByFINsIsSF() throws {
        let mid: [(c: Bool, flags: UInt16, len: Int)] = [(true, A, 10), (false, A, 20), (true, FA, 0), (false, FA, 0), (true, A, 0)]
        XCTAssertEqual(try connState(mid), ["SF": 1])
        XCTAssertEqual(try connState(Array(mid.prefix(2))), ["OTH": 1])
    }

    /// SYN, FIN, then RST from the originator: SYN_SENT -> CLOSED -> RESET; history "SFR" does not
    /// match ^?S[^HAFGIQ]*R.* (an F before the R) -> OTH. SYN then RST alone is RSTOS0.
    func testSYNThenFINThenRSTIsOTH() throws {
        XCTAssertEqual(try connState([(true, S, 0), (true, FA, 0), (true, R, 0)]), ["OTH": 1])
        XCTAssertEqual(try connState([(true, S, 0), (true, R, 0)]), ["RSTOS0": 1])
    }
}
