import Foundation
import XCTest

@testable import RSTDCapture

/// Every capture the lab made (Tests/LabTests/Fixtures/pcap, one per scenario, taken on the client's
/// veth): each RST frame with its sender, class and cause, the fields that justify them, and how each
/// connection ended (Zeek conn_state). The expected values are what the README there says happened
/// on the wire, not what the analyzer happened to print.
final class CaptureLabScenarioTests: XCTestCase {
    static let dir = CaptureFixtures.root.appending(path: "Tests/LabTests/Fixtures/pcap")

    /// One expected RST.
    struct RST {
        var frame: Int
        var sender: String
        var flags: String
        var cls: String
        /// `causes[0]` is the record's `cause`; more = the wire cannot tell them apart.
        var causes: [String]
        var answered: String
        var answeredFrame: Int?
        var stateless: Bool
        var ttlDelta: Int = 0
        /// Silence before the answered segment, at least and below (seconds).
        var idle: ClosedRange<Double> = 0...0.5
        /// Words the explanation must contain (the alternatives it must name, the evidence).
        var mentions: [String] = []
        /// Time from the answered segment: kernel answers take µs; a socket RST comes at close().
        var maxDelay: Double = 0.01
        /// How the roles were found: the connection's handshake, or the ports when it has none (an
        /// untranslated segment's 4-tuple never had one).
        var roles = "handshake"
    }

    /// One expected capture.
    struct Scenario {
        var frames: Int
        var resets: [RST]
        /// conn_state counts over all connections.
        var connStates: [String: Int]
        /// conn_state of each reset connection, by its first RST's frame.
        var resetFlows: [Int: String] = [:]
    }

