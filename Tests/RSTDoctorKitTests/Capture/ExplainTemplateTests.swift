import Foundation
import XCTest

@testable import RSTDCapture

/// Explanation templates are compiled once (ExplainTemplate): filling one writes what scanning the
/// template's text for placeholders (`CaptureClasses.render`, then the first letter capitalised)
/// makes of it, for every template of knowledge/capture-classes.yaml and odd ones, whatever the values.
final class ExplainTemplateTests: XCTestCase {
    /// The template filled by scanning its text: the oracle, kept here rather than in the product.
    private func scanned(_ text: String, _ value: (ExplainTemplate.Slot) -> String) -> String {
        var explain = CaptureClasses.render(text) { ExplainTemplate.Slot(rawValue: $0).map(value) }
        if let first = explain.first, first.isLowercase { explain = first.uppercased() + explain.dropFirst() }
        return explain
    }

    /// Values of several shapes: plain, empty, starting with a non-ASCII lower-case letter, holding
    /// braces and placeholder names (a value is never scanned again).
    private let valueSets: [(ExplainTemplate.Slot) -> String] = [
        { "<\($0.rawValue)>" }, { _ in "" }, { "émile \($0.rawValue)" }, { "{\($0.rawValue)}" },
        { $0.rawValue.count % 2 == 0 ? "" : "x \($0.rawValue)" }, { $0.rawValue.hasPrefix("s") ? "" : "9 \\ \"q\"" },
    ]

    func testCompiledTemplatesWriteWhatTheScanWritesForEveryClass() throws {
        let classes = try CaptureFixtures.classes()
        var templates = 0
        for c in RSTClass.allCases {
            let t = classes[c].template
            for value in valueSets {
                XCTAssertEqual(t.render(value), scanned(t.text, value), c.rawValue)
                // Written into an output that already holds text: only the explanation's first letter changes.
                let o = ByteOutput()
                o.text("prefix ")
                t.render(into: o) { slot, o in o.text(value(slot)) }
                XCTAssertEqual(o.string(from: 0), "prefix " + scanned(t.text, value), c.rawValue)
            }
            templates += 1
        }
        XCTAssertGreaterThanOrEqual(templates, 12)
    }

    /// Every real capture's explanations are filled: no placeholder is left in them.
    func testNoPlaceholderLeftInTheExplanationsOfEveryCapture() throws {
        let classes = try CaptureFixtures.classes()
        var urls = try CaptureFixtures.corpusFiles().map { CaptureFixtures.corpus.appending(path: $0) }
        let lab = CaptureFixtures.fixtures.appending(path: "lab")
        urls += try FileManager.default.contentsOfDirectory(atPath: lab.path).sorted().map { lab.appending(path: $0) }
        var classesSeen = Set<String>(), records = 0
        for url in urls {
            let out = ByteOutput()
            let sink = CaptureJSON(out: out, source: url.lastPathComponent)
            let options = CaptureOptions()
            guard let r = try? CaptureFile.analyze(path: url.path, classes: classes, options: options, sink: sink) else { continue }
            sink.finish(r)
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any])
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
            for v in valueSets + [value] { XCTAssertEqual(ExplainTemplate(text).render(v), scanned(text, v), text) }
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
