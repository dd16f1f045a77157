import XCTest

@testable import RSTDTrace

final class EventFormatTests: XCTestCase {
    /// The symbols in a print format counted independently of the parser: `{ x, "NAME" }` pairs
    /// after `__print_symbolic(REC->field,` up to the closing parenthesis.
    private func rawPairs(_ text: String, field: String) -> [(String, String)] {
        guard let start = text.range(of: "__print_symbolic(REC->\(field),") else { return [] }
        let rest = text[start.upperBound...]
        let end = rest.firstIndex(of: ")") ?? rest.endIndex
        let body = rest[..<end]
        var out: [(String, String)] = []
        for chunk in body.components(separatedBy: "{").dropFirst() {
            let inner = chunk.components(separatedBy: "}")[0]
            let parts = inner.components(separatedBy: ",")
            guard parts.count >= 2 else { continue }
            out.append((parts[0].trimmingCharacters(in: .whitespaces),
                        parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))))
        }
        return out
    }

    func testSendResetFormatOfThisKernel() throws {
        let text = try TraceFixtures.text("format-6.18/tcp_send_reset.format")
        let f = try EventFormat.parse(text)
        XCTAssertEqual(f.name, "tcp_send_reset")
        XCTAssertNotNil(f.id)
        XCTAssertEqual(f.fields.map(\.name), ["common_type", "common_flags", "common_preempt_count", "common_pid",
                                              "skbaddr", "skaddr", "state", "reason", "saddr", "daddr"])
        XCTAssertEqual(f.field("reason")?.type, "enum sk_rst_reason")
        XCTAssertEqual(f.field("saddr")?.arrayLength, 28)
        XCTAssertEqual(f.field("skaddr")?.offset, 16)
        XCTAssertEqual(f.field("state")?.signed, true)
        // Every pair of the reason table, in order, with its number.
        let raw = rawPairs(text, field: "reason")
        XCTAssertGreaterThan(raw.count, 10)
        XCTAssertEqual(f.symbols["reason"]?.map(\.name), raw.map(\.1))
        XCTAssertEqual(f.symbols["reason"]?.map(\.value), raw.map { Int64($0.0) })
        XCTAssertEqual(f.value(of: "NO_SOCKET", in: "reason"), raw.first { $0.1 == "NO_SOCKET" }.flatMap { Int64($0.0) })
        XCTAssertTrue(f.names(in: "reason").contains("TCP_ABORT_ON_CLOSE"))
        // The kernel leaves TCP state identifiers unresolved here: names without numbers.
        let states = try XCTUnwrap(f.symbols["state"])
        XCTAssertEqual(states.map(\.name), rawPairs(text, field: "state").map(\.1))
        XCTAssertTrue(states.contains { $0.name == "TCP_LISTEN" && $0.value == nil && $0.key == "TCP_LISTEN" })
    }

    func testKfreeSkbAndSetStateFormats() throws {
        let drop = try TraceFixtures.format("6.18", "kfree_skb")
        let rawDrop = rawPairs(try TraceFixtures.text("format-6.18/kfree_skb.format"), field: "reason")
        XCTAssertEqual(drop.names(in: "reason"), rawDrop.map(\.1))
        XCTAssertNotNil(drop.value(of: "TCP_LISTEN_OVERFLOW", in: "reason"))
        XCTAssertNotNil(drop.value(of: "NETFILTER_DROP", in: "reason"))
        XCTAssertNotEqual(drop.value(of: "NO_SOCKET", in: "reason"),
                          try TraceFixtures.format("6.18", "tcp_send_reset").value(of: "NO_SOCKET", in: "reason"),
                          "the two enums number NO_SOCKET differently: names, not numbers, must be shared")
        XCTAssertTrue(drop.hasField("protocol"))
        let st = try TraceFixtures.format("6.18", "inet_sock_set_state")
        XCTAssertEqual(st.value(of: "TCP_CLOSE", in: "newstate"), 7)
        XCTAssertEqual(st.value(of: "IPPROTO_TCP", in: "protocol"), 6)
        XCTAssertEqual(st.symbols["oldstate"]?.count, st.symbols["newstate"]?.count)
    }

    func testOlderKernelWithoutReason() throws {
        let f = try TraceFixtures.format("6.6", "tcp_send_reset")
        XCTAssertFalse(f.hasField("reason"))
        XCTAssertEqual(f.names(in: "reason"), [])
        XCTAssertEqual(f.field("sport")?.offset, 28)
        XCTAssertEqual(f.value(of: "AF_INET6", in: "family"), 10)
        XCTAssertTrue(f.names(in: "state").contains("TCP_CLOSE"))
        let rx = try TraceFixtures.format("6.6", "tcp_receive_reset")
        XCTAssertTrue(rx.hasField("sock_cookie"))
    }

    func testGarbageIsRejectedNotCrashing() {
        XCTAssertThrowsError(try EventFormat.parse(""))
        XCTAssertThrowsError(try EventFormat.parse("name: x\nformat:\n"))
        XCTAssertThrowsError(try EventFormat.parse(String(repeating: "\u{1b}[31m{{{,,\"", count: 1000)))
        // Truncated print formats and tables end cleanly.
        let truncated = "name: e\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\nprint fmt: \"%s\", __print_symbolic(REC->a, { 1, \"ONE\" }, { 2, \"TW"
        let f = try? EventFormat.parse(truncated)
        XCTAssertEqual(f?.symbols["a"]?.first?.name, "ONE")
        // Random tails after the print format: never a crash, and a format that parses keeps its field.
        var rng = SeededGenerator(seed: 0x6576_656E_7466)
        var parsed = 0
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = "name: fuzz\nformat:\n\tfield:int a;\toffset:0;\tsize:4;\tsigned:1;\nprint fmt: __print_symbolic(REC->a, "
                + String(decoding: bytes, as: UTF8.self)
            guard let f = try? EventFormat.parse(text) else { continue }
            parsed += 1
            XCTAssertTrue(f.hasField("a"), "seed \(rng.seed)")
        }
        XCTAssertGreaterThan(parsed, 0, "a format with a garbled print fmt still yields its fields")
    }
}