    static let scenarios: [String: Scenario] = [
        // A clean request/response and FIN close: nothing to find.
        "control": Scenario(frames: 12, resets: [], connStates: ["SF": 1]),

        // The kernel's stateless RST/ACK to a SYN (seq 0, ack ISN+1). IPv4: a firewall on the server
        // rejecting with tcp-reset builds the same packet with the same TTL (RST-SIGNALS.md 5a), so the
        // wire leaves both causes open.
        "no-listener": Scenario(frames: 4, resets: [
            RST(frame: 2, sender: "server", flags: "RA", cls: "syn-answer", causes: ["no-listener", "firewall-reset"],
                answered: "SYN", answeredFrame: 1, stateless: true, mentions: ["nothing listens", "firewall"]),
        ], connStates: ["REJ": 1], resetFlows: [2: "REJ"]),
        // IPv6: the kernel labels its own RST (non-zero flow label), netfilter's reject does not, so
        // here the wire rules the firewall out.
        "no-listener-v6": Scenario(frames: 4, resets: [
            RST(frame: 2, sender: "server", flags: "RA", cls: "syn-answer", causes: ["no-listener"],
                answered: "SYN", answeredFrame: 1, stateless: true, mentions: ["nothing listens"]),
        ], connStates: ["REJ": 1], resetFlows: [2: "REJ"]),

        // The client forgot 40002→8080 and reconnected: challenge ACK (9), the client's RST (10) with
        // seq = that ACK's ack, the SYN retried (11) and a new handshake. Connections: the forgotten one
        // (S1, never closed on the wire), the attempt reset by its originator (RSTOS0), the retry (S1).
        "syn-conflict": Scenario(frames: 14, resets: [
            RST(frame: 10, sender: "client", flags: "R", cls: "challenge-ack-answer", causes: ["syn-conflict"],
                answered: "challenge-ACK", answeredFrame: 9, stateless: true, mentions: ["challenge ACK"]),
        ], connStates: ["S1": 2, "RSTOS0": 1], resetFlows: [10: "RSTOS0"]),

        // c3's first data segment (16) completed its handshake into a full accept queue; the listener
        // answered with a stateless RST (no ACK, seq = c3's ack), before any data from the server.
        "accept-queue-overflow": Scenario(frames: 17, resets: [
            RST(frame: 17, sender: "server", flags: "R", cls: "after-handshake", causes: ["accept-queue-overflow"],
                answered: "data", answeredFrame: 16, stateless: true, mentions: ["accept queue"]),
        ], connStates: ["S1": 2, "RSTR": 1], resetFlows: [17: "RSTR"]),
        // tcp_abort_on_overflow=0: retransmissions and a challenge ACK, no RST.
        "accept-queue-overflow-abort0": Scenario(frames: 20, resets: [], connStates: ["S1": 3]),

        // The server namespace was re-created: its ARP request (11), then a stateless RST (no ACK) to the
        // client's data. A firewall on the server resetting mid-connection looks the same (see below).
        "half-open-after-restart-down": Scenario(frames: 15, resets: [
            RST(frame: 13, sender: "server", flags: "R", cls: "stateless-unknown-flow", causes: ["half-open-after-restart", "firewall-reset"],
                answered: "data", answeredFrame: 10, stateless: true, mentions: ["half-open", "firewall"]),
        ], connStates: ["RSTR": 1], resetFlows: [13: "RSTR"]),
        "half-open-after-restart-up": Scenario(frames: 17, resets: [
            RST(frame: 16, sender: "server", flags: "R", cls: "stateless-unknown-flow", causes: ["half-open-after-restart", "firewall-reset"],
                answered: "data", answeredFrame: 13, stateless: true, mentions: ["half-open", "firewall"]),
        ], connStates: ["RSTR": 1], resetFlows: [16: "RSTR"]),

        // nft reject on the server itself: same TTL (64), same shape as the stack's own stateless RSTs.
        // IPv4 cannot tell them apart on the wire (RST-SIGNALS.md 5a: only the server's counters or the
        // missing tcp_send_reset can, which `check --observe` joins in); the honest answer is the class
        // with both causes, the firewall named in the explanation.
        "firewall-reset-server": Scenario(frames: 12, resets: [
            RST(frame: 9, sender: "server", flags: "R", cls: "stateless-unknown-flow", causes: ["half-open-after-restart", "firewall-reset"],
                answered: "data", answeredFrame: 8, stateless: true, mentions: ["firewall", "tcp_send_reset"]),
            RST(frame: 11, sender: "server", flags: "RA", cls: "syn-answer", causes: ["no-listener", "firewall-reset"],
                answered: "SYN", answeredFrame: 10, stateless: true, mentions: ["firewall"]),
        ], connStates: ["RSTR": 1, "REJ": 1], resetFlows: [9: "RSTR", 11: "REJ"]),

        // The same rule on a router: the RSTs arrive with TTL 64, the server's own packets with 63.
        // Frame 11 answers a new SYN: compared with the server's packets in the earlier connection.
        "firewall-reset-router": Scenario(frames: 13, resets: [
            RST(frame: 9, sender: "server", flags: "R", cls: "injected-ttl", causes: ["firewall-reset"],
                answered: "data", answeredFrame: 8, stateless: true, ttlDelta: 1, mentions: ["other packets in this connection"]),
            RST(frame: 11, sender: "server", flags: "RA", cls: "injected-ttl", causes: ["firewall-reset"],
                answered: "SYN", answeredFrame: 10, stateless: true, ttlDelta: 1, mentions: ["packets in other connections"]),
        ], connStates: ["RSTR": 1, "REJ": 1], resetFlows: [9: "RSTR", 11: "REJ"]),
        "firewall-reset-router-v6": Scenario(frames: 13, resets: [
            RST(frame: 9, sender: "server", flags: "R", cls: "injected-ttl", causes: ["firewall-reset"],
                answered: "data", answeredFrame: 8, stateless: true, ttlDelta: 1),
            RST(frame: 11, sender: "server", flags: "RA", cls: "injected-ttl", causes: ["firewall-reset"],
                answered: "SYN", answeredFrame: 10, stateless: true, ttlDelta: 1),
        ], connStates: ["RSTR": 1, "REJ": 1], resetFlows: [9: "RSTR", 11: "REJ"]),

        // Conntrack on the router forgot the connection after 2 s; the client's data after 3.2 s of
        // silence (every earlier gap: milliseconds) was answered by the router (TTL 64 vs 63).
        "idle-timeout": Scenario(frames: 13, resets: [
            RST(frame: 13, sender: "server", flags: "R", cls: "after-idle", causes: ["idle-timeout"],
                answered: "data", answeredFrame: 12, stateless: true, ttlDelta: 1, idle: 3.0...3.5, mentions: ["idle"]),
        ], connStates: ["RSTR": 1], resetFlows: [13: "RSTR"]),

        // B took the address over: its RST comes from MAC …:0b, the flow's other packets from …:0a.
        // The client's data came 1.26 s after the last exchange.
        "duplicate-ip": Scenario(frames: 34, resets: [
            RST(frame: 22, sender: "server", flags: "R", cls: "injected-mac", causes: ["duplicate-ip"],
                answered: "data", answeredFrame: 19, stateless: true, idle: 1.0...1.5, mentions: ["02:52:53:44:0a:0b", "02:52:53:44:0a:0a"]),
        ], connStates: ["RSTR": 1], resetFlows: [22: "RSTR"]),

        // Clean close (client first: TIME_WAIT on the client), the server's old segment replayed (13),
        // the TIME_WAIT ACK (14), the server's listener RST (15). The connection stays SF: in Zeek a RST
        // from a side in CLOSED whose peer is CLOSED too changes nothing (TCPSessionAdapter.cc,
        // UpdateClosedState). Whether tcp_rfc1337 saved the TIME_WAIT entry is not on the wire: the
        // rfc1337 capture is classified the same.
        "time-wait-assassination": Scenario(frames: 17, resets: [
            RST(frame: 15, sender: "server", flags: "R", cls: "into-time-wait", causes: ["time-wait-assassination"],
                answered: "ACK", answeredFrame: 14, stateless: true, mentions: ["TIME-WAIT", "tcp_rfc1337"]),
        ], connStates: ["SF": 1], resetFlows: [15: "SF"]),
        "time-wait-rfc1337": Scenario(frames: 17, resets: [
            RST(frame: 14, sender: "server", flags: "R", cls: "into-time-wait", causes: ["time-wait-assassination"],
                answered: "ACK", answeredFrame: 13, stateless: true, mentions: ["TIME-WAIT", "tcp_rfc1337"]),
        ], connStates: ["SF": 1], resetFlows: [14: "SF"]),

        // SO_LINGER {1,0} after the response: a socket RST/ACK, nothing in flight, nothing unacked
        // received. A close with received data still unread looks the same once that data was acked
        // (only TCPAbortOnData vs TCPAbortOnClose or the trace reason tell), so both causes stay open.
        "application-abort": Scenario(frames: 9, resets: [
            RST(frame: 8, sender: "server", flags: "RA", cls: "abort", causes: ["application-abort", "unread-data-close"],
                answered: "ACK", answeredFrame: 7, stateless: false, mentions: ["SO_LINGER", "unread"]),
        ], connStates: ["RSTR": 1], resetFlows: [8: "RSTR"]),
        "application-abort-v6": Scenario(frames: 9, resets: [
            RST(frame: 8, sender: "server", flags: "RA", cls: "abort", causes: ["application-abort", "unread-data-close"],
                answered: "ACK", answeredFrame: 7, stateless: false, mentions: ["SO_LINGER", "unread"]),
        ], connStates: ["RSTR": 1], resetFlows: [8: "RSTR"]),

        // The pipelined request (8, 15 bytes) was never acked before the RST, whose ack covers it: the
        // wire shows data left unread.
        "unread-data-close": Scenario(frames: 10, resets: [
            RST(frame: 10, sender: "server", flags: "RA", cls: "abort-with-unread", causes: ["unread-data-close"],
                answered: "data", answeredFrame: 8, stateless: false, mentions: ["15 byte(s)"], maxDelay: 0.1),
        ], connStates: ["RSTR": 1], resetFlows: [10: "RSTR"]),
        // Over IPv6 the server's delayed ACK (10) acked the 15 bytes before the close: the RST's ack adds
        // nothing, and the wire is then that of an abort (the honest answer: both causes).
        "unread-data-close-v6": Scenario(frames: 11, resets: [
            RST(frame: 11, sender: "server", flags: "RA", cls: "abort", causes: ["application-abort", "unread-data-close"],
                answered: "none", answeredFrame: nil, stateless: false, mentions: ["SO_LINGER", "unread"]),
        ], connStates: ["RSTR": 1], resetFlows: [11: "RSTR"]),
    ].merging(conntrack) { a, _ in a }

