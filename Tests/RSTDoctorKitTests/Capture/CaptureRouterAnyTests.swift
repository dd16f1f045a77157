import Foundation
import XCTest

@testable import RSTDCapture

/// Captures made ON a router with `tcpdump -i any` (Fixtures/capture/stage/stage-router-any.sh): the
/// Linux cooked header's packet type tells a RST the router built (sent, never received) from one it
/// forwarded (received, then sent).
final class CaptureRouterAnyTests: XCTestCase {
    func testRSTsTheRouterBuiltAreFirewallBuilt() throws {
        let r = try CaptureFixtures.lab("router-built-any")
        XCTAssertEqual(r.linkType, PcapHandle.linkTypeName(LinkType.linuxSLL2))
        XCTAssertEqual(r.packets, 18)
        XCTAssertEqual(r.resets.map(\.frame), [16, 18])
        XCTAssertEqual(r.resets.map(\.class), ["router-built", "router-built"])
        XCTAssertEqual(r.resets.map(\.cause), ["firewall-reset", "firewall-reset"])
        XCTAssertEqual(r.resets.map(\.causes), [["firewall-reset"], ["firewall-reset"]])
        XCTAssertEqual(r.resets.map(\.localBuilt), [true, true])
        XCTAssertEqual(r.resets.map(\.direction), ["out", "out"])
        XCTAssertEqual(r.resets.map(\.sender), ["server", "server"])
        XCTAssertEqual(r.resets.map(\.answered), ["data", "SYN"])
        XCTAssertEqual(r.resets.map(\.answeredFrame), [15, 17])
        XCTAssertEqual(r.resets.map(\.flags), ["R", "RA"])
        XCTAssertEqual(r.resets.map(\.stateless), [true, true])
        for x in r.resets { XCTAssertTrue(x.explain.contains("built the RST itself") || x.explain.contains("without having received it"), x.explain) }
        XCTAssertEqual(r.connStates, ["RSTR": 1, "REJ": 1])
        // The facts say so too: the firewall built them, no endpoint did.
        guard case .records(let rows)? = CaptureFacts.facts(r).values["capture.resets"] else { return XCTFail("no records") }
        XCTAssertEqual(rows.map { $0["firewall_built"] }, [.bool(true), .bool(true)])
        XCTAssertEqual(rows.map { $0["local_built"] }, [.bool(true), .bool(true)])
    }

    func testRSTsTheRouterOnlyForwardedAreNot() throws {
        let r = try CaptureFixtures.lab("router-forwarded-any")
        XCTAssertEqual(r.linkType, PcapHandle.linkTypeName(LinkType.linuxSLL))
        XCTAssertEqual(r.packets, 20)
        // tshark lists both copies of each RST; so do we, the outgoing copy with the original's class.
        XCTAssertEqual(r.resets.map(\.frame), [3, 4, 19, 20])
        XCTAssertEqual(r.resets.map(\.direction), ["in", "out", "in", "out"])
        XCTAssertEqual(r.resets.map(\.localBuilt), [false, false, false, false])
        XCTAssertEqual(r.resets.map(\.class), ["syn-answer", "syn-answer", "abort", "abort"])
        XCTAssertEqual(r.resets.map(\.cause), ["no-listener", "no-listener", "application-abort", "application-abort"])
        XCTAssertFalse(r.resets.contains { $0.class == "router-built" })
        XCTAssertTrue(r.resets[1].explain.contains("copy of frame 3"), r.resets[1].explain)
        XCTAssertTrue(r.resets[3].explain.contains("copy of frame 19"), r.resets[3].explain)
        // Each forwarded segment is one segment of its connection: answered frames are the incoming copies.
        XCTAssertEqual(r.resets.map(\.answeredFrame), [1, 1, 17, 17])
        XCTAssertEqual(r.resetsByClass, ["syn-answer": 2, "abort": 2])
        XCTAssertEqual(r.connStates, ["REJ": 1, "RSTR": 1])
        guard case .records(let rows)? = CaptureFacts.facts(r).values["capture.resets"] else { return XCTFail("no records") }
        XCTAssertEqual(Set(rows.map { $0["firewall_built"] }), [.bool(false)])
    }

    /// The claim needs both pieces of evidence: the packet types, and the router's forwarding.
    func testNoClaimWithoutTheEvidence() throws {
        let url = CaptureFixtures.fixtures.appending(path: "lab/router-built-any.pcap")
        // Without packet types (as if captured on one Ethernet interface): no direction, no claim.
        let blind = try analyze(url) { p in p.packetType = PacketType.unknown; return true }
        XCTAssertFalse(blind.resets.contains { $0.class == "router-built" })
        XCTAssertEqual(blind.resets.map(\.localBuilt), [nil, nil])
        // Only what the host sent (the incoming side missing): the RSTs were built here, but nothing
        // shows that the host forwards for 198.18.61.2, which might be its own address.
        let sentOnly = try analyze(url) { p in p.packetType == PacketType.outgoing }
        XCTAssertEqual(sentOnly.resets.map(\.localBuilt), [true, true])
        XCTAssertFalse(sentOnly.resets.contains { $0.class == "router-built" })
    }

    /// Feeds a capture through `keep`, which may change a packet or drop it (false).
    private func analyze(_ url: URL, keep: (inout DecodedPacket) -> Bool) throws -> CaptureReport {
        let handle = try PcapHandle.open(file: url.path)
        defer { handle.close() }
        let a = CaptureAnalyzer(classes: try CaptureFixtures.classes(), options: CaptureOptions(maxListedResets: 100), source: url.path, linkType: handle.linkType)
        var decoder = PacketDecoder(linkType: handle.linkType)
        var p = DecodedPacket()
        var frame: UInt64 = 0
        while case .packet(let buf, let time, _) = handle.next() {
            frame += 1
            guard decoder.decode(buf, into: &p) == .tcp else { continue }
            p.frame = frame
            p.time = time
            if keep(&p) { _ = a.ingest(p, frame: buf) }
        }
        return a.report()
    }
}
