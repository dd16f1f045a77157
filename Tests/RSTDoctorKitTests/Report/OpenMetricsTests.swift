import Foundation
import XCTest

@testable import RSTDRender

/// The metrics parse with the official Prometheus client's parsers (text format, as node_exporter's
/// textfile collector reads it, and OpenMetrics), when python3-prometheus-client is installed.
final class OpenMetricsTests: XCTestCase {
    func testValuesAndSeries() {
        let om = OpenMetrics.render(HostReport(ReportFixtures.server()))
        XCTAssertTrue(om.contains("rstdoctor_cause_probability{cause=\"accept-queue-overflow\"} 0.931\n"))
        XCTAssertTrue(om.contains("rstdoctor_likely_causes 1\n"))
        XCTAssertTrue(om.contains("rstdoctor_check_status{check=\"kernel-trace\",step=\"packet-sniffer\",status=\"skipped\"} 1\n"))
        XCTAssertTrue(om.contains("rstdoctor_check_status{check=\"kernel-trace\",step=\"packet-sniffer\",status=\"ok\"} 0\n"))
        XCTAssertTrue(om.contains("rstdoctor_tcp_counter{counter=\"TcpExtListenOverflows\"} 60\n"))
        XCTAssertTrue(om.contains("rstdoctor_tcp_counter_delta{counter=\"TcpExtListenOverflows\"} 6\n"))
        XCTAssertTrue(om.contains("rstdoctor_resets_observed{source=\"trace\",cause=\"accept-queue-overflow\",direction=\"sent\"} 2\n"))
        XCTAssertTrue(om.contains("rstdoctor_resets_observed{source=\"capture\",cause=\"unclassified\",direction=\"unknown\"} 1\n"))
        XCTAssertTrue(om.contains("rstdoctor_last_run_timestamp_seconds 1795290000\n"))
        XCTAssertTrue(om.hasSuffix("# EOF\n"))
        // Every family is declared once, before its samples.
        let types = om.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        XCTAssertEqual(types.count, Set(types).count)
    }

    func testDocsNameOnlyMetricsThatExist() throws {
        let doc = try String(contentsOfFile: ReportFixtures.root + "/docs/report.md", encoding: .utf8)
        let om = OpenMetrics.render(HostReport(ReportFixtures.server()))
        let declared = Set(om.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let re = try NSRegularExpression(pattern: "rstdoctor_[a-z_]+")
        let named = Set(re.matches(in: doc, range: NSRange(doc.startIndex..., in: doc)).compactMap { Range($0.range, in: doc).map { String(doc[$0]) } })
        XCTAssertGreaterThanOrEqual(named.count, 8)
        XCTAssertEqual(named.subtracting(declared), [], "docs/report.md names metrics the output does not have")
        XCTAssertEqual(declared.subtracting(named), [], "metrics missing from docs/report.md")
    }

    func testOfficialParsersAcceptIt() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python), Self.run(python, ["-c", "import prometheus_client"]).0 == 0 else {
            throw XCTSkip("python3-prometheus-client is not installed (apt install python3-prometheus-client): the official parsers cannot check the output")
        }
        let script = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families as prom
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
        text = sys.stdin.read()
        a = {f.name: len(f.samples) for f in prom(text)}
        b = {f.name: len(f.samples) for f in om(text)}
        print(sum(a.values()), sum(b.values()), a['rstdoctor_cause_probability'], b['rstdoctor_check_status'])
        """
        for d in [ReportFixtures.server(), ReportFixtures.server(hostile: true)] {
            let text = OpenMetrics.render(HostReport(d))
            let (code, out) = Self.run(python, ["-c", script], stdin: text)
            XCTAssertEqual(code, 0, out)
            let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
            XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "\(samples) \(samples) 4 \(d.checks.count * 4)", out)
        }
    }

    static func run(_ exe: String, _ args: [String], stdin: String = "") -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inp
        do { try p.run() } catch { return (-1, "\(error)") }
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try? inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