    /// conntrack INVALID behind DNAT (ConntrackInvalid.swift), one capture per place: the client
    /// (198.18.2.1, talking to the service 198.18.4.10:8080), the backend (198.18.3.2) and the node's
    /// `any` (cooked: in and out copies). The backend's segment 20 MB beyond the client's window is
    /// INVALID, leaves the node untranslated, and the client answers it with a socketless RST.
    static let conntrack: [String: Scenario] = {
        var out: [String: Scenario] = [:]
        for v6 in [false, true] {
            let n = v6 ? "conntrack-invalid-dnat-v6" : "conntrack-invalid-dnat"
            // The client: the leak arrives from the backend's real address on a 4-tuple it never used
            // (roles from the ports); its RST's seq is where its connection to the service stood. Then
            // its next request (translated) meets the backend's listener: the stateless RST of a socket
            // the client's own RST killed.
            out[n] = Scenario(frames: v6 ? 14 : 13, resets: [
                RST(frame: 9, sender: "client", flags: "R", cls: "untranslated-answer", causes: ["conntrack-invalid"],
                    answered: "data", answeredFrame: 8, stateless: true, mentions: ["never sent anything to", "INVALID"], roles: "ports"),
                RST(frame: 13, sender: "server", flags: "R", cls: "after-untranslated-reset", causes: ["conntrack-invalid"],
                    answered: "data", answeredFrame: 12, stateless: true, mentions: ["did not restart", "frame 9"]),
            ], connStates: ["RSTR": 1, "RSTRH": 1], resetFlows: [9: "RSTRH", 13: "RSTR"])
            // The backend: the client's socketless RST answers a segment beyond its window (a stack
            // would send a duplicate ACK), and the client carries on; the listener answers that.
            out[n + "-backend"] = Scenario(frames: 15, resets: [
                RST(frame: v6 ? 10 : 12, sender: "client", flags: "R", cls: "beyond-window-answer", causes: ["conntrack-invalid"],
                    answered: "data", answeredFrame: v6 ? 9 : 11, stateless: true,
                    mentions: ["beyond", "duplicate ACK", "20000000 bytes"]),
                RST(frame: v6 ? 14 : 15, sender: "server", flags: "R", cls: "after-reset", causes: [],
                    answered: "ACK", answeredFrame: v6 ? 13 : 14, stateless: true),
            ], connStates: ["RSTR": 1], resetFlows: [v6 ? 10 : 12: "RSTR"])
            // The node: the client's RST comes in addressed to the backend's real address, where the
            // client never sent anything (its packets go to the service address); listed with its
            // forwarded copy. The listener's RST follows a reset connection.
            let a = v6 ? 18 : 20, b = v6 ? 26 : 27
            out[n + "-node"] = Scenario(frames: v6 ? 29 : 28, resets: [
                RST(frame: a, sender: "client", flags: "R", cls: "untranslated-answer", causes: ["conntrack-invalid"],
                    answered: "data", answeredFrame: a - 2, stateless: true, mentions: ["never sent anything to"], maxDelay: 0.001),
                RST(frame: a + 1, sender: "client", flags: "R", cls: "untranslated-answer", causes: ["conntrack-invalid"],
                    answered: "data", answeredFrame: a - 2, stateless: true, ttlDelta: 0, mentions: ["forwarded"], maxDelay: 0.001),
                RST(frame: b, sender: "server", flags: "R", cls: "after-reset", causes: [], answered: "none", answeredFrame: nil,
                    stateless: true, idle: 0...0.5),
                RST(frame: b + 1, sender: "server", flags: "R", cls: "after-reset", causes: [], answered: "none", answeredFrame: nil,
                    stateless: true, idle: 0...0.5),
            ], connStates: ["RSTR": 1, "S0": 1], resetFlows: [a: "RSTR"])
        }
        return out
    }()

