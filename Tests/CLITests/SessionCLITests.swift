import Foundation
import XCTest

/// `rstdoctor` / `rstdoctor diagnose` driven as a user would: through a pseudo-terminal
/// (keystrokes in, screen out) and through a pipe, against golden transcripts.
/// Re-record the goldens with `RSTDOCTOR_RECORD=1 swift test --filter SessionCLITests`.
final class SessionCLITests: SessionPTYTestCase {
    static let fixtures = CLI.root + "/Tests/Fixtures/session"
    static let transcripts = fixtures + "/transcripts"

    var fixtureArgs: [String] { ["--knowledge-dir", Self.fixtures, "--from", Self.fixtures + "/bundle"] }

    func normalise(_ s: String) -> String {
        s.replacingOccurrences(of: Self.fixtures, with: "<fixtures>").replacingOccurrences(of: state, with: "<state>")
    }

    /// Compares with (or, with RSTDOCTOR_RECORD=1, records) a golden transcript.
    func golden(_ name: String, _ actual: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Self.transcripts + "/" + name
        let text = normalise(actual)
        if ProcessInfo.processInfo.environment["RSTDOCTOR_RECORD"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.transcripts, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            XCTFail("no golden transcript \(path): record it with RSTDOCTOR_RECORD=1", file: file, line: line)
            return
        }
        if expected != text {
            let e = expected.components(separatedBy: "\n"), a = text.components(separatedBy: "\n")
            let first = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
            XCTFail("""
                transcript \(name) differs from line \(first + 1) (re-record with RSTDOCTOR_RECORD=1 if the change is intended):
                expected: \(first < e.count ? e[first] : "<end>")
                actual:   \(first < a.count ? a[first] : "<end>")
                --- actual ---
                \(text)
                """, file: file, line: line)
        }
    }

    // MARK: pipe

    func testScriptedSessionThroughAPipe() throws {
        let script = """
            help why
            rnak

            next
            why
            3
            how idle-timeout
            facts fx.

            step network-config
            yes


            quit

            """
        let r = try CLI.run(["diagnose"] + fixtureArgs, env: env, timeout: 60, stdin: script)
        XCTAssertEqual(r.code, 1, "a likely cause found: exit 1\n\(r.stdout)\n\(r.stderr)")
        XCTAssertEqual(r.stderr, "")
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "plain text without a terminal")
        try golden("pipe.txt", r.stdout)

        // Nothing is lost: the next run resumes with the answers and the checks that ran.
        let again = try CLI.run(["diagnose", "--resume", "--knowledge-dir", Self.fixtures], env: env, timeout: 60, stdin: "rank\n")
        XCTAssertEqual(again.code, 1, again.stderr)
        XCTAssertTrue(again.stdout.contains("Resumed the session saved in"), again.stdout)
        XCTAssertTrue(again.stdout.contains("2 answers"), again.stdout)
        XCTAssertTrue(again.stdout.contains("Likely: idle-timeout"), again.stdout)
        let saved = try CLI.json(String(contentsOfFile: state + "/xdg/rstdoctor/session.json", encoding: .utf8))
        XCTAssertEqual(saved["schema"] as? String, "rstdoctor.session/1")
        XCTAssertEqual(saved["answers"] as? [String: String], ["reset_timing": "after-idle", "middlebox": "yes"])
        XCTAssertEqual((saved["history"] as? [String])?.suffix(2), ["quit", "rank"])

