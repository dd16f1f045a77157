import Foundation
import XCTest
@testable import RSTDRender
@testable import RSTDInfer
@testable import RSTDCore

/// Issue 15's acceptance: the HTML report in headless Chromium, screenshotted, with no word of a
/// table header broken across lines ("Statu/s", "findi/ng"). Chromium lays the page out at a narrow
/// and a wide window; a measuring script (added to a test copy of the page only: the report itself
/// allows no script) asks the layout engine where each header word's characters landed, and a word
/// whose characters sit on more than one line is broken. A planted bad stylesheet must be caught, so
/// the test can fail.
extension ReportBrowserTests {
    /// Marks `<html data-broken="…">` with every header word split over lines, `data-words` with how
    /// many words it measured.
    static let measure = """
        <script>
        addEventListener('load', () => {
          const broken = []; let words = 0;
          for (const th of document.querySelectorAll('th')) {
            const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
              const re = /\\S+/g; let m;
              while ((m = re.exec(n.data)) !== null) {
                words++;
                const r = document.createRange();
                r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
                const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
                if (tops.size > 1) broken.push(m[0]);
              }
            }
          }
          document.documentElement.setAttribute('data-words', String(words));
          document.documentElement.setAttribute('data-broken', broken.join('|'));
        });
        </script>
        """

    /// The header words Chromium broke over lines, and how many it measured, at a window width.
    func brokenHeaderWords(_ html: String, width: Int, name: String) throws -> (broken: [String], words: Int) {
        let policy = "<meta http-equiv=\"Content-Security-Policy\" content=\"\(HTMLReport.contentSecurityPolicy)\">"
        XCTAssertTrue(html.contains(policy))
        let probe = html.replacingOccurrences(of: policy, with: "").replacingOccurrences(of: "</body>", with: Self.measure + "</body>")
        let dom = try chromium(["--dump-dom", "--window-size=\(width),2000"], page: try write(probe, name))
        func attribute(_ a: String) -> String? {
            guard let r = dom.range(of: #"<html[^>]*\#(a)="([^"]*)""#, options: .regularExpression) else { return nil }
            let m = String(dom[r])
            guard let q = m.range(of: "\(a)=\"") else { return nil }
            return String(m[q.upperBound...].dropLast())
        }
        let words = Int(try XCTUnwrap(attribute("data-words"), "the measuring script ran")) ?? 0
        let broken = (attribute("data-broken") ?? "").split(separator: "|").map(String.init)
        return (broken, words)
    }

    func testNoHeaderWordIsBrokenAcrossLines() throws {
        let one = HTMLReport.render(ReportFixtures.report([ReportFixtures.server(hostile: true)]))
        let (r, _) = try ReportFixtures.merged([("server.json", ReportFixtures.server()), ("client.json", ReportFixtures.client())])
        let merged = HTMLReport.render(r)
        for (html, name) in [(one, "one"), (merged, "merged")] {
            for width in [480, 1200] {
                let (broken, words) = try brokenHeaderWords(html, width: width, name: "\(name)-\(width).html")
                XCTAssertGreaterThan(words, 30, "\(name) at \(width)px: the headers were measured")
                XCTAssertEqual(broken, [], "\(name) at \(width)px: header words broken across lines")
            }
        }
        // The screenshot people look at, at a phone's width where breaking would show.
        let png = dir + "/narrow.png"
        _ = try chromium(["--screenshot=\(png)", "--window-size=480,3000"], page: try write(one, "narrow.html"))
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(data.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG")
        let keep = ReportFixtures.root + "/.build/report-browser"
        try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: keep + "/report-narrow.png")
        try? FileManager.default.copyItem(atPath: png, toPath: keep + "/report-narrow.png")
    }

    /// Control: a stylesheet that lets header words break (as the report once did) is caught.
    func testABadStylesheetIsCaught() throws {
        let html = HTMLReport.render(ReportFixtures.report([ReportFixtures.server()]))
        let bad = html.replacingOccurrences(
            of: "</style>", with: "th{white-space:normal!important;word-break:break-all!important;max-width:24px}\n</style>")
        XCTAssertNotEqual(bad, html)
        let (broken, _) = try brokenHeaderWords(bad, width: 480, name: "bad.html")
        XCTAssertTrue(broken.contains("Status") || broken.contains("Cause"), "the planted break was not seen: \(broken)")
    }
}
