import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class SSSocketsTests: XCTestCase {
    func parse(_ text: String) throws -> ParsedFacts { try SSSocketsParser.parse(RawOutput(text)) }

    /// Captured in a namespace: ESTAB pairs, CLOSE-WAIT with one unread byte (the FIN), its peer in
    /// FIN-WAIT-2, a TIME-WAIT, a SYN-SENT whose SYNs nft drops, a keepalive socket, unread data.
    func testNamespaceStates() throws {
        let facts = try parse(try TestFiles.fixture("ss-sockets", "netns-states-Htanoi.txt"))
        XCTAssertEqual(facts.int("sockets.total"), 14)
        XCTAssertEqual(facts.int("sockets.estab"), 6)
        XCTAssertEqual(facts.int("sockets.listen"), 4)
        XCTAssertEqual(facts.int("sockets.close_wait"), 1)
        XCTAssertEqual(facts.int("sockets.time_wait"), 1)
        XCTAssertEqual(facts.int("sockets.fin_wait2"), 1)
        XCTAssertEqual(facts.int("sockets.syn_sent"), 1)
        XCTAssertEqual(facts.int("sockets.syn_recv"), 0)
        XCTAssertEqual(facts.int("sockets.orphan_like"), 1)
        XCTAssertEqual(facts.int("sockets.with_recv_q"), 2)
        let s = facts.records("sockets")
        XCTAssertEqual(s.count, 14)

        let synSent = try XCTUnwrap(s.first { $0.string("state") == "SYN-SENT" })
        XCTAssertEqual(synSent.string("peer"), "10.99.0.2")
        XCTAssertEqual(synSent.int("pport"), 7070)
        XCTAssertEqual(synSent.string("timer"), "on")
        XCTAssertEqual(try XCTUnwrap(synSent.duration("timer_left")), 6.816, accuracy: 1e-9)
        XCTAssertEqual(synSent.int("retrans"), 7)
        XCTAssertEqual(synSent.int("retrans_total"), 7)
        XCTAssertEqual(try XCTUnwrap(synSent.duration("rto")), 8.0, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(synSent.duration("last_send")), 102.816, accuracy: 1e-9)

        let keepalive = try XCTUnwrap(s.first { $0.string("timer") == "keepalive" })
        XCTAssertEqual(keepalive.string("local"), "::1")
        XCTAssertEqual(try XCTUnwrap(keepalive.duration("timer_left")), 587, accuracy: 1e-9)

        let tw = try XCTUnwrap(s.first { $0.string("state") == "TIME-WAIT" })
        XCTAssertEqual(tw.string("local"), "10.99.0.1", "IPv4-mapped addresses become IPv4")
        XCTAssertEqual(tw.int("lport"), 9090)
        XCTAssertEqual(tw.string("timer"), "timewait")
        XCTAssertEqual(tw.duration("timer_left"), 47)
        XCTAssertNil(tw["rto"], "the TIME-WAIT info line is blank")

        let cw = try XCTUnwrap(s.first { $0.string("state") == "CLOSE-WAIT" })
        XCTAssertEqual(cw.int("recv_q"), 1)
        XCTAssertEqual(cw.int("pport"), 45028)
        XCTAssertEqual(cw.string("timer"), "")
        XCTAssertEqual(try XCTUnwrap(cw.duration("last_recv")), 12.58, accuracy: 1e-9)

        let unread = try XCTUnwrap(s.first { $0.int("recv_q") == 1000 })
        XCTAssertEqual(unread.string("state"), "ESTAB")
        XCTAssertEqual(facts.values["sockets.truncated"], .bool(false))
    }

    func testHeaderVariantGivesSameRecords() throws {
        let a = try parse(try TestFiles.fixture("ss-sockets", "netns-states-Htanoi.txt")).records("sockets")
        let b = try parse(try TestFiles.fixture("ss-sockets", "netns-states-with-header-tanoi.txt")).records("sockets")
        XCTAssertEqual(a.count, b.count)
        XCTAssertEqual(Set(a.map { $0.string("state") ?? "" }), Set(b.map { $0.string("state") ?? "" }))
    }

    func testCorpusWithNetid() throws {
        let facts = try parse(try TestFiles.corpus("ss/insights-core__ss_-tupna_2.txt"))
        XCTAssertEqual(facts.int("sockets.time_wait"), 3)
        XCTAssertEqual(facts.int("sockets.estab"), 8)
        let ff = try XCTUnwrap(facts.records("sockets").first { $0.string("process") == "firefox" })
        XCTAssertEqual(ff.int("pid"), 12645)
    }

    func testPrintMsTimerFormats() {
        func t(_ s: String) -> Double? {
            var s = s
            s.makeContiguousUTF8()
            return s.utf8.withContiguousStorageIfAvailable { SSSocketsParser.Scanner.msTimer($0, 0..<$0.count) } ?? nil
        }
        XCTAssertEqual(t("936ms"), 0.936)
        XCTAssertEqual(t("6.816ms"), 6.816)
        XCTAssertEqual(t("58sec"), 58)
        XCTAssertEqual(t("9min58sec"), 598)
        XCTAssertEqual(t("12min"), 720)
        XCTAssertEqual(try XCTUnwrap(t("1.050ms")), 1.05, accuracy: 1e-9, "seconds, a dot, then milliseconds")
        XCTAssertEqual(t(""), 0)
        XCTAssertNil(t("soon"))
        XCTAssertNil(t("12"))
    }

    /// 100k sockets with their -i lines (about 40 MB) in one pass.
    func testHundredThousandSockets() throws {
        let sample = try TestFiles.fixture("ss-sockets", "netns-states-Htanoi.txt")
        let lines = sample.split(separator: "\n", omittingEmptySubsequences: false)
        let estab = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("ESTAB      1000") })
        let block = lines[estab] + "\n" + lines[estab + 1] + "\n"
        var big = ""
        big.reserveCapacity(block.utf8.count * 100_000)
        for _ in 0..<100_000 { big += block }
        let start = Date()
        let facts = try parse(big)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(facts.int("sockets.total"), 100_000)
        XCTAssertEqual(facts.int("sockets.with_recv_q"), 100_000)
        XCTAssertEqual(facts.records("sockets").count, 100_000)
        XCTAssertEqual(facts.records("sockets").last?.duration("last_recv"), 12.532)
        print("ss-sockets: 100k sockets parsed in \(String(format: "%.2f", elapsed)) s")
        XCTAssertLessThan(elapsed, 20, "debug build; release is several times faster")
    }

    func testGarbageTruncatedEmpty() throws {
        XCTAssertThrowsError(try parse("ss: invalid option\nUsage: ss [ OPTIONS ]\n"))
        XCTAssertEqual(try parse("").int("sockets.total"), 0)
        let full = try TestFiles.fixture("ss-sockets", "netns-states-Htanoi.txt")
        var bytes = Array(full.utf8)
        for cut in stride(from: 0, to: bytes.count, by: 97) {
            _ = try? parse(String(decoding: bytes.prefix(cut), as: UTF8.self))
        }
        // Flip bytes: binary noise must not crash.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
        _ = try? parse(String(decoding: bytes, as: UTF8.self))
        let odd = try parse("ESTAB 0 0 1.2.3.4:5 6.7.8.9:10 timer:(on,\n\t rto: lastsnd:x retrans:1/ lastrcv:99999999999999999999\n")
        XCTAssertEqual(odd.int("sockets.total"), 1)
        XCTAssertEqual(odd.records("sockets").first?.string("timer"), "on")
    }
}
