import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDRender
@testable import RSTDSystem

/// Hostile host-derived strings (process names, rule comments, log lines, hostnames) come out inert
/// in every format, and garbage input files are refused with a message, never a crash.
final class ReportSafetyTests: XCTestCase {
    let hostile = ReportFixtures.report([ReportFixtures.server(hostile: true)])

    func testHTMLEscapesMarkupAndControlCharacters() {
        let html = HTMLReport.render(hostile)
        XCTAssertFalse(html.contains("<img"), "a process name became an element")
        XCTAssertFalse(html.lowercased().contains("<script"), "a host string became a script element")
        XCTAssertNil(html.range(of: #"<[^>]*\son[a-z]+\s*="#, options: .regularExpression), "an event handler attribute inside a tag")
        XCTAssertTrue(html.contains("&lt;img src=x onerror=&quot;document.title=&#39;PWNED&#39;"), "shown as text")
        XCTAssertTrue(html.contains("&lt;script&gt;"))
        XCTAssertFalse(html.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "ANSI escapes and BEL stripped")
        XCTAssertTrue(html.contains("\\u{1b}[31;1mRED"), "control characters shown visibly")
    }

    func testTerminalOutputStripsControlCharacters() throws {
        let d = ReportFixtures.server(hostile: true)
        let plain = TextRender.render(d, style: Style(enabled: false), verbose: true)
        XCTAssertFalse(plain.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "no raw escape reaches the terminal")
        XCTAssertTrue(plain.contains("lab\\u{1b}[2Jns"), "the namespace's escape is shown, not obeyed")
        // With colour on, the only escapes are rstdoctor's own SGR codes.
        let coloured = TextRender.render(d, style: Style(enabled: true), verbose: true)
        let escapes = coloured.components(separatedBy: "\u{1B}").dropFirst()
        XCTAssertFalse(escapes.isEmpty)
        for e in escapes { XCTAssertNotNil(e.range(of: #"^\[[0-9;]*m"#, options: .regularExpression), "foreign escape: \(e.prefix(12))") }
    }

    func testMarkdownNeutralisesMarkupLinksAndTables() {
        let md = MarkdownReport.render(hostile)
        XCTAssertFalse(md.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        // Outside code spans nothing may open a tag or a link; inside code spans, tags are literal text.
        let outsideCode = md.replacingOccurrences(of: "\\`", with: "").split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 0 }.map(\.element).joined()
        XCTAssertNil(outsideCode.range(of: #"(?<!\\)<[a-zA-Z/]"#, options: .regularExpression), "an unescaped tag outside code")
        XCTAssertNil(outsideCode.range(of: #"(?<!\\)\]\((?!\s)"#, options: .regularExpression), "an unescaped link")
        XCTAssertFalse(outsideCode.contains("**bold** | pipe"), "host text cannot set emphasis")
        XCTAssertTrue(md.contains("\\*\\*bold\\*\\* \\| pipe \\[link\\]\\(javascript:alert\\(1\\)\\)"), "shown escaped")
    }

    func testJSONEscapesEverything() throws {
        let text = CheckJSON.render(ReportFixtures.server(hostile: true)).serialized()
        XCTAssertFalse(text.contains("<"), "< is \\u003c so JSON embedded in HTML cannot close a script")
        XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        // And it reads back to the same strings.
        let back = try Merge.parse(Data(text.utf8), origin: "hostile.json").report
        XCTAssertEqual(back.hostname, "srv" + ReportFixtures.hostileScript)
        XCTAssertEqual(back.resets.first?["task"], .string(ReportFixtures.hostileProcess))
    }

    func testOpenMetricsLabelsStayOnOneLineAndQuoted() {
        let om = OpenMetrics.render(HostReport(ReportFixtures.server(hostile: true)))
        for line in om.split(separator: "\n") where !line.hasPrefix("#") {
            XCTAssertNotNil(line.range(of: #"^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+$"#, options: .regularExpression), "bad sample: \(line)")
        }
        XCTAssertFalse(om.unicodeScalars.contains { $0.value == 0x1B })
        XCTAssertTrue(om.contains(#"hostname="srv<script>document.title='PWNED';"#))
        XCTAssertTrue(om.contains(#"netns="lab\\u{1b}[2Jns""#), om)
    }

    func testGarbageFilesAreRefusedWithAMessage() throws {
        let cases: [(String, String)] = [
            ("", "not valid JSON"), ("{", "not valid JSON"), ("null", "not a JSON object"), ("[1,2]", "not a JSON object"),
            ("{\"schema\":\"rstdoctor.session/1\"}", "rstdoctor.session/1"), ("{\"schema\":\"x\\u001b[2Jy\"}", "\\u{1b}"),
            ("{}", "schema is ''"), (String(repeating: "[", count: 100_000), "not valid JSON"),
        ]
        for (text, message) in cases {
            do {
                _ = try Merge.parse(Data(text.utf8), origin: "in.json")
                XCTFail("accepted \(text.prefix(40))")
            } catch {
                XCTAssertTrue(error.message.contains(message), "\(text.prefix(40)): \(error.message)")
                XCTAssertTrue(error.message.hasPrefix("in.json"), error.message)
            }
        }
        XCTAssertThrowsError(try Terminal.readFile("/nonexistent/rstd.json", maxBytes: Merge.maxFileBytes, what: "a check JSON file"))
    }

    func testWrongTypesStillRender() throws {
        // Every field of the wrong type: the report renders with what it can use.
        let text = #"{"schema":"rstdoctor.check/1","host":{"hostname":7,"focus":{"port":"x"}},"causes":[{"id":1,"probability":"high","for":[{"facts":[1]}]},{"id":"a","probability":1e308}],"checks":{"id":"x"},"resets":[1,"x",{"time":"soon","src":[]}],"answers":[],"evidence":{"counters":[{"value":"x"}],"sysctls":[],"firewall_rules":[null]}}"#
        let input = try Merge.parse(Data(text.utf8), origin: "odd.json")
        XCTAssertEqual(input.report.causes.count, 2)
        XCTAssertEqual(input.report.causes.first?.probability, 1)
        let r = Report(hosts: [input.report], context: ReportFixtures.context)
        XCTAssertTrue(MarkdownReport.render(r).contains("## Diagnosis"))
        XCTAssertTrue(HTMLReport.render(r).contains("probability-chart"))
        XCTAssertTrue(OpenMetrics.render(input.report).hasSuffix("# EOF\n"))
    }

    func testMutatedJSONNeverCrashes() throws {
        let good = Array(CheckJSON.render(ReportFixtures.server(hostile: true)).serialized().utf8)
        var rng = SystemRandomNumberGenerator()
        var parsed = 0
        for _ in 0..<300 {
            var b = good
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: b.remove(at: i)
                default: b.insert(Array("{}[]\",:0".utf8)[Int.random(in: 0..<8, using: &rng)], at: i)
                }
            }
            if let input = try? Merge.parse(Data(b), origin: "m.json") {
                parsed += 1
                let r = Report(hosts: [input.report], context: ReportFixtures.context)
                _ = MarkdownReport.render(r)
                _ = HTMLReport.render(r)
                _ = OpenMetrics.render(input.report)
            }
        }
        XCTAssertGreaterThan(parsed, 0, "some mutations keep valid JSON and must render")
    }
}

/// Times in JSON keep their microseconds: `report --merge` lines up client and server by them.
final class JSONTimeTests: XCTestCase {
    func testDoublesReadBackExactly() throws {
        for t in [1_796_417_119.580123, 1_795_290_000.25, 0.000001, 123.456789, -2.5] {
            let text = JSON.object([("time", .double(t))]).serialized(pretty: false)
            let back = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Double]
            XCTAssertEqual(back?["time"], t, text)
        }
        XCTAssertEqual(JSON.double(1_796_417_119).serialized(), "1796417119")
        XCTAssertEqual(JSON.double(.nan).serialized(), "null")
    }
}
