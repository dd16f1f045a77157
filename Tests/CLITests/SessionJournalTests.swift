import Foundation
import XCTest

/// The session's `history` (issues 14 and 15) on a pseudo-terminal, over a journal the real recorder
/// wrote: refused connects to a closed port, recorded by `rstdoctor record` (kernel tracepoints), join
/// the session's evidence through the path `check --since` uses, are listed by `drop` as kept, count in
/// the ranking, and `drop history` takes them out again.
final class SessionJournalTests: SessionPTYTestCase {
    func testHistoryJoinsTheRecordersJournalUntilDropped() throws {
        guard CLI.isRoot else { throw XCTSkip("the recorder's tracepoints need root") }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/instances") else { throw XCTSkip("no tracefs at /sys/kernel/tracing") }
        let port = RecordFaultTests.closedPort(), journal = state + "/j.db"
        let script = #"""
            "$1" record --journal "$2" --no-capture --port "$3" 2>"$2.err" & p=$!
            sleep 3; python3 -c "$4" 6 "$3" 0.05 >/dev/null; sleep 2
            kill -INT $p; wait $p; echo "rc=$?"
            """#
        let rec = try CLI.run(["-c", script, "sh", CLI.binary, journal, String(port), RecordFaultTests.connects], exe: "/bin/sh", timeout: 60)
        let err = (try? String(contentsOfFile: journal + ".err", encoding: .utf8)) ?? ""
        XCTAssertTrue(rec.stdout.contains("rc=0"), rec.stdout + err)

        let t = try spawn(["diagnose", "--port", String(port)])
        try t.expect("rstdoctor> ", timeout: 60)
        t.send("history 10m --journal \(journal)\n")
        try t.expect("Journal ", timeout: 30)
        try t.expect("rstdoctor> ", timeout: 30)
        t.send("drop\n")
        try t.expect("rstdoctor> ")
        t.send("rank\n")
        try t.expect("rstdoctor> ")
        t.send("drop history\n")
        try t.expect("Dropped what `history` brought")
        try t.expect("rstdoctor> ")
        t.send("history 10m --journal \(state)/none.db\n")
        try t.expect("rstdoctor> ")
        t.send("\u{04}")
        _ = try t.wait(timeout: 30)
        let screen = Screen.render(t.raw)

        let read = section(screen, from: "rstdoctor> history 10m --journal \(journal)")
        XCTAssertTrue(read.contains("no-listener (sent): 6×"), "the six refused connects, as the recorder kept them:\n\(read)")
        XCTAssertTrue(read.contains("ports \(port) (6)"), read)
        let kept = section(screen, from: "rstdoctor> drop\n")
        XCTAssertTrue(kept.contains("from history 10m at"), "drop lists what history brought:\n\(kept)")
        let rank = section(screen, from: "rstdoctor> rank")
        let first = try XCTUnwrap(rank.split(separator: "\n").first { $0.contains(" 1. ") }, rank)
        XCTAssertTrue(first.contains("no-listener"), "the journal's resets count in the ranking:\n\(rank)")
        let percent = Int(first.split(separator: " ").first { $0.hasSuffix("%") }?.dropLast() ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(percent, 50, String(first))
        let dropped = section(screen, from: "rstdoctor> drop history")
        XCTAssertTrue(dropped.contains("no-listener"), "dropping moves no-listener back down:\n\(dropped)")
        let missing = section(screen, from: "rstdoctor> history 10m --journal \(state)/none.db")
        XCTAssertTrue(missing.contains("there is no journal at") && missing.contains("rstdoctor record --journal"),
                      "a missing journal says how to start one:\n\(missing)")
    }
}
