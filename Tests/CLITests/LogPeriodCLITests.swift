import Foundation
import XCTest

/// `check --log F --since D`: a log line outside the period does not count.
final class LogPeriodCLITests: XCTestCase {
    func testOnlyLogLinesInsideTheSincePeriodCount() throws {
        let f = ISO8601DateFormatter()
        func at(_ ago: Double) -> String { f.string(from: Date().addingTimeInterval(-ago)) }
        let log = """
        \(at(7200)) ERROR orders-client: connect to 198.18.1.2:8080 failed: ConnectionRefusedError: [Errno 111] Connection refused
        \(at(7100)) ERROR orders-client: connect to 198.18.1.2:8080 failed: ConnectionRefusedError: [Errno 111] Connection refused
        \(at(60)) ERROR orders-client: GET /orders failed: ConnectionResetError: [Errno 104] Connection reset by peer
        """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-logperiod-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("client.log").path
        try log.write(toFile: path, atomically: true, encoding: .utf8)

        func noListener(_ since: String) throws -> [String: Any] {
            let r = try CLI.run(["check", "--only", "app-logs", "--log", path, "--since", since, "--format", "json"])
            XCTAssertTrue([0, 1].contains(r.code), r.stderr)
            let causes = try XCTUnwrap(try CLI.json(r.stdout)["causes"] as? [[String: Any]])
            return try XCTUnwrap(causes.first { $0["id"] as? String == "no-listener" })
        }
        func rules(_ c: [String: Any], _ side: String) -> [String] { (c[side] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String } }

        // The last hour: the two refusals of two hours ago do not count, the reset does.
        let hour = try noListener("1h")
        XCTAssertFalse(rules(hour, "for").contains("applog-refused"), "\(hour)")
        XCTAssertTrue(rules(hour, "against").contains("applog-resets-not-refusals"), "\(hour)")
        // Three hours: the refusals count.
        let three = try noListener("3h")
        XCTAssertTrue(rules(three, "for").contains("applog-refused"), "\(three)")
        let e = try XCTUnwrap((three["for"] as? [[String: Any]])?.first { $0["rule"] as? String == "applog-refused" }?["explain"] as? String)
        XCTAssertTrue(e.contains("2 'connection refused' lines in the 3.0h before"), e)
    }
}
