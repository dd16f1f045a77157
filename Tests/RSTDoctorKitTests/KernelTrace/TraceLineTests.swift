import XCTest
@testable import RSTDPipeline
@testable import RSTDRender
@testable import RSTDCollect
@testable import RSTDInfer
@testable import RSTDKnowledge
@testable import RSTDCapture
@testable import RSTDTrace
@testable import RSTDSystem
@testable import RSTDData
@testable import RSTDCore
@testable import RSTDParse
@testable import RSTDInteractive

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

    func testGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abc-[]0123456789.: =\t\u{0}é\u{1b}")
        for _ in 0..<2000 {
            let s = String((0..<Int.random(in: 0..<120, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            _ = TraceLine.parse(Substring(s))
        }
    }
}
