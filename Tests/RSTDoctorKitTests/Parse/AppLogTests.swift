import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class AppLogTests: XCTestCase {
    /// Real logs of clients hitting each failure in a namespace: Python (refused, reset by SO_LINGER
    /// 0, broken pipe, timeout), Node (ECONNREFUSED, ECONNRESET) and curl's stderr.
    func testRealClientLogs() throws {
        let facts = try AppLogParser.parse(RawOutput(parts: [
            .init(name: "/var/log/orders/client.log", text: try TestFiles.fixture("app-log", "python-client.log")),
            .init(name: "/srv/node/client.log", text: try TestFiles.fixture("app-log", "node-client.log")),
            .init(name: "journalctl -u fetch.service", text: try TestFiles.fixture("app-log", "curl-stderr.log")),
        ]))
        XCTAssertEqual(facts.int("applog.reset"), 4, "python + 2 node + curl")
        XCTAssertEqual(facts.int("applog.broken_pipe"), 1)
        XCTAssertEqual(facts.int("applog.refused"), 2, "curl's `Couldn't connect` does not say refused")
        XCTAssertEqual(facts.int("applog.timeout"), 2)
        XCTAssertEqual(facts.int("applog.upstream_closed"), 0)
        XCTAssertEqual(facts.int("applog.scanned"), 11)
        let lines = facts.records("applog.lines")
        XCTAssertEqual(lines.count, 9)
        XCTAssertEqual(lines.first?.string("kind"), "refused")
        XCTAssertEqual(lines.first?.string("source"), "/var/log/orders/client.log")
        XCTAssertEqual(lines.last?.string("source"), "journalctl -u fetch.service")
        XCTAssertEqual(lines.last?.string("text"), "curl: (28) Connection timed out after 1001 milliseconds")
    }

    /// nginx error-log lines in nginx's format (ngx_http_upstream.c texts), one line counting twice.
    func testNginxLines() throws {
        let log = """
        2026/11/21 19:56:40 [error] 39#39: *1371 upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://10.99.0.1:6200/", host: "x"
        2026/11/21 19:56:41 [error] 39#39: *1372 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 127.0.0.1
        2026/11/21 19:56:42 [error] 39#39: *1373 upstream timed out (110: Connection timed out) while reading response header from upstream
        2026/11/21 19:56:43 [error] 39#39: *1374 connect() failed (111: Connection refused) while connecting to upstream
        """
        let facts = try AppLogParser.parse(RawOutput(parts: [.init(name: "/var/log/nginx/error.log", text: log)]))
        XCTAssertEqual(facts.int("applog.upstream_closed"), 1)
        XCTAssertEqual(facts.int("applog.reset"), 1)
        XCTAssertEqual(facts.int("applog.timeout"), 1, "`timed out` twice on one line counts once")
        XCTAssertEqual(facts.int("applog.refused"), 1)
        XCTAssertEqual(facts.records("applog.lines").map { $0.string("kind") }, ["upstream_closed", "reset", "timeout", "refused"])
    }

    func testCapsAndGarbage() throws {
        let many = String(repeating: "read: connection reset by peer\n", count: 500)
        let facts = try AppLogParser.parse(RawOutput(parts: [.init(name: "a.log", text: many)]))
        XCTAssertEqual(facts.int("applog.reset"), 500)
        XCTAssertEqual(facts.records("applog.lines").count, AppLogParser.maxLines)
        let long = String(repeating: "x", count: 10_000) + " EPIPE"
        let l = try AppLogParser.parse(RawOutput(long))
        XCTAssertEqual(l.int("applog.broken_pipe"), 1)
        XCTAssertEqual(l.records("applog.lines").first?.string("text")?.count, AppLogParser.maxText)
        let none = try AppLogParser.parse(RawOutput(""))
        XCTAssertEqual(none.int("applog.reset"), 0)
        _ = try AppLogParser.parse(RawOutput("\u{0}\u{ff}\u{1b}[2J"))
    }
}
