import Foundation
import XCTest

/// Ctrl-C in the guided session, as a user means it (issue 15): during `observe` it ends the window
/// early and keeps what was seen; the checks after it run normally; at the prompt it never quits.
final class SessionInterruptTests: SessionPTYTestCase {
    func testCtrlCDuringObserveKeepsWhatWasSeenAndLaterChecksRunNormally() throws {
        // In a namespace of its own when root: resets elsewhere on the machine cannot reach it.
        var ns: TestNamespace?
        if CLI.isRoot { ns = try TestNamespace() }
        defer { ns?.remove() }
        let target = ns.map { ["--netns", $0.name] } ?? []
        let t = try spawn(["diagnose", "--port", "9"] + target)
        try t.expect("rstdoctor> ", timeout: 60)
        let start = Date()
        t.send("observe 30s\n")
        try t.expect("Ctrl-C stops early")
        usleep(2_000_000)
        t.send("\u{03}")
        try t.expect("stopping the window early")
        try t.expect("stopped early with Ctrl-C; using what was seen")
        try t.expect("rstdoctor> ", timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(start), 25, "the 30 s window ended at Ctrl-C")
        t.send("run all\n")
        try t.expect("Running")
        try t.expect("rstdoctor> ", timeout: 60)
        // Twice at the prompt: neither quits.
        t.send("\u{03}")
        try t.expect("rstdoctor> ")
        t.send("\u{03}")
        try t.expect("rstdoctor> ")
        t.send("facts capture.packets\n")
        try t.expect("rstdoctor> ")
        t.send("\u{04}")
        let code = try t.wait(timeout: 30)
        XCTAssertTrue(code == 0 || code == 1, "Ctrl-D ends the session normally (exit \(code))")
        let screen = Screen.render(t.raw)
        let observed = section(screen, from: "rstdoctor> observe 30s")
        XCTAssertTrue(observed.contains("of 30s"), "the summary says how much of the window was watched:\n\(observed)")
        let later = section(screen, from: "rstdoctor> run all")
        XCTAssertFalse(later.contains("did not finish within"), "no check after the Ctrl-C is killed at its timeout:\n\(later)")
        XCTAssertFalse(later.contains("interrupted"), later)
        for line in later.split(separator: "\n") where line.hasPrefix("  failed ") {
            XCTFail("a check failed after the Ctrl-C: \(line)")
        }
        if CLI.isRoot {
            XCTAssertTrue(later.contains("kept the earlier capture result"), "run all keeps the observed capture:\n\(later)")
            XCTAssertTrue(later.contains("kept the earlier kernel-trace result"), later)
            let facts = section(screen, from: "rstdoctor> facts capture.packets")
            XCTAssertTrue(facts.contains("capture.packets"), facts)
            XCTAssertTrue(facts.contains("capture.packets = "), "the observed capture still counts:\n\(facts)")
        }
        let saved = try CLI.json(String(contentsOfFile: state + "/xdg/rstdoctor/session.json", encoding: .utf8))
        let records = try XCTUnwrap(saved["records"] as? [[String: Any]])
        for r in records {
            let status = r["status"] as? String ?? ""
            XCTAssertTrue(["ok", "finding", "skipped"].contains(status), "saved \(r["id"] ?? "?"): \(status) \(r["reason"] ?? "")")
        }
    }
}
