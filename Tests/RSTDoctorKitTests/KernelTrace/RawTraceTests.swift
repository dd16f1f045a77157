import XCTest

@testable import RSTDTrace

/// The binary reader against the text reader on the same events: Tests/Fixtures/KernelTrace/raw-6.18
/// holds one capture (Linux 6.18, see its KERNEL and capture.sh) read both ways from one tracefs
/// instance: the text of its `trace` file and the ring-buffer pages of its per-CPU `trace_pipe_raw`.
final class RawTraceTests: XCTestCase {
    private let dir = "raw-6.18/"

    private func layout() throws -> RingBufferLayout {
        let (layout, why) = RingBufferLayout.parse(headerPage: try TraceFixtures.text(dir + "header_page"),
                                                   headerEvent: try TraceFixtures.text(dir + "header_event"))
        return try XCTUnwrap(layout, why)
    }

    private func format(_ event: String) throws -> EventFormat {
        try EventFormat.parse(try TraceFixtures.text(dir + event + ".format"))
    }

    private func decoder() throws -> RawEventDecoder {
        try RawEventDecoder.make(send: format("tcp_send_reset"), receive: format("tcp_receive_reset"),
                                 drop: format("kfree_skb"), close: format("inet_sock_set_state")).get()
    }

    /// The pages of both CPUs, as `trace_pipe_raw` handed them out (4096 bytes each).
    private func pages() throws -> RawPages {
        var out = RawPages()
        for cpu in 0..<2 {
            let data = try Data(contentsOf: TraceFixtures.dir.appending(path: dir + "cpu\(cpu).pages"))
            XCTAssertEqual(data.count % 4096, 0)
            data.withUnsafeBytes { all in
                for start in stride(from: 0, to: all.count, by: 4096) {
                    out.append(cpu: cpu, UnsafeRawBufferPointer(rebasing: all[start..<(start + 4096)]))
                }
            }
        }
        return out
    }

    /// The task names the text shows, by pid (the kernel's saved_cmdlines at capture time).
    private func taskNames(_ text: String) -> [Int: String] {
        var names: [Int: String] = [:]
        for raw in text.split(separator: "\n") { if let l = TraceLine.parse(raw) { names[l.pid] = l.task } }
        return names
    }

    /// What the binary records cannot carry as the text does (see RawEventDecoder): left out of the comparison.
    private func comparable(_ e: ResetEvent) -> ResetEvent {
        var e = e
        e.skbaddr = nil
        e.dropLocation = nil
        return e
    }

