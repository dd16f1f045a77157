import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInteractive
@testable import RSTDKnowledge
@testable import RSTDRender
@testable import RSTDSystem

/// The guided session in-process (fixture knowledge and bundle): commands, answers, saving and
/// resuming, hooks, completion.
final class SessionTests: XCTestCase {
    static let fixtures = QuestionChoiceTests.fixtures

    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rstd-session-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func kb() throws -> KnowledgeBase { try KnowledgeTestSupport.load(Self.fixtures) }

    func session(_ state: SessionState? = nil, hooks: SessionHooks = SessionHooks()) throws -> (Session, BufferOutput) {
        let out = BufferOutput()
        let st = state ?? SessionState(target: .init(bundle: Self.fixtures + "/bundle"))
        let s = try Session(kb: try kb(), state: st, path: dir + "/session.json", output: out, style: Style(enabled: false), hooks: hooks)
        return (s, out)
    }

    func testWalkAsksTheMostTellingQuestionAndSavesAsItGoes() async throws {
        let (s, out) = try session()
        await s.start()
        let start = out.take()
        XCTAssertTrue(start.contains("fixture-host (Linux 6.18.0-fixture)"), start)
        XCTAssertTrue(start.contains("Quick checks first:"), start)
        XCTAssertTrue(start.contains("fx-kernel"), start)
        XCTAssertFalse(start.contains("fx-firewall"), "only quick checks run first")
        XCTAssertTrue(start.contains("step 1: Packet sniffer"), start)

        await s.handle("")
        XCTAssertTrue(out.take().contains("Step 1 of 6: Packet sniffer"))
        await s.handle("next")
        let step2 = out.take()
        XCTAssertTrue(step2.contains("Step 2 of 6: Application logs"), step2)
        XCTAssertEqual(s.state.pending, "reset_timing", step2)
        XCTAssertTrue(step2.contains("   4) Don't know"), step2)
        XCTAssertEqual(s.prompt, "answer> ")

        await s.handle("why")
        let why = out.take()
        XCTAssertTrue(why.contains("What each answer would change"), why)
        XCTAssertTrue(why.contains("idle-timeout"), why)
        XCTAssertEqual(s.state.pending, "reset_timing", "a command does not answer the question")

        await s.handle("3")
        let answered = out.take()
        XCTAssertEqual(s.state.answers, ["reset_timing": "after-idle"])
        XCTAssertTrue(answered.contains("New leader: idle-timeout"), answered)
        XCTAssertTrue(answered.contains("change the top of the ranking (idle-timeout, 34%), so I won't ask them"), answered)
        XCTAssertNil(s.state.pending)

        let saved = try SessionState.load(from: dir + "/session.json")
        XCTAssertEqual(saved.answers, ["reset_timing": "after-idle"])
        XCTAssertEqual(saved.step, 1)
        XCTAssertEqual(Set(saved.records.map(\.id)), ["fx-kernel", "fx-counters"])
        XCTAssertEqual(saved.history, ["next", "why", "3"])
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasSuffix(".tmp") }, "no temp file left")

        // The rest of the walk: firewall check, middlebox question, then the conclusion.
        await s.handle("")
        XCTAssertTrue(out.take().contains("fx-firewall"))
        await s.handle("")
        XCTAssertEqual(s.state.pending, "middlebox")
        await s.handle("yes")
        let rest = out.take()
        XCTAssertEqual(s.state.answers["middlebox"], "yes")
        await s.handle("")
        await s.handle("")
        let end = out.take()
        XCTAssertTrue(s.state.finished, rest + end)
        XCTAssertTrue(end.contains("No open question could change the top of the ranking, so I stop asking."), end)
        XCTAssertTrue(end.contains("Conclusion: most likely idle-timeout"), end)
        XCTAssertEqual(s.end(), 1, "a likely cause: exit code 1, as `check`")
    }

    func testResumeContinuesThePendingQuestion() async throws {
        do {
            let (s, _) = try session()
            await s.start()
            await s.handle("step application-logs")
            XCTAssertEqual(s.state.pending, "reset_timing")
        }
        let loaded = try SessionState.load(from: dir + "/session.json")
        let (s2, out) = try session(loaded)
        await s2.resume(from: dir + "/session.json")
        let text = out.take()
        XCTAssertTrue(text.contains("Resumed the session"), text)
        XCTAssertTrue(text.contains("at step 2 (Application logs)"), text)
        XCTAssertTrue(text.contains("When does the reset happen?"), text)
        await s2.handle("at-connect")
        XCTAssertEqual(s2.state.answers["reset_timing"], "at-connect")
    }

    func testAnswersDontKnowAndMistakes() async throws {
        let (s, out) = try session()
        await s.start()
        _ = out.take()
        await s.handle("answer reset_timing sometimes")
        XCTAssertTrue(out.take().contains("is not an answer to reset_timing"))
        await s.handle("answer reset_timng at-connect")
        XCTAssertTrue(out.take().contains("Did you mean `reset_timing`?"))
        await s.handle("answer reset_timing 1")
        XCTAssertEqual(s.state.answers["reset_timing"], "at-connect")
        await s.handle("answer reset_timing after-idle")
        XCTAssertTrue(out.take().contains("Changed reset_timing: at-connect → after-idle"))
        await s.handle("ask middlebox")
        XCTAssertEqual(s.state.pending, "middlebox")
        await s.handle("perhaps")
        XCTAssertTrue(out.take().contains("is neither an answer nor a command"))
        await s.handle("d")
        XCTAssertEqual(s.state.dontKnow, ["middlebox"])
        XCTAssertNil(s.state.answers["middlebox"])
        await s.handle("rnak")
        XCTAssertTrue(out.take().contains("Unknown command `rnak`. Did you mean `rank`?"))
        await s.handle("how no-such-cause")
        XCTAssertTrue(out.take().contains("There is no cause `no-such-cause`"))
        await s.handle("run fx-fierwall")
        XCTAssertTrue(out.take().contains("Did you mean `fx-firewall`?"))
    }

    func testParseAnswer() throws {
        let q = try XCTUnwrap(try kb().question("reset_timing"))
        XCTAssertEqual(Session.parseAnswer("1", q), .answer("at-connect"))
        XCTAssertEqual(Session.parseAnswer(" 3 ", q), .answer("after-idle"))
        XCTAssertEqual(Session.parseAnswer("4", q), .dontKnow)
        XCTAssertEqual(Session.parseAnswer("5", q), nil)
        XCTAssertEqual(Session.parseAnswer("0", q), nil)
        XCTAssertEqual(Session.parseAnswer("MID-STREAM", q), .answer("mid-stream"))
        XCTAssertEqual(Session.parseAnswer("don't know", q), .dontKnow)
        XCTAssertEqual(Session.parseAnswer("rank", q), nil)
        XCTAssertEqual(Session.parseAnswer("", q), nil)
        XCTAssertEqual(Session.parseAnswer("99999999999999999999999", q), nil)
    }

    func testHowShowsRulesFactsValuesAndSourcesThroughDerivedFacts() async throws {
        var st = SessionState(target: .init(bundle: Self.fixtures + "/bundle"))
        st.facts = [StoredFact(Fact(key: "sysctl.fx.reset_rules", value: .int(3), source: FactSource(check: "fx-firewall", origin: "values/firewall.txt")))]
        let (s, out) = try session(st)
        await s.handle("how firewall-reset")
        let how = out.take()
        XCTAssertTrue(how.contains("+2.0  fw-reset-rules"), how)
        XCTAssertTrue(how.contains("when: fx.has_reset_rules"), how)
        XCTAssertTrue(how.contains("3 firewall rules answer with a TCP reset."), how)
        XCTAssertTrue(how.contains("fx.has_reset_rules = true   from derived by rule fx-reset-rules"), how)
        XCTAssertTrue(how.contains("← when sysctl.fx.reset_rules > 0"), how)
        XCTAssertTrue(how.contains("sysctl.fx.reset_rules = 3   from fx-firewall: values/firewall.txt"), how)
        XCTAssertTrue(how.contains("answer.middlebox — not answered yet: `ask middlebox`"), how)
    }

    func testHooksAndTheirAbsence() async throws {
        let (plain, out1) = try session(SessionState(target: .init()))
        await plain.handle("observe 10s")
        XCTAssertTrue(out1.take().contains("observe is not available in this build"))
        await plain.handle("capture /nonexistent.pcap")
        XCTAssertTrue(out1.take().contains("capture is not available in this build"))
        await plain.handle("observe forever")
        XCTAssertTrue(out1.take().contains("is not a duration"))
        await plain.handle("report --format html")
        XCTAssertTrue(out1.take().contains("not available in this build"))

        let hooks = SessionHooks(observe: { seconds, _ in
            SessionEvidence(facts: [Fact(key: "sysctl.fx.conntrack_timeout", value: .int(Int64(seconds)), source: FactSource(check: "observe"))],
                            summary: "saw the conntrack timeout")
        })
        let (s, out) = try session(SessionState(target: .init()), hooks: hooks)
        await s.handle("observe 5m")
        let text = out.take()
        XCTAssertTrue(text.contains("saw the conntrack timeout"), text)
        XCTAssertTrue(text.contains("idle-timeout"), text)
        XCTAssertEqual(s.state.facts.first?.value?.factValue, .int(300))
    }

    /// The first Ctrl-C ends the window early and keeps what it saw; the session goes on.
    func testCtrlCStopsObserveEarlyAndKeepsWhatWasSeen() async throws {
        let hooks = SessionHooks(observe: { _, _ in
            await Cleanup.shared.sleep(seconds: 30)
            return SessionEvidence(facts: [Fact(key: "sysctl.fx.conntrack_timeout", value: .int(7), source: FactSource(check: "observe"))],
                                   summary: "what the window saw")
        })
        let gate = InterruptGate(message: { _ in })
        let out = BufferOutput()
        let s = try Session(kb: try kb(), state: SessionState(target: .init()), path: dir + "/session.json", output: out,
                            style: Style(enabled: false), hooks: hooks, gate: gate)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { gate.deliver(SIGINT) }
        let start = Date()
        await s.handle("observe 30s")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertTrue(out.text.contains("stopped early with Ctrl-C"), out.text)
        XCTAssertTrue(out.text.contains("what the window saw"), out.text)
        XCTAssertEqual(s.state.facts.first?.value?.factValue, .int(7), "the evidence is kept")
        XCTAssertNil(Cleanup.shared.interruptSignal, "the early stop does not leak into the next command")
        XCTAssertFalse(s.wantsQuit)
        gate.deliver(SIGINT)   // idle: nothing happens
        await s.handle("rank")
        XCTAssertTrue(out.text.contains("Ranking"))
    }

    /// A second Ctrl-C cancels a window that does not stop.
    func testSecondCtrlCCancelsObserve() async throws {
        let hooks = SessionHooks(observe: { _, _ in
            try await Task.sleep(nanoseconds: 30_000_000_000)
            return SessionEvidence(summary: "should not get here")
        })
        let gate = InterruptGate(message: { _ in })
        let out = BufferOutput()
        let s = try Session(kb: try kb(), state: SessionState(target: .init()), path: dir + "/session.json", output: out,
                            style: Style(enabled: false), hooks: hooks, gate: gate)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { gate.deliver(SIGINT) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.6) { gate.deliver(SIGINT) }
        let start = Date()
        await s.handle("observe 30s")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertTrue(out.text.contains("was cancelled with Ctrl-C."), out.text)
        XCTAssertFalse(out.text.contains("should not get here"))
        XCTAssertFalse(s.wantsQuit)
    }

    func testReportWritesJSONAndText() async throws {
        let (s, out) = try session()
        await s.start()
        _ = out.take()
        await s.handle("report \(dir)/r.json")
        XCTAssertTrue(out.take().contains("Wrote the json report"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any]
        XCTAssertEqual(json?["schema"] as? String, "rstdoctor.check/3")
        await s.handle("report \"\(dir)/my report.txt\"")
        let text = try String(contentsOfFile: dir + "/my report.txt", encoding: .utf8)
        XCTAssertTrue(text.contains("Verdict:"), text)
        XCTAssertFalse(text.contains("\u{1B}["))
    }

    func testSaveLoadAndDamagedFiles() async throws {
        let (s, out) = try session()
        await s.handle("answer middlebox no")
        await s.handle("save \(dir)/copy.json")
        XCTAssertTrue(out.take().contains("Saved a copy"))
        await s.handle("answer middlebox yes")
        await s.handle("load \(dir)/copy.json")
        XCTAssertEqual(s.state.answers["middlebox"], "no")

        try Data("{\"schema\": \"rstdoctor.session/9\"}".utf8).write(to: URL(fileURLWithPath: dir + "/future.json"))
        await s.handle("load \(dir)/future.json")
        XCTAssertTrue(out.take().contains("has schema rstdoctor.session/9; this rstdoctor reads rstdoctor.session/1"))
        try Data([0xFF, 0x00, 0x7B]).write(to: URL(fileURLWithPath: dir + "/garbage.json"))
        await s.handle("load \(dir)/garbage.json")
        XCTAssertTrue(out.take().contains("is not a session file"))
        await s.handle("load \(dir)/missing.json")
        XCTAssertTrue(out.take().contains("there is no session at"))
        XCTAssertEqual(s.state.answers["middlebox"], "no", "a failed load keeps the session")
    }

    func testStaleOrHandEditedSessionsCannotCrashTheWalk() async throws {
        for step in [-5, 6, 99, Int.max] {
            var st = SessionState(target: .init(bundle: Self.fixtures + "/bundle"))
            st.step = step
            st.pending = "no_such_question"
            st.target.window = -1
            let (s, out) = try session(st)
            XCTAssertNil(s.state.step)
            XCTAssertNil(s.state.pending)
            await s.resume(from: "x")
            await s.handle("step")
            await s.handle("next")
            XCTAssertEqual(s.state.step, 0)
            XCTAssertTrue(out.text.contains("Step 1 of 6"), out.text)
        }
    }

    func testStoredValuesRoundTrip() throws {
        let values: [FactValue] = [.int(-7), .double(0.25), .duration(1.5), .bool(true), .string("x\ny"),
                                   .records([["port": .int(80), "process": .string("nginx")], [:]])]
        for v in values {
            let data = try JSONEncoder().encode(StoredValue(v))
            XCTAssertEqual(try JSONDecoder().decode(StoredValue.self, from: data).factValue, v)
        }
        let f = Fact(key: "k", unknown: "not root", source: FactSource(check: "c", origin: "o"))
        let back = StoredFact(f).fact
        XCTAssertNil(back.value)
        XCTAssertEqual(back.unknownReason, "not root")
        XCTAssertEqual(back.source, f.source)
    }

    func testWords() {
        XCTAssertEqual(SessionCommands.words("  answer  reset_timing   1 "), ["answer", "reset_timing", "1"])
        XCTAssertEqual(SessionCommands.words("report \"my file.md\" --format markdown"), ["report", "my file.md", "--format", "markdown"])
        XCTAssertEqual(SessionCommands.words("save a\\ b"), ["save", "a b"])
        XCTAssertEqual(SessionCommands.words("save ''"), ["save", ""])
        XCTAssertEqual(SessionCommands.words(""), [])
    }

    func testCompletion() throws {
        let kb = try kb()
        let ctx = SessionCommands.Context(kb: kb, pending: nil, factKeys: ["sysctl.fx.reset_rules", "focus.port"], reportFormats: ["json", "text"])
        func c(_ before: String, _ word: String, _ context: SessionCommands.Context? = nil) -> [String]? {
            SessionCommands.complete(before: before, word: word, context: context ?? ctx)
        }
        XCTAssertEqual(c("", "r"), ["rank", "report", "resets", "run"])
        XCTAssertEqual(c("", "an"), ["answer"])
        XCTAssertEqual(c("run ", "fx-"), ["fx-counters", "fx-firewall", "fx-kernel", "fx-listen", "fx-slow"])
        XCTAssertEqual(c("run ", "a"), ["all", "application-logs"])
        XCTAssertEqual(c("how ", "i"), ["idle-timeout"])
        XCTAssertEqual(c("step ", "f"), ["firewall"])
        XCTAssertEqual(c("answer ", "re"), ["recent_restart", "reset_timing"])
        XCTAssertEqual(c("answer reset_timing ", ""), ["after-idle", "at-connect", "dont-know", "mid-stream"])
        XCTAssertEqual(c("answer nosuch ", ""), [])
        XCTAssertEqual(c("facts ", "sys"), ["sysctl.fx.reset_rules"])
        XCTAssertNil(c("save ", "/tm"), "file names complete as files")
        XCTAssertEqual(c("report ", "--"), ["--format"])
        XCTAssertEqual(c("report --format ", ""), ["json", "text"])
        XCTAssertEqual(c("quit ", ""), [])
        // history: a period, its options, a journal file name.
        XCTAssertEqual(c("history ", "1"), ["10m", "1h"])
        XCTAssertEqual(c("history ", "--"), ["--journal", "--until"])
        XCTAssertNil(c("history 2h --journal ", "/tm"), "the journal completes as a file")
        XCTAssertEqual(c("drop ", "hi", { var x = ctx; x.evidence = ["history", "observe"]; return x }()), ["history"])
        // capture --live: the interfaces of the session's namespace.
        var live = ctx
        live.interfaces = ["any", "eth0", "lo", "veth-a"]
        XCTAssertEqual(c("capture ", "--", live), ["--live"])
        XCTAssertEqual(c("capture --live ", "", live), ["any", "eth0", "lo", "veth-a"])
        XCTAssertEqual(c("capture --live ", "ve", live), ["veth-a"])
        XCTAssertEqual(c("capture --live eth0 ", "1", live), ["10s", "1m"])
        XCTAssertNil(c("capture ", "/tm", live), "a capture file completes as a file")
        XCTAssertEqual(c("frobnicate ", ""), [])
        let pending = SessionCommands.Context(kb: kb, pending: kb.question("middlebox"), factKeys: [], reportFormats: [])
        XCTAssertEqual(c("", "y", pending), ["yes"])
        XCTAssertEqual(c("", "n", pending), ["netns", "next", "no"])
        XCTAssertEqual(SessionCommands.nearest("rnak"), "rank")
        XCTAssertEqual(SessionCommands.nearest("obsrve"), "observe")
        XCTAssertNil(SessionCommands.nearest("xyzzyplugh"))
    }

    func testStateDirectoryFollowsXDG() {
        XCTAssertEqual(SessionState.stateDirectory(environment: ["XDG_STATE_HOME": "/x/state", "HOME": "/home/u"]), "/x/state/rstdoctor")
        XCTAssertEqual(SessionState.stateDirectory(environment: ["XDG_STATE_HOME": "relative", "HOME": "/home/u"]), "/home/u/.local/state/rstdoctor")
        XCTAssertEqual(SessionState.defaultPath(environment: ["HOME": "/home/u"]), "/home/u/.local/state/rstdoctor/session.json")
    }

    func testHostileStringsAreSanitised() async throws {
        let (s, out) = try session()
        await s.handle("how \u{1B}]0;pwned\u{07}")
        await s.handle("\u{1B}[2J")
        XCTAssertFalse(out.text.contains("\u{1B}"), out.text)
        var st = SessionState(target: .init(bundle: Self.fixtures + "/bundle"))
        st.records = [CheckRecord(id: "fx-firewall", status: .failed, reason: "boom \u{1B}[31mred\u{1B}[0m")]
        let (s2, out2) = try session(st)
        await s2.handle("step firewall")
        XCTAssertFalse(out2.text.contains("\u{1B}"), out2.text)
    }
}