        // `rstdoctor report --session` reads the saved session.
        let report = try CLI.run(["report", "--session", state + "/xdg/rstdoctor/session.json", "--format", "json", "--knowledge-dir", Self.fixtures], env: env)
        XCTAssertEqual(report.code, 1, report.stderr)
        let j = try CLI.json(report.stdout)
        XCTAssertEqual((j["causes"] as? [[String: Any]])?.first?["id"] as? String, "idle-timeout")
        XCTAssertEqual(j["answers"] as? [String: String], ["reset_timing": "after-idle", "middlebox": "yes"])
        XCTAssertEqual((j["host"] as? [String: Any])?["hostname"] as? String, "fixture-host")
    }

    func testReportFromTheSession() throws {
        let script = "answer middlebox yes\nreport \(state)/r.md\nreport \(state)/r.html\nreport --format json\nreport --format pdf\nquit\n"
        let r = try CLI.run(["diagnose"] + fixtureArgs, env: env, stdin: script)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Wrote the markdown report to \(state)/r.md"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Wrote the html report to \(state)/r.html"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\"schema\": \"rstdoctor.check/3\""), r.stdout)
        XCTAssertTrue(r.stdout.contains("report --format pdf is not available in this build; it has text, json, markdown, html"), r.stdout)
        let md = try String(contentsOfFile: state + "/r.md", encoding: .utf8)
        XCTAssertTrue(md.contains("idle-timeout"), md)
        let html = try String(contentsOfFile: state + "/r.html", encoding: .utf8)
        XCTAssertTrue(html.lowercased().hasPrefix("<!doctype html"), String(html.prefix(100)))
    }

    func testDefaultSubcommandUsageErrorsAndCheckStillWorks() throws {
        let r = try CLI.run(fixtureArgs, env: env, stdin: "quit\n")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("rstdoctor — guided diagnosis of TCP resets"), r.stdout)

        let none = try CLI.run(["diagnose", "--resume", "--session", state + "/none.json", "--knowledge-dir", Self.fixtures], env: env, stdin: "")
        XCTAssertEqual(none.code, 2)
        XCTAssertTrue(none.stderr.contains("there is no session at"), none.stderr)
        for args in [["diagnose", "--resume", "--port", "80"], ["diagnose", "--only", "fx-kernel"], ["diagnose", "--port", "no-such-service"], ["diagnose", "--bogus"]] {
            let u = try CLI.run(args + ["--knowledge-dir", Self.fixtures], env: env, stdin: "")
            XCTAssertEqual(u.code, 2, "\(args): \(u.stdout) \(u.stderr)")
            XCTAssertFalse(u.stderr.isEmpty, "\(args)")
        }

        let check = try CLI.run(["check", "--format", "json"] + fixtureArgs, env: env)
        XCTAssertEqual(check.code, 0, check.stderr)
        XCTAssertEqual(try CLI.json(check.stdout)["schema"] as? String, "rstdoctor.check/3")

        // A new session keeps the one it replaces.
        _ = try CLI.run(fixtureArgs, env: env, stdin: "answer middlebox no\nquit\n")
        let second = try CLI.run(fixtureArgs, env: env, stdin: "quit\n")
        XCTAssertTrue(second.stdout.contains("Your previous session was kept as"), second.stdout)
        let previous = try CLI.json(String(contentsOfFile: state + "/xdg/rstdoctor/session.previous.json", encoding: .utf8))
        XCTAssertEqual(previous["answers"] as? [String: String], ["middlebox": "no"])
    }

    // MARK: terminal

    func testCompletionWhyAndHowOnATerminal() throws {
        let t = try spawn(["diagnose"] + fixtureArgs)
        try t.expect("rstdoctor> ")
        t.send("ra\t")
        try t.expect("nk ")
        t.send("\n")
        try t.expect("rstdoctor> ")
        t.send("step app\t")
        try t.expect("lication-logs ")
        t.send("\n")
        try t.expect("answer> ")
        t.send("\t\t")                       // the pending question's answers and the commands
        try t.expect("mid-stream")
        try t.expect("answer> ")
        t.send("af\t")
        try t.expect("ter-idle ")
        t.send("\n")
        try t.expect("rstdoctor> ")
        t.send("why reset\t")
        try t.expect("_timing ")
        t.send("\n")
        try t.expect("rstdoctor> ")
        t.send("how idle\t")
        try t.expect("-timeout ")
        t.send("\n")
        try t.expect("rstdoctor> ")
        t.send("run fx-f\t\n")
        try t.expect("rstdoctor> ")
        t.send("\u{04}")
        XCTAssertEqual(try t.wait(), 0)
        let screen = Screen.render(t.raw)
        XCTAssertTrue(screen.contains("rstdoctor> rank"), screen)
        XCTAssertTrue(screen.contains("What each answer would change"), screen)
        XCTAssertTrue(screen.contains("+2.5  it-after-idle"), screen)
        try golden("terminal-completion.txt", screen)
    }

    func testHistoryAcrossTwoSessions() throws {
        do {
            let t = try spawn(["diagnose"] + fixtureArgs)
            try t.expect("rstdoctor> ")
            t.send("rank all\n")
            try t.expect("rstdoctor> ")
            t.send("how no-listener\n")
            try t.expect("rstdoctor> ")
            t.send("quit\n")
            XCTAssertEqual(try t.wait(), 0)
        }
        let history = try String(contentsOfFile: state + "/xdg/rstdoctor/history", encoding: .utf8)
        XCTAssertEqual(history, "rank all\nhow no-listener\nquit\n")

        let t = try spawn(["diagnose", "--resume", "--knowledge-dir", Self.fixtures])
        try t.expect("rstdoctor> ")
        t.send("\u{10}")                    // Ctrl-P: previous line
        try t.expect("quit")
        t.send("\u{10}")
        try t.expect("how no-listener")
        t.send("\u{10}")
        try t.expect("rank all")
        t.send("\n")
        try t.expect("5. ")                  // `rank all` lists every cause
        try t.expect("rstdoctor> ")
        t.send("\u{04}")
        XCTAssertEqual(try t.wait(), 0)
        let screen = Screen.render(t.raw)
        try golden("terminal-history.txt", screen)
        let after = try String(contentsOfFile: state + "/xdg/rstdoctor/history", encoding: .utf8)
        XCTAssertEqual(after, "rank all\nhow no-listener\nquit\nrank all\n")
    }

    func testCtrlCCancelsTheRunningCheckNotTheSession() throws {
        // Live (no --from): the fixture checks read values/ relative to the fixture folder.
        let t = try spawn(["diagnose", "--knowledge-dir", Self.fixtures], cwd: Self.fixtures)
        // No focus on a terminal: the session asks for it first; `done` skips the questions.
        try t.expect("Which port has the resets?")
        try t.expect("focus> ")
        t.send("done\n")
        try t.expect("No focus: I look at the whole host.")
        try t.expect("rstdoctor> ")
        t.send("typed but abandoned\u{03}")
        try t.expect("^C")
        try t.expect("rstdoctor> ")
        let start = Date()
        t.send("run fx-slow\n")
        try t.expect("(Ctrl-C cancels)")
        usleep(300_000)
        t.send("\u{03}")
        try t.expect("cancelled with Ctrl-C")
        try t.expect("rstdoctor> ")
        XCTAssertLessThan(Date().timeIntervalSince(start), 15, "the 30 s check was cancelled")
        t.send("rank\n")
        try t.expect("Ranking")
        try t.expect("rstdoctor> ")
        t.send("\u{04}")
        XCTAssertEqual(try t.wait(), 0)
        let screen = Screen.render(t.raw)
        XCTAssertTrue(screen.contains("skipped  fx-slow"), screen)
        XCTAssertFalse(screen.contains("typed but abandoned\nUnknown command"), "the abandoned line never ran")
        // No `sleep` left behind (its duration is the fixture's own: other processes may sleep 30).
        let ps = try CLI.run(["-C", "sleep", "-o", "args="], exe: "/usr/bin/ps")
        XCTAssertFalse(ps.stdout.contains("sleep 30.0417"), ps.stdout)
    }

    func testSigtermEndsTheSessionSaved() throws {
        let t = try spawn(["diagnose"] + fixtureArgs)
        try t.expect("rstdoctor> ")
        t.send("answer middlebox yes\n")
        try t.expect("rstdoctor> ")
        // While a line is being read readline has the terminal in raw mode (no echo, no line editing by the kernel).
        var raw = termios()
        XCTAssertEqual(tcgetattr(t.master, &raw), 0)
        XCTAssertEqual(raw.c_lflag & tcflag_t(ICANON | ECHO), 0, "readline owns the line")
        kill(t.pid, SIGTERM)
        XCTAssertEqual(try t.wait(), 128 + SIGTERM)
        var after = termios()
        XCTAssertEqual(tcgetattr(t.master, &after), 0)
        XCTAssertEqual(after.c_lflag & tcflag_t(ICANON | ECHO), tcflag_t(ICANON | ECHO), "the terminal is given back in its original mode")
        XCTAssertTrue(Screen.render(t.raw).contains("the session is saved"))
        let saved = try CLI.json(String(contentsOfFile: state + "/xdg/rstdoctor/session.json", encoding: .utf8))
        XCTAssertEqual(saved["answers"] as? [String: String], ["middlebox": "yes"])
    }
}
