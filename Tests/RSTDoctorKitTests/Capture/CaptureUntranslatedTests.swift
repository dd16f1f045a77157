import Foundation
import XCTest

@testable import RSTDCapture
@testable import RSTDCore

/// The classes of a RST tied to a connection under other addresses (Capture/UntranslatedTwins.swift,
/// knowledge/capture-classes.yaml), on the lab's captures of conntrack INVALID behind DNAT at each
/// place (client, backend, node), as `check --observe` sees them (its window opens after the
/// handshake), with a peer filter, and where they must stay silent.
final class CaptureUntranslatedTests: XCTestCase {
    static let dir = CaptureLabScenarioTests.dir
    static let tied: Set<String> = ["untranslated-answer", "after-untranslated-reset", "beyond-window-answer"]

    /// A lab capture from frame `first` on (CaptureFixtures.labWindow).
    static func run(_ name: String, from first: UInt64 = 1, options: CaptureOptions = CaptureOptions(maxListedResets: 1000),
                    change: (inout DecodedPacket) -> Void = { _ in }) throws -> CaptureReport {
        try CaptureFixtures.labWindow(name, from: first, options: options, change: change)
    }

    static func classes(_ r: CaptureReport) -> [String] { r.resets.map(\.class) }

    /// The observe window opens after the connection was set up: the first packets are the leaked
    /// segment and the RST answering it, before any packet of the connection they belong to. The
    /// client ties its RST to the connection its next segment shows (seq where the RST said); the
    /// backend reads the client's window from the client's first packet after the RST.
    func testEachPlaceFromTheLeakOn() throws {
        for v6 in [false, true] {
            let n = v6 ? "conntrack-invalid-dnat-v6" : "conntrack-invalid-dnat"
            XCTAssertEqual(Self.classes(try Self.run(n, from: 8)), ["untranslated-answer", "after-untranslated-reset"], n)
            XCTAssertEqual(Self.classes(try Self.run(n + "-backend", from: v6 ? 9 : 11)), ["beyond-window-answer", "after-reset"], n)
            XCTAssertEqual(Self.classes(try Self.run(n + "-node", from: v6 ? 16 : 18)),
                           ["untranslated-answer", "untranslated-answer", "after-reset", "after-reset"], n)
        }
    }

    /// `--peer` with the service address: the leak and the client's RST carry the backend's address,
    /// not the peer's, and are kept because their TCP fields tie them to the focused connection —
    /// whether the connection was seen before them (whole capture) or only after (the window).
    func testPeerFilterKeepsTheTiedSegments() throws {
        let service = try XCTUnwrap(IPAddress("198.18.4.10"))
        for first: UInt64 in [1, 8] {
            let o = CaptureOptions(maxListedResets: 1000, port: 8080, peer: service)
            let r = try Self.run("conntrack-invalid-dnat", from: first, options: o)
            XCTAssertEqual(Self.classes(r), ["untranslated-answer", "after-untranslated-reset"], "from frame \(first)")
            XCTAssertEqual(r.filteredOut, 0, "from frame \(first)")
        }
        // Another peer: nothing of this connection is tied to it.
        let other = try Self.run("conntrack-invalid-dnat", options: CaptureOptions(maxListedResets: 1000, peer: IPAddress("198.18.9.9")))
        XCTAssertEqual(other.rstCount, 0)
        XCTAssertEqual(other.filteredOut, 11)
    }

    /// The tie rests on the TCP fields: a client RST whose seq is not where its connection to the
    /// service stood is an ordinary socketless answer, and a segment inside the client's window
    /// answered that way is not taken for a conntrack INVALID one.
    func testTheTieNeedsTheSequenceNumbers() throws {
        let client = try Self.run("conntrack-invalid-dnat") { p in if p.frame == 9 { p.seq &+= 100_000 } }
        XCTAssertEqual(Self.classes(client).first, "stateless-unknown-flow")
        XCTAssertFalse(Self.classes(client).contains { Self.tied.contains($0) })
        // The backend's leaked segment moved back inside the client's window (frame 11).
        let backend = try Self.run("conntrack-invalid-dnat-backend") { p in if p.frame == 11 { p.seq &-= 20_000_000 } }
        XCTAssertEqual(Self.classes(backend).first, "injected-endpoint-continued")
    }

    /// Silent where nothing came untranslated: a half-open connection after a restart (the server's
    /// socketless RST in its own connection), a router's injected RST, and every other lab and
    /// third-party capture.
    func testSilentWithoutAnUntranslatedSegment() throws {
        let lab = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path)
            .filter { $0.hasSuffix(".pcap") && !$0.hasPrefix("conntrack-") }
        XCTAssertTrue(lab.contains("half-open-after-restart-up.pcap") && lab.contains("firewall-reset-router.pcap"))
        for f in lab {
            let r = try CaptureFixtures.analyze(Self.dir.appending(path: f))
            XCTAssertFalse(Self.classes(r).contains { Self.tied.contains($0) }, "\(f): \(Self.classes(r))")
        }
        for f in try CaptureFixtures.corpusFiles() {
            guard let r = try? CaptureFixtures.analyze(CaptureFixtures.corpus.appending(path: f)) else { continue }
            XCTAssertFalse(Self.classes(r).contains { Self.tied.contains($0) }, "\(f): \(Self.classes(r))")
        }
    }
}