    func testEveryLabCaptureHasItsExpectation() throws {
        guard FileManager.default.fileExists(atPath: Self.dir.path) else { throw XCTSkip("lab captures not found at \(Self.dir.path)") }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.hasSuffix(".pcap") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(5)) }), Set(Self.scenarios.keys), "one expectation per lab capture")
        XCTAssertEqual(files.count, 25)
    }

    func testEachRSTOfEachLabCapture() throws {
        guard FileManager.default.fileExists(atPath: Self.dir.path) else { throw XCTSkip("lab captures not found at \(Self.dir.path)") }
        for (name, want) in Self.scenarios.sorted(by: { $0.key < $1.key }) {
            let r = try CaptureFixtures.analyze(Self.dir.appending(path: "\(name).pcap"))
            XCTAssertNil(r.error, name)
            XCTAssertEqual(r.packets, want.frames, "\(name): frames")
            XCTAssertEqual(r.malformed, 0, name)
            XCTAssertEqual(r.rstCount, want.resets.count, "\(name): RST count")
            XCTAssertEqual(r.resets.map(\.frame), want.resets.map(\.frame), "\(name): RST frames")
            for (x, w) in zip(r.resets, want.resets) {
                let at = "\(name) frame \(w.frame)"
                XCTAssertEqual(x.sender, w.sender, "\(at): sender")
                XCTAssertEqual(x.roles, w.roles, "\(at): roles")
                XCTAssertEqual(x.flags, w.flags, "\(at): flags")
                XCTAssertEqual(x.class, w.cls, "\(at): class")
                XCTAssertEqual(x.cause, w.causes.first, "\(at): cause")
                XCTAssertEqual(x.causes, w.causes, "\(at): causes")
                XCTAssertEqual(x.answered, w.answered, "\(at): answered")
                XCTAssertEqual(x.answeredFrame, w.answeredFrame, "\(at): answered frame")
                XCTAssertEqual(x.stateless, w.stateless, "\(at): stateless")
                XCTAssertEqual(x.ttlDelta, w.ttlDelta, "\(at): TTL delta")
                XCTAssertTrue(w.idle.contains(x.idleBefore), "\(at): idle \(x.idleBefore) not in \(w.idle)")
                if let d = x.delay { XCTAssertLessThan(d, w.maxDelay, "\(at): delay") }
                XCTAssertNil(x.payload, at)
                for m in w.mentions { XCTAssertTrue(x.explain.contains(m), "\(at): explanation lacks \"\(m)\": \(x.explain)") }
            }
            XCTAssertEqual(r.connStates, want.connStates, "\(name): conn_state counts")
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: r.resetFlows.map { ($0.firstResetFrame, $0.connState) }), want.resetFlows,
                           "\(name): conn_state of the reset connections")
            for f in r.resetFlows {
                XCTAssertEqual(f.cause, r.resets.first { $0.frame == f.firstResetFrame }?.cause, "\(name): a reset connection's cause is its first RST's")
            }
            XCTAssertEqual(r.pointsToCause, !want.resets.isEmpty, name)
        }
    }

    /// Where the wire leaves two causes open, the classes say so (capture-classes.yaml `also`), and each
    /// explanation names the alternative.
    func testAmbiguousClassesNameTheirAlternatives() throws {
        let c = try CaptureFixtures.classes()
        XCTAssertEqual(c[.synAnswer].also, ["firewall-reset"])
        XCTAssertEqual(c[.statelessUnknownFlow].also, ["firewall-reset"])
        XCTAssertEqual(c[.abort].also, ["unread-data-close"])
        XCTAssertEqual(c[.abortWithData].also, ["unread-data-close"])
        XCTAssertEqual(c[.abortWithUnread].also, [], "unacked received data covered by the RST's ack only comes from unread data")
        XCTAssertTrue(c[.synAnswer].explain.contains("firewall"))
        XCTAssertTrue(c[.statelessUnknownFlow].explain.contains("firewall"))
        XCTAssertTrue(c[.abort].explain.contains("unread"))
        XCTAssertTrue(c[.abortWithData].explain.contains("unread"))
    }

    /// The idle rule: the 3.2 s silence counts because it stands out (over 1 s and ten times any
    /// earlier gap), not because of the absolute threshold (5 s).
    func testIdleSilenceThatStandsOut() throws {
        let url = Self.dir.appending(path: "idle-timeout.pcap")
        var o = CaptureOptions(maxListedResets: 100)
        o.idleFloor = 4  // the silence is now below the floor and below the threshold
        XCTAssertEqual(try CaptureFixtures.analyze(url, options: o).resets.map(\.class), ["injected-ttl"])
        o.idleFloor = 1
        o.idleRatio = 10_000  // 3.2 s is not 10 000 times the 2 ms gaps before it
        XCTAssertEqual(try CaptureFixtures.analyze(url, options: o).resets.map(\.class), ["injected-ttl"])
        o.idleRatio = 10
        XCTAssertEqual(try CaptureFixtures.analyze(url, options: o).resets.map(\.class), ["after-idle"])
        // A router resetting 50 ms after the last exchange is not an idle timeout.
        let router = try CaptureFixtures.analyze(Self.dir.appending(path: "firewall-reset-router.pcap"))
        XCTAssertFalse(router.resets.contains { $0.class == "after-idle" })
    }

    /// A late RST into TIME-WAIT leaves the connection SF, as Zeek does (a RST after both FINs changes
    /// no endpoint state): the same outcome as the capture cut before the replay (frame 13).
    func testLateRSTAfterBothFINsKeepsSF() throws {
        let url = Self.dir.appending(path: "time-wait-assassination.pcap")
        let a = CaptureAnalyzer(classes: try CaptureFixtures.classes(), source: "t", linkType: LinkType.ethernet)
        let handle = try PcapHandle.open(file: url.path)
        defer { handle.close() }
        var decoder = PacketDecoder(linkType: handle.linkType)
        var p = DecodedPacket()
        var frame: UInt64 = 0
        while frame < 12, case .packet(let buf, let time, _) = handle.next() {
            frame += 1
            _ = a.take(buf, frame: frame, time: time, decoder: &decoder, into: &p)
        }
        XCTAssertEqual(frame, 12)
        XCTAssertEqual(a.report().connStates, ["SF": 1])
        XCTAssertEqual(try CaptureFixtures.analyze(url).connStates, ["SF": 1])
    }
}
