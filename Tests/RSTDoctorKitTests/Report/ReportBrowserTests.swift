import Foundation
import XCTest

@testable import RSTDRender

/// The HTML report in a real headless Chromium (`make test`'s deps step installs it; `make test-browser`
/// runs only these): the page shows the diagnosis and the chart, no word of a table header is broken
/// across lines, and nothing from the data runs as script — not through escaping, and not even when
/// markup is injected past it (the page's Content-Security-Policy allows no script).
final class ReportBrowserTests: XCTestCase {
    static var chromium: String? {
        for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return nil
    }

    var dir = ""

    override func setUpWithError() throws {
        guard Self.chromium != nil else {
            // `make test` installs Chromium, so a missing one is a failure there, not a silent skip.
            if ProcessInfo.processInfo.environment["RSTDOCTOR_NO_BROWSER"] == "1" {
                throw XCTSkip("RSTDOCTOR_NO_BROWSER=1: the headless-Chromium tests are skipped")
            }
            XCTFail("Chromium is not installed: `make deps` (run by `make test`) installs it (apt install chromium); "
                + "RSTDOCTOR_NO_BROWSER=1 skips these tests")
            throw XCTSkip("no Chromium")
        }
        dir = NSTemporaryDirectory() + "rstd-browser-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Runs headless Chromium on a file with its own profile directory; returns stdout.
    func chromium(_ args: [String], page: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try XCTUnwrap(Self.chromium))
        // --no-sandbox: tests run as root, where Chromium refuses its sandbox. The page cannot reach the
        // network anyway (CSP default-src 'none'), and --virtual-time-budget lets any timer-driven script run.
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                       "--user-data-dir=\(dir)/profile", "--virtual-time-budget=2000"] + args + ["file://" + page]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let o = Box(), e = Box()
        let g = DispatchGroup()
        g.enter(); DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        g.enter(); DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        let deadline = Date().addingTimeInterval(90)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); g.wait(); XCTFail("chromium did not finish within 90s"); return "" }
        g.wait()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: e.data, as: UTF8.self).suffix(2000).description)
        return String(decoding: o.data, as: UTF8.self)
    }

    /// The payloads set an attribute on <html> and the title; in the DOM as text they are harmless.
    static func scriptRan(_ dom: String) -> Bool {
        dom.range(of: #"<html[^>]*data-pwned="#, options: .regularExpression) != nil || dom.contains("<title>PWNED</title>")
    }

    func write(_ html: String, _ name: String) throws -> String {
        let path = dir + "/" + name
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testReportRendersWithChartAndNoDataRunsAsScript() throws {
        let report = ReportFixtures.report([ReportFixtures.server(hostile: true)])
        let page = try write(HTMLReport.render(report), "report.html")
        let dom = try chromium(["--dump-dom"], page: page)
        XCTAssertTrue(dom.contains("id=\"probability-chart\""), "the chart is in the rendered DOM")
        XCTAssertEqual(dom.components(separatedBy: "class=\"bar\"").count - 1, 4)
        XCTAssertTrue(dom.contains("id=\"reset-timeline\""))
        XCTAssertTrue(dom.contains("Most likely: <b>accept-queue-overflow</b>"), "the diagnosis is shown")
        XCTAssertFalse(Self.scriptRan(dom), "a script or handler from the data ran")
        XCTAssertFalse(dom.contains("<img"), "the hostile process name stayed text")
        XCTAssertTrue(dom.contains("&lt;img src=x onerror="), "and is shown as text")

        // A screenshot, kept for people to look at (.build/report-browser/report.png).
        let png = dir + "/report.png"
        _ = try chromium(["--screenshot=\(png)", "--window-size=1200,2600"], page: page)
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertGreaterThan(data.count, 20_000, "a page with content, not a blank one")
        let keep = ReportFixtures.root + "/.build/report-browser"
        try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: keep + "/report.png")
        try? FileManager.default.copyItem(atPath: png, toPath: keep + "/report.png")
    }

    /// Markup injected past escaping (as a bug would) is still inert: the policy blocks inline script
    /// and event handlers. The same page without the policy runs them, so this test can fail.
    func testPolicyBlocksInjectedScript() throws {
        let html = HTMLReport.render(ReportFixtures.report([ReportFixtures.server()]))
        let injection = ReportFixtures.hostileScript + ReportFixtures.hostileProcess
        let injected = html.replacingOccurrences(of: "<h1>", with: injection + "<h1>")
        XCTAssertNotEqual(injected, html)
        let dom = try chromium(["--dump-dom"], page: try write(injected, "injected.html"))
        XCTAssertTrue(dom.contains("probability-chart"))
        XCTAssertFalse(Self.scriptRan(dom), "injected script or handler ran despite the policy")

        let policy = "<meta http-equiv=\"Content-Security-Policy\" content=\"\(HTMLReport.contentSecurityPolicy)\">"
        XCTAssertTrue(injected.contains(policy))
        let open = try chromium(["--dump-dom"], page: try write(injected.replacingOccurrences(of: policy, with: ""), "open.html"))
        XCTAssertTrue(Self.scriptRan(open), "control: without the policy the injected script runs, so the check above is real")
    }
}
