import XCTest

@testable import RSTDCore
@testable import RSTDTrace

final class TraceLineTests: XCTestCase {
    func testRealLinesOfThisKernel() throws {
        let text = try TraceFixtures.text("trace/lab-6.18.trace")
        let lines = text.split(whereSeparator: \.isNewline)
        let parsed = lines.compactMap { TraceLine.parse($0) }
        let dataLines = lines.filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertEqual(parsed.count, dataLines.count, "every non-comment line parses")
        let first = try XCTUnwrap(parsed.first)
        XCTAssertEqual(first.task, "python3")
        XCTAssertEqual(first.pid, 25528)
        XCTAssertEqual(first.cpu, 0)
        XCTAssertEqual(first.timestamp, 639.729499, accuracy: 1e-9)
        XCTAssertEqual(first.event, "tcp_send_reset")
        XCTAssertEqual(first["src"], "198.18.0.2:9")
        XCTAssertEqual(first["dest"], "198.18.0.1:42374")
        XCTAssertEqual(first["reason"], "NO_SOCKET")
        let drop = try XCTUnwrap(parsed.first { $0.event == "kfree_skb" })
        XCTAssertEqual(drop["reason"], "NO_SOCKET", "`reason: X` is read like reason=X")
        XCTAssertEqual(drop["location"], "tcp_v4_rcv+0x91/0x13f0")
        XCTAssertEqual(Set(parsed.map(\.event)), ["tcp_send_reset", "tcp_receive_reset", "kfree_skb", "inet_sock_set_state"])
        XCTAssertEqual(parsed.map(\.timestamp), parsed.map(\.timestamp).sorted())
    }

    func testHeaderVariants() throws {
        let idle = try XCTUnwrap(TraceLine.parse("          <idle>-0       [001] ..s2.  1234.500001: tcp_receive_reset: family=AF_INET sport=1 dport=2"))
        XCTAssertEqual(idle.task, "<idle>")
        XCTAssertEqual(idle.pid, 0)
        XCTAssertEqual(idle.cpu, 1)
        // Task names may contain spaces, dashes and ": ".
        let odd = try XCTUnwrap(TraceLine.parse(" my task: x-y-77 [000] d.... 5.000000: tcp_send_reset: src=1.2.3.4:5 dest=6.7.8.9:10 state=UNKNOWN reason=NO_SOCKET"))
        XCTAssertEqual(odd.task, "my task: x-y")
        XCTAssertEqual(odd.pid, 77)
        XCTAssertEqual(odd["reason"], "NO_SOCKET")
        // record-tgid adds a "(TGID)" column.
        let tgid = try XCTUnwrap(TraceLine.parse("  python3-10 (     10) [000] .....  1.5: tcp_send_reset: reason=TCP_STATE"))
        XCTAssertEqual(tgid.pid, 10)
        XCTAssertNil(TraceLine.parse("CPU:1 [LOST 12 EVENTS]"))
        XCTAssertNil(TraceLine.parse("# tracer: nop"))
        XCTAssertNil(TraceLine.parse(""))
        XCTAssertNil(TraceLine.parse(Substring(String(repeating: "a", count: 5000) + "-1 [000] .... 1.0: x: y=1")))
    }

