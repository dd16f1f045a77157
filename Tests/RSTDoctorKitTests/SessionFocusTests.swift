import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInteractive
@testable import RSTDRender

/// The focus (asked first, changed any time, shown in the prompt) and `drop` (issue 15).
final class SessionFocusTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures/session"
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rstd-focus-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func session(_ hooks: SessionHooks = SessionHooks()) throws -> (Session, BufferOutput) {
        let out = BufferOutput()
        let kb = try KnowledgeTestSupport.load(Self.fixtures)
        let s = try Session(kb: kb, state: SessionState(target: .init()), path: dir + "/session.json", output: out,
                            style: Style(enabled: false), hooks: hooks)
        return (s, out)
    }

    func testTheInterviewAsksForTheFocusFirstAndThePromptShowsIt() async throws {
        let (s, out) = try session()
        s.asksFocus = true
        await s.start()
        XCTAssertEqual(s.prompt, "focus> ")
        XCTAssertTrue(out.text.contains("Which port has the resets?"), out.text)
        XCTAssertFalse(out.text.contains("Quick checks first"), "the focus comes before the checks")
        await s.handle("99999")
        XCTAssertTrue(out.take().contains("is not a port"), "a bad port is asked again")
        await s.handle("8080")
        await s.handle("198.18.0.7")
        await s.handle("client")
        await s.handle("")          // logs: none
        await s.handle("")          // namespace: this host's
        XCTAssertNil(s.state.interview)
        XCTAssertEqual(s.state.target.port, 8080)
        XCTAssertEqual(s.state.target.peer, "198.18.0.7")
        XCTAssertEqual(s.state.target.side, "client")
        XCTAssertEqual(s.prompt, "[:8080 peer 198.18.0.7 client] rstdoctor> ")
        XCTAssertEqual(s.inputFacts().value("focus.port"), .int(8080))
        XCTAssertEqual(s.inputFacts().value("focus.side"), .string("client"))
        XCTAssertTrue(out.text.contains("Quick checks first"), out.text)
    }

    func testDoneSkipsTheInterviewAndFocusChangesItLater() async throws {
        let (s, out) = try session()
        s.asksFocus = true
        await s.start()
        await s.handle("done")
        XCTAssertNil(s.state.interview)
        XCTAssertEqual(s.prompt, "rstdoctor> ")
        await s.handle("focus port 9999")
        XCTAssertEqual(s.state.target.port, 9999)
        await s.handle("focus side sideways")
        XCTAssertTrue(out.take().contains("usage: focus side client|server"))
        await s.handle("netns no-such-namespace-here")
        XCTAssertTrue(out.take().contains("There is no network namespace"))
        await s.handle("focus clear port")
        XCTAssertNil(s.state.target.port)
        await s.handle("unit 'bad unit'")
        XCTAssertTrue(out.take().contains("not a systemd unit name"))
    }

    func testDropForgetsWhatObserveBroughtAndNothingElse() async throws {
        let hooks = SessionHooks(observe: { _, _ in
            SessionEvidence(records: [CheckRecord(id: "capture", status: .ok, reason: "3 RST")],
                            facts: [Fact(key: "capture.rst.count", value: .int(3), source: FactSource(check: "capture"))])
        })
        let (s, out) = try session(hooks)
        await s.handle("answer middlebox yes")
        await s.handle("observe 1s")
        XCTAssertEqual(s.state.observed?["capture"]?.hasPrefix("observe 1s"), true)
        await s.handle("drop")
        XCTAssertTrue(out.take().contains("from observe 1s"))
        await s.handle("drop observe")
        XCTAssertTrue(s.state.records.isEmpty && s.state.facts.isEmpty)
        XCTAssertEqual(s.state.answers, ["middlebox": "yes"], "answers stay")
        await s.handle("drop answer middlebox")
        XCTAssertTrue(s.state.answers.isEmpty)
        await s.handle("drop nothing-here")
        XCTAssertTrue(out.take().contains("Nothing named `nothing-here` is kept"))
    }
}

/// `why` is honest: numbers per answer, "no rule reads it" only when no rule does.
final class SessionWhyTests: XCTestCase {
    func testWhyShowsWhatEachAnswerChangesAndSaysWhenNoRuleReadsIt() async throws {
        let out = BufferOutput()
        let kb = try KnowledgeTestSupport.load(SessionFocusTests.fixtures)
        let dir = NSTemporaryDirectory() + "rstd-why-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try Session(kb: kb, state: SessionState(target: .init(bundle: SessionFocusTests.fixtures + "/bundle")), path: dir + "/s.json",
                            output: out, style: Style(enabled: false))
        await s.handle("why recent_restart")
        let why = out.take()
        XCTAssertTrue(why.contains("half-open-after-restart 3% → 27%"), why)
        XCTAssertTrue(why.contains("2 rules read it"), why)
        XCTAssertFalse(why.contains("chance of that answer"), "no made-up likelihood of the user's answer")
        XCTAssertFalse(why.contains("No rule reads"), why)
        await s.handle("why client_os")
        let none = out.take()
        XCTAssertTrue(none.contains("I would not ask client_os"), none)
        XCTAssertTrue(none.contains("No rule reads this question"), none)
    }
}
