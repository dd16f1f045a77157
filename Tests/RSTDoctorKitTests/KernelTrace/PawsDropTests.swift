import XCTest

@testable import RSTDCore
@testable import RSTDTrace

/// Segments dropped by PAWS, placed on their socket: Tests/Fixtures/KernelTrace/paws-6.18/trace.txt is the
/// tracefs text of one lab run of paws-estab (capture.sh there): a data segment with an old timestamp to the
/// server 198.18.1.2:8080 from the client 198.18.1.1:45580, tcp_probe of port 8080 and kfree_skb as
/// `check --observe --port 8080` enables them (kfree_skb for the RST joins, and for PAWS in the drops
/// instance), and a UDP NO_SOCKET drop of another namespace.
final class PawsDropTests: XCTestCase {
    private func correlate(_ text: String) throws -> ResetCorrelator {
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons())
        _ = c.consume(text)
        return c
    }

    private func fixture() throws -> String { try TraceFixtures.text("paws-6.18/trace.txt") }

    func testDropPlacedOnTheServerSocketByItsProbe() throws {
        let c = try correlate(try fixture())
        XCTAssertEqual(c.drops["TCP_RFC7323_PAWS"], 1, "the machine's count")
        XCTAssertEqual(c.drops["NO_SOCKET"], 1, "the UDP drop is counted, by its reason")
        let p = DropPlacer.consume(try fixture())
        XCTAssertEqual(p.placed.count, 1, "only the PAWS drop is placed, not the NO_SOCKET one")
        XCTAssertEqual(p.unplaced, 0)
        let d = try XCTUnwrap(p.placed.first)
        XCTAssertEqual(d.reason, "TCP_RFC7323_PAWS")
        XCTAssertEqual(d.local, "198.18.1.2")
        XCTAssertEqual(d.lport, 8080)
        XCTAssertEqual(d.remote, "198.18.1.1")
        XCTAssertEqual(d.rport, 45580)
        XCTAssertEqual(d.time, 32360.460946, accuracy: 1e-6, "the drop's own time (clock offset 0 here)")
        XCTAssertEqual(DropPlacer.consume(try fixture(), clockOffset: 1000).placed.first?.time ?? 0, 33360.460946, accuracy: 1e-6)
    }

    /// The server's namespace and focus take it; the client's namespace, another port or another peer do not.
    func testFocusAndNamespace() throws {
        let d = try XCTUnwrap(DropPlacer.consume(try fixture()).placed.first)
        XCTAssertTrue(TraceFilter(port: 8080, addresses: ["198.18.1.2"]).matches(d))
        XCTAssertTrue(TraceFilter(port: 8080, peer: "198.18.1.1", addresses: ["198.18.1.2"]).matches(d))
        XCTAssertFalse(TraceFilter(port: 8080, addresses: ["198.18.1.1"]).matches(d), "the client's namespace did not drop it")
        XCTAssertFalse(TraceFilter(port: 9090, addresses: ["198.18.1.2"]).matches(d), "another port")
        XCTAssertFalse(TraceFilter(port: 8080, peer: "198.18.1.9", addresses: ["198.18.1.2"]).matches(d), "another peer")
        var loop = TraceFilter(port: 8080, addresses: ["198.18.1.2"])
        let lo = PlacedDrop(time: 0, reason: d.reason, local: "127.0.0.1", lport: 8080, remote: "127.0.0.1", rport: 40000)
        XCTAssertFalse(loop.matches(lo), "loopback cannot be placed in a namespace")
        loop.loopbackHere = true
        XCTAssertTrue(loop.matches(lo))
    }

    /// Without the segment's tcp_probe (no --port, another port, a drop outside ESTABLISHED) the drop is
    /// counted for the machine and never placed: the same real lines, the probe left out.
    func testNoProbeNoPlace() throws {
        let lines = try fixture().split(separator: "\n").filter { !($0.contains("tcp_probe:") && $0.contains("skbaddr=000000007efabc1a")) }
        let p = DropPlacer.consume(lines.joined(separator: "\n"))
        XCTAssertEqual(p.placed, [])
        XCTAssertEqual(p.unplaced, 1)
    }

    /// A probe of the same skbaddr after the drop, or long before it (skb addresses are recycled), places nothing.
    func testProbeMustJustPrecedeTheDrop() throws {
        let text = try fixture()
        let lines = text.split(separator: "\n").map(String.init)
        let probe = try XCTUnwrap(lines.firstIndex { $0.contains("tcp_probe:") && $0.contains("skbaddr=000000007efabc1a") })
        var swapped = lines
        swapped.swapAt(probe, probe + 1)
        // Same text order as the kernel would log if the probe came after: times swapped too.
        swapped[probe] = swapped[probe].replacingOccurrences(of: "32360.460946", with: "32360.460934")
        swapped[probe + 1] = swapped[probe + 1].replacingOccurrences(of: "32360.460934", with: "32360.460946")
        XCTAssertEqual(DropPlacer.consume(swapped.joined(separator: "\n")).placed, [])
        // The address comes back 0.66 s later in a probe of the client's socket: the drop stays the server's.
        XCTAssertEqual(DropPlacer.consume(text).placed.map(\.local), ["198.18.1.2"])
    }

    func testFacts() {
        let src = FactSource(check: "kernel-trace")
        let known = FactStore(PawsDropCounts(machine: 3, here: 1, whyUnknown: "").facts(source: src))
        XCTAssertEqual(known.value("trace.paws_drops"), .int(3))
        XCTAssertEqual(known.value("trace.paws_drops_here"), .int(1))
        let noPort = FactStore(PawsDropCounts(machine: 3, here: nil, whyUnknown: "needs --port").facts(source: src))
        XCTAssertEqual(noPort.value("trace.paws_drops"), .int(3))
        XCTAssertEqual(noPort["trace.paws_drops_here"]?.unknownReason, "needs --port")
        let none = FactStore(PawsDropCounts.unknown("no kfree_skb").facts(source: src))
        XCTAssertEqual(none["trace.paws_drops"]?.unknownReason, "no kfree_skb")
    }
}