    /// Random well-formed lines (task names with spaces and dashes, any pid, cpu, flags, fields)
    /// parse back to exactly what was written.
    func testRandomWellFormedLinesRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x7472_6163_6531)
        func word(_ alphabet: String, _ n: ClosedRange<Int>) -> String {
            String((0..<Int.random(in: n, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        let events = ["tcp_send_reset", "tcp_receive_reset", "kfree_skb", "inet_sock_set_state"]
        for _ in 0..<500 {
            let task = (0..<Int.random(in: 1...3, using: &rng)).map { _ in word("abcxyz0189-_/<>", 1...8) }.joined(separator: " ")
            let pid = Int.random(in: 0...4_194_304, using: &rng), cpu = Int.random(in: 0...511, using: &rng)
            let flags = ["d....", "..s1.", ".....", "dNs2.", "d.h3."].randomElement(using: &rng)!
            let ts = String(format: "%.6f", Double(UInt32.random(in: 0...UInt32.max, using: &rng)) / 1000)
            let event = events.randomElement(using: &rng)!
            let fields = (0..<Int.random(in: 0...6, using: &rng)).map { _ in (word("abcdefgh_", 1...8), word("ABCxyz0189_.:", 0...12)) }
            let line = "  \(task)-\(pid) [\(String(format: "%03d", cpu))] \(flags) \(ts): \(event): "
                + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            let want = TraceLine(task: task, pid: pid, cpu: cpu, timestamp: try XCTUnwrap(Double(ts)), event: event,
                                 fields: fields.map { (key: $0.0, value: $0.1) }, context: TraceLine.Context.of(flags: Substring(flags)))
            XCTAssertEqual(TraceLine.parse(Substring(line)), want, "seed \(rng.seed): \(line)")
        }
    }

    /// Seeded mutations of real lines (byte flips, cuts, splices of header characters) never crash,
    /// and whatever still parses is well-formed; both outcomes occur, so both paths are exercised.
    func testMutatedRealLinesParseWellFormedOrNotAtAll() throws {
        var rng = SeededGenerator(seed: 0x7472_6163_6532)
        let real = try TraceFixtures.text("trace/lab-6.18.trace").split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("#") }
        let noise = Array("-[]0123456789.: =\t\u{0}é\u{1b}(")
        var parsed = 0, rejected = 0
        for _ in 0..<3000 {
            var chars = Array(real.randomElement(using: &rng)!)
            for _ in 0...Int.random(in: 0...4, using: &rng) where !chars.isEmpty {
                let i = Int.random(in: 0..<chars.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: chars[i] = noise.randomElement(using: &rng)!
                case 1: chars.removeSubrange(i...)
                default: chars.insert(contentsOf: chars[i...].prefix(6), at: Int.random(in: 0...chars.count, using: &rng))
                }
            }
            guard let t = TraceLine.parse(Substring(String(chars))) else { rejected += 1; continue }
            parsed += 1
            XCTAssertTrue(t.timestamp.isFinite && t.timestamp >= 0, "seed \(rng.seed): \(String(chars))")
            XCTAssertFalse(t.event.isEmpty, "seed \(rng.seed): \(String(chars))")
            XCTAssertTrue(t.event.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "seed \(rng.seed): \(String(chars))")
            XCTAssertLessThanOrEqual(t.fields.count, 64)
        }
        XCTAssertGreaterThan(parsed, 100, "mutations that keep the header still parse")
        XCTAssertGreaterThan(rejected, 100, "mutations that break the header are rejected")
    }
}

final class TraceTemplateTests: XCTestCase {
    func testPlaceholdersAreFilledInOnePass() {
        let v: (Substring) -> String? = { ["sport": "8080", "src": "198.18.0.2"][String($0)] }
        XCTAssertEqual(TraceReasonMap.fill("from {src}:{sport}", v), "from 198.18.0.2:8080")
        XCTAssertEqual(TraceReasonMap.fill("no placeholder", v), "no placeholder")
        XCTAssertEqual(TraceReasonMap.fill("{unknown} stays", v), "{unknown} stays")
        XCTAssertEqual(TraceReasonMap.fill("open {sport", v), "open {sport")
        XCTAssertEqual(TraceReasonMap.fill("{sport}{sport}}", v), "80808080}")
        XCTAssertEqual(TraceReasonMap.fill("", v), "")
    }
}

final class TraceAddressTests: XCTestCase {
    func testCanonicalFastPathAgreesWithInetNtop() {
        for a in ["198.18.0.2", "0.0.0.0", "255.255.255.255", "10.0.0.1"] {
            XCTAssertTrue(TraceAddress.isPlainIPv4(a), a)
            XCTAssertEqual(TraceAddress.canonical(a), try? Validate.address(a))
        }
        for a in ["198.018.0.2", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "fd00::1", "::ffff:1.2.3.4", ""] {
            XCTAssertFalse(TraceAddress.isPlainIPv4(a), a)
        }
        XCTAssertEqual(TraceAddress.canonical("::ffff:198.18.0.1"), "198.18.0.1")
        XCTAssertEqual(TraceAddress.canonical("FD00:0::1"), "fd00::1")
    }
}
