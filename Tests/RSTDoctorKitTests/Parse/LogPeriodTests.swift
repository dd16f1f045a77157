import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

/// Evidence has a time: log time stamps, the period of --since, and the counters' age.
final class LogPeriodTests: XCTestCase {
    let utc = TimeZone(secondsFromGMT: 0)!
    /// 2026-12-04T22:00:00Z
    let now = 1_796_421_600.0

    func t(_ line: String) -> Double? { LogTime.parse(Substring(line), reference: now, timeZone: utc) }

    func testCommonTimeStamps() {
        let at2156 = now - 3 * 60 - 35   // 21:56:25Z
        XCTAssertEqual(t("2026/12/04 21:56:25 [error] 39#39: *1 upstream prematurely closed connection"), at2156, "nginx error log")
        XCTAssertEqual(t("2026-12-04T21:56:25+0000 vm kernel: TCP: request_sock_TCP: Possible SYN flooding"), at2156, "journald short-iso")
        XCTAssertEqual(t("2026-12-04T22:56:25+01:00 host app[1]: x"), at2156, "ISO 8601 with an offset")
        XCTAssertEqual(t("2026-12-04T21:56:25.500Z x")!, at2156 + 0.5, accuracy: 1e-6)
        XCTAssertEqual(t("2026-12-04T21:56:25,674019+00:00 TCP: out of memory")!, at2156 + 0.674019, accuracy: 1e-6, "dmesg --time-format iso")
        XCTAssertEqual(t("2026-12-04 21:56:25,410 ERROR orders-client: reset")!, at2156 + 0.41, accuracy: 1e-6, "Python logging, local time")
        XCTAssertEqual(t("Dec  4 21:56:25 lb haproxy[812]: 198.18.1.1:40000 [04/Dec/2026:21:56:25.101] fe be/srv1 0/0/-1/-1/0 503 SC"), at2156, "syslog")
        XCTAssertEqual(t("198.18.1.1 - - [04/Dec/2026:21:56:25 +0000] \"GET / HTTP/1.1\" 502 157"), at2156, "common log format")
        XCTAssertEqual(t("Dec 31 23:59:59 host x")!, now - 338 * 86400 + 7199, accuracy: 1, "a syslog line from last December is last year's")
        XCTAssertNil(t("curl: (56) Recv failure: Connection reset by peer"))
        XCTAssertNil(t("[  12.345678] TCP: out of memory -- consider tuning tcp_mem"), "seconds since boot are not a time")
    }

    /// A log with resets inside and outside the period: only those inside count.
    func testOnlyLinesInThePeriodCount() throws {
        let log = """
        2026/12/04 19:02:11 [error] 39#39: *90 recv() failed (104: Connection reset by peer) while reading response header from upstream
        2026/12/04 19:02:12 [error] 39#39: *91 connect() failed (111: Connection refused) while connecting to upstream
        2026/12/04 21:56:25 [error] 39#39: *1371 upstream prematurely closed connection while reading response header from upstream
        2026/12/04 21:56:41 [error] 39#39: *1372 recv() failed (104: Connection reset by peer) while reading response header from upstream
        2026/12/04 21:57:02 [error] 39#39: *1380 writev() failed (32: Broken pipe) while sending request to upstream
        """
        let undated = "curl: (56) Recv failure: Connection reset by peer\n"
        let period = RawOutput.Part(name: LogTime.periodPart, text: LogTime.periodText(since: now - 3600, until: now))
        let out = RawOutput(parts: [.init(name: "/var/log/nginx/error.log", text: log), .init(name: "curl.log", text: undated), period])
        // nginx writes local time: read it as UTC here, like the log was written.
        setenv("TZ", "UTC", 1); tzset()
        let f = try AppLogParser.parse(out)
        XCTAssertEqual(f.int("applog.reset"), 1, "19:02 is two hours before 22:00")
        XCTAssertEqual(f.int("applog.refused"), 0)
        XCTAssertEqual(f.int("applog.upstream_closed"), 1)
        XCTAssertEqual(f.int("applog.broken_pipe"), 1)
        XCTAssertEqual(f.int("applog.outside"), 2)
        XCTAssertEqual(f.int("applog.undated"), 1)
        let lines = f.records("applog.lines")
        XCTAssertEqual(lines.first?.string("time"), "2026-12-04T21:56:25Z")
        XCTAssertEqual(lines.prefix(3).map { $0["in_period"] }, [.bool(true), .bool(true), .bool(true)], "lines in the period come first")
        XCTAssertTrue(f.string("applog.period")?.contains("1.0h") ?? false || f.string("applog.period")?.contains("60m") ?? false, f.string("applog.period") ?? "")
        // Without a period (a check's sample, an old bundle) every line counts.
        let all = try AppLogParser.parse(RawOutput(parts: [.init(name: "x", text: log + "\n" + undated)]))
        XCTAssertEqual(all.int("applog.reset"), 3)
        XCTAssertEqual(all.int("applog.refused"), 1)
    }

    func testKernelMessagesOutsideThePeriodDoNotCount() throws {
        let text = """
        2026-12-04T19:56:24+0000 vm kernel: TCP: request_sock_TCP: Possible SYN flooding on port 198.18.1.2:8080. Sending cookies.
        2026-12-04T21:50:00+0000 vm kernel: nf_conntrack: nf_conntrack: table full, dropping packet
        """
        let period = RawOutput.Part(name: LogTime.periodPart, text: LogTime.periodText(since: now - 3600, until: now))
        let f = try KernelLogParser.parse(RawOutput(parts: [.init(name: "journalctl -k", text: text), period]))
        XCTAssertEqual(f.int("kernel_log.syn_flood"), 0)
        XCTAssertEqual(f.int("kernel_log.conntrack_full"), 1)
        XCTAssertEqual(f.int("kernel_log.outside"), 1)
    }

    func testCounterAge() throws {
        let host = try CounterAgeParser.parse(RawOutput(parts: [.init(name: "/proc/uptime", text: "1209613.52 2398761.07\n"), .init(name: "namespace", text: "init")]))
        XCTAssertEqual(host.values["counters.age"], .duration(1209613.52))
        XCTAssertEqual(host.string("counters.since"), "since boot")
        let named = try CounterAgeParser.parse(RawOutput(parts: [.init(name: "/proc/uptime", text: "5000 9000"), .init(name: "namespace", text: "created 1000 now 1120")]))
        XCTAssertEqual(named.values["counters.age"], .duration(120))
        XCTAssertEqual(named.string("counters.since"), "since the network namespace was created")
        let other = try CounterAgeParser.parse(RawOutput(parts: [.init(name: "/proc/uptime", text: "5000 9000"), .init(name: "namespace", text: "unknown")]))
        XCTAssertEqual(other.string("counters.since"), "since boot or since the network namespace was created")
        XCTAssertThrowsError(try CounterAgeParser.parse(RawOutput("garbage")))
    }
}