    func testBinaryPagesGiveTheEventsOfTheText() throws {
        let text = try TraceFixtures.text(dir + "trace.txt")
        let lines = text.split(separator: "\n").compactMap { TraceLine.parse($0) }
        XCTAssertEqual(lines.count, 66)
        let names = taskNames(text)
        for filter in [TraceFilter(), TraceFilter(addresses: ["198.18.201.2", "fd00:201::2"]), TraceFilter(port: 8082)] {
            var t = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), filter: filter, clockOffset: 1_000_000)
            var b = t
            let fromText = t.consume(text)
            let fromPages = b.consume(try pages(), layout: try layout(), decoder: try decoder()) { names[$0] ?? "<...>" }
            XCTAssertEqual(fromPages.map(comparable), fromText.map(comparable))
            XCTAssertFalse(fromText.isEmpty)
            XCTAssertEqual(b.drops, t.drops)
            XCTAssertEqual(b.elsewhere, t.elsewhere)
        }
        // The capture covers what matters: v4 and v6, softirq and process context, drops joined, both CPUs.
        var c = ResetCorrelator(window: 0.02, reasons: try TraceFixtures.reasons(), filter: TraceFilter())
        let all = c.consume(try pages(), layout: try layout(), decoder: try decoder()) { names[$0] ?? "<...>" }
        XCTAssertEqual(Set(all.map(\.reason)), ["NO_SOCKET", "TCP_STATE"])
        XCTAssertTrue(all.contains { $0.src == "fd00:201::2" } && all.contains { $0.src == "198.18.201.2" })
        XCTAssertEqual(Set(all.map(\.context)), [.softirq, .process])
        XCTAssertTrue(all.contains { $0.process?.name == "python3" }, "SO_LINGER {1,0}: the closer's own close()")
        XCTAssertTrue(all.filter { $0.reason == "NO_SOCKET" }.allSatisfy { $0.dropReason == "NO_SOCKET" })
        XCTAssertEqual(Set(all.map(\.cpu)), [0, 1])
    }

    /// Every record of the pages, one for each line of the text, at the text's time to the microsecond.
    func testRecordTimesMatchTheText() throws {
        let text = try TraceFixtures.text(dir + "trace.txt")
        let lines = text.split(separator: "\n").compactMap { TraceLine.parse($0) }
        var stats = RawTraceStats()
        let records = RawTraceBatch.records(try pages(), layout: try layout(), decoder: try decoder(), clockOffset: 0,
                                            comm: { _ in "" }, stats: &stats)
        XCTAssertEqual(stats.records, lines.count)
        XCTAssertEqual(stats.malformedPages, 0)
        XCTAssertEqual(stats.pagesAfterLoss, 0)
        XCTAssertEqual(records.map(\.time).sorted(), lines.map(\.timestamp).sorted())
        XCTAssertEqual(records.map(\.time), records.map(\.time).sorted(), "merged across CPUs in time order")
    }

    func testLinux66LayoutDecodesAndUnknownLayoutsFallBack() throws {
        // 6.6: tcp_send_reset with family/port/address fields; its state names come from inet_sock_set_state.
        let send66 = try TraceFixtures.format("6.6", "tcp_send_reset")
        let receive66 = try TraceFixtures.format("6.6", "tcp_receive_reset")
        let d = try RawEventDecoder.make(send: send66, receive: receive66, drop: nil, close: format("inet_sock_set_state")).get()
        XCTAssertNil(d.sendReason)
        XCTAssertEqual(d.stateNames[10], "TCP_LISTEN")
        // Without a table that numbers tcp_send_reset's states, the text is read.
        guard case .failure(let why) = RawEventDecoder.make(send: send66, receive: receive66, drop: nil, close: nil) else {
            return XCTFail("decoded states without their numbers")
        }
        XCTAssertTrue(why.reason.contains("TCP_ESTABLISHED"), why.reason)
        // A tcp_send_reset without addresses: not guessed.
        let odd = try EventFormat.parse("""
            name: tcp_send_reset
            ID: 9
            format:
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
            \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
            \tfield:int state;\toffset:8;\tsize:4;\tsigned:1;
            print fmt: "state=%d", REC->state
            """)
        guard case .failure(let why2) = RawEventDecoder.make(send: odd, receive: receive66, drop: nil, close: nil) else {
            return XCTFail("decoded a layout without addresses")
        }
        XCTAssertTrue(why2.reason.contains("neither sockaddr"), why2.reason)
        // A ring buffer described otherwise (a 4-bit type): not read in binary.
        let header = try TraceFixtures.text(dir + "header_event").replacingOccurrences(of: ":    5 bits", with: ":    4 bits")
        XCTAssertNil(RingBufferLayout.parse(headerPage: try TraceFixtures.text(dir + "header_page"), headerEvent: header).0)
    }

    /// Time extensions, absolute stamps, discarded events and the end padding, on a page built by hand.
    func testPageRecordTypes() throws {
        let layout = try layout()
        var page = [UInt8](repeating: 0, count: 4096)
        func put32(_ v: UInt32, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { page.replaceSubrange(at..<(at + 4), with: $0) } }
        func put64(_ v: UInt64, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { page.replaceSubrange(at..<(at + 8), with: $0) } }
        put64(1_000_000, 0)  // page time stamp
        var pos = 16
        put32(2 | (5 << 5), pos); put32(0xAAAA, pos + 4); put32(0xBBBB, pos + 8); pos += 12  // data, 8 bytes, +5
        put32(30 | (7 << 5), pos); put32(1, pos + 4); pos += 8  // extend by 1 << 27 + 7
        put32(1 | (0 << 5), pos); put32(0xCCCC, pos + 4); pos += 8  // data, 4 bytes, +0
        put32(29 | (3 << 5), pos); put32(12, pos + 4); pos += 16  // a discarded event of 16 bytes: no time
        put32(31 | (9 << 5), pos); put32(2, pos + 4); pos += 8  // absolute: 2 << 27 + 9
        put32(0 | (1 << 5), pos); put32(12, pos + 4); put32(0xDDDD, pos + 8); put32(0xEEEE, pos + 12); pos += 16  // long form, +1
        put32(29, pos); pos += 4  // end of the page's events
        put64(UInt64(pos - 16) | (1 << 31), 8)  // commit, with "events lost before"
        var seen: [(UInt64, [UInt32])] = []
        let summary = page.withUnsafeBytes { p in
            layout.events(in: p) { ts, payload in
                let words = stride(from: 0, to: payload.count, by: 4).map { payload.loadUnaligned(fromByteOffset: $0, as: UInt32.self) }
                seen.append((ts, words))
            }
        }
        let extended: UInt64 = 1_000_005 + (1 << 27) + 7
        let absolute: UInt64 = (2 << 27) + 9 + 1
        XCTAssertEqual(seen.map(\.0), [1_000_005, extended, absolute])
        XCTAssertEqual(seen.map(\.1), [[0xAAAA, 0xBBBB], [0xCCCC], [0xDDDD, 0xEEEE]])
        XCTAssertTrue(summary.missedBefore)
        XCTAssertFalse(summary.malformed)
        // A length past the page ends it, marked malformed.
        put32(0 | (1 << 5), 16); put32(100_000, 20)
        XCTAssertTrue(page.withUnsafeBytes { layout.events(in: $0) { _, _ in } }.malformed)
    }
}
