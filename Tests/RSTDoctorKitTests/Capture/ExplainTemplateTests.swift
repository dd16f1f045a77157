import Foundation
import XCTest

@testable import RSTDCapture

/// Explanation templates are compiled once (ExplainTemplate): the records they make are the ones the
/// text scan of each template made, byte for byte, on every real capture of the tests.
final class ExplainTemplateTests: XCTestCase {
    private func json(_ url: URL, _ classes: CaptureClasses) -> String? {
        let out = ByteOutput()
        let sink = CaptureJSON(out: out, source: url.lastPathComponent)
        guard let r = try? CaptureFile.analyze(path: url.path, classes: classes, options: CaptureOptions(), sink: sink) else { return nil }
        sink.finish(r)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    func testCompiledTemplatesWriteWhatTheScanWroteForEveryCapture() throws {
        let compiled = try CaptureFixtures.classes()
        let scanned = compiled.interpreted()
        var urls = try CaptureFixtures.corpusFiles().map { CaptureFixtures.corpus.appending(path: $0) }
        let lab = CaptureFixtures.fixtures.appending(path: "lab")
        urls += try FileManager.default.contentsOfDirectory(atPath: lab.path).sorted().map { lab.appending(path: $0) }
        var classesSeen = Set<String>(), records = 0
        for url in urls {
            guard let a = json(url, compiled) else { continue }
            let b = try XCTUnwrap(json(url, scanned), url.lastPathComponent)
            XCTAssertEqual(a, b, url.lastPathComponent)
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any])
            for r in try XCTUnwrap(obj["resets"] as? [[String: Any]]) {
                classesSeen.insert(try XCTUnwrap(r["class"] as? String))
                let explain = try XCTUnwrap(r["explain"] as? String)
                for slot in ExplainTemplate.Slot.allCases { XCTAssertFalse(explain.contains("{\(slot.rawValue)}"), url.lastPathComponent) }
                records += 1
            }
        }
        XCTAssertGreaterThan(records, 1400)
        XCTAssertGreaterThanOrEqual(classesSeen.count, 12, "the captures exercise most templates: \(classesSeen.sorted())")
    }

    /// Odd templates: unknown names and lone braces stay text; the first letter is capitalised even
    /// when the first placeholder is empty; a template's text is kept as written.
    func testCompiledRenderEqualsTheScanOnOddTemplates() {
        let values: [ExplainTemplate.Slot: String] = [.sender: "10.0.0.1:80", .senderRole: "the server", .idleNote: "", .ttl: "64"]
        let value: (ExplainTemplate.Slot) -> String = { values[$0] ?? "<\($0.rawValue)>" }
        for text in [
            "{sender_role} {sender} reset it {idle_note}, TTL {ttl}.", "{idle_note}then {sender}", "{nope} and { lone {ttl}}",
            "{sender}{ttl}", "", "plain text", "émile {sender}", "{idle_note}", "a {unknown} {sender", "{{ttl}}",
        ] {
            let scanned = ExplainTemplate(text, interpreted: true).render(value)
            XCTAssertEqual(ExplainTemplate(text).render(value), scanned, text)
            XCTAssertEqual(ExplainTemplate(text).text, text)
        }
        XCTAssertEqual(ExplainTemplate("{sender_role} {sender} sent it").render(value), "The server 10.0.0.1:80 sent it")
        XCTAssertEqual(ExplainTemplate("{idle_note}then {ttl}").render(value), "Then 64")
        XCTAssertEqual(ExplainTemplate("émile").render(value), "Émile")
        XCTAssertEqual(ExplainTemplate("{nope} x").render(value), "{nope} x")
    }

    func testEveryPlaceholderIsASlotAndClassIndexesFollowAllCases() {
        XCTAssertEqual(CaptureClasses.placeholders.count, ExplainTemplate.Slot.allCases.count)
        for (i, c) in RSTClass.allCases.enumerated() { XCTAssertEqual(c.index, i, c.rawValue) }
    }
}
