import Foundation
import XCTest

/// `rstdoctor report` and `check --format openmetrics`, run as the built binary.
final class ReportCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try CLI.tempDir("report") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testMarkdownToStdoutHasTheSections() throws {
        let r = try CLI.run(["report", "--sample", "100ms", "--port", "8080", "--answer", "reset_timing=after-idle"])
        XCTAssertTrue([0, 1].contains(r.code), "exit \(r.code): \(r.stderr)")
        for s in ["# rstdoctor report", "## Diagnosis", "## Troubleshooting steps", "## Resets seen", "## What to consider", "## Appendix: raw evidence",
                  "Packet sniffer", "Application logs", "Firewall", "Network configuration", "Server load", "TCP parameters",
                  "When does the reset happen? — **On the first use after the connection was idle for a while**"] {
            XCTAssertTrue(r.stdout.contains(s), "missing \(s)")
        }
        XCTAssertTrue(r.stdout.contains("| **Focus** | port 8080 |"))
    }

    func testWritesFilesAtomicallyAndSaysWhere() throws {
        let out = dir + "/r.html"
        let r = try CLI.run(["report", "--sample", "100ms", "--format", "html", "-o", out])
        XCTAssertTrue([0, 1].contains(r.code), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("wrote the html report to \(out)"), r.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        XCTAssertTrue(html.contains("id=\"probability-chart\""))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["r.html"], "no temporary file left behind")

        let missing = try CLI.run(["report", "--sample", "100ms", "-o", dir + "/no/such/dir/r.md"])
        XCTAssertEqual(missing.code, 3, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("cannot write the report to \(dir)/no/such/dir/r.md") && missing.stderr.contains("exists and is writable"), missing.stderr)
        let isDir = try CLI.run(["report", "--sample", "100ms", "-o", dir])
        XCTAssertEqual(isDir.code, 2, isDir.stderr)
        XCTAssertTrue(isDir.stderr.contains("it is a directory"), isDir.stderr)
    }

    /// A full disk and a read-only one (tmpfs mounts in a private mount namespace, so the host's mount
    /// table is untouched): exit 3, the error names the file and the reason, and nothing is left there.
    func testFullOrReadOnlyDiskLeavesNoFileAndSaysWhy() throws {
        guard CLI.isRoot else { throw XCTSkip("mounting a small tmpfs (in a private mount namespace) needs root") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { throw XCTSkip("unshare (util-linux) is not installed") }
        let mnt = dir + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        for (options, why) in [("size=8k", "space"), ("ro", "Read-only")] {
            let script = #"mount -t tmpfs -o "$3" rstd-test "$1" || exit 99; "$2" report --sample 100ms --format html -o "$1/r.html"; rc=$?; echo "left: $(ls -A "$1")"; exit $rc"#
            let r = try CLI.run(["-m", "sh", "-c", script, "sh", mnt, CLI.binary, options], exe: "/usr/bin/unshare")
            XCTAssertEqual(r.code, 3, "\(options): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("\(mnt)"), "\(options): the error names where: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(why), "\(options): the error says why: \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("left: \n") || r.stdout.hasSuffix("left: \n"), "\(options): no half-written or temporary file: \(r.stdout)")
        }
    }

    func testMergeLinesUpSavedResults() throws {
        let a = try CLI.run(["check", "--format", "json", "--sample", "100ms", "--answer", "reset_timing=after-idle"])
        let b = try CLI.run(["check", "--format", "json", "--sample", "100ms", "--answer", "reset_timing=at-connect"])
        try a.stdout.write(toFile: dir + "/client.json", atomically: true, encoding: .utf8)
        try b.stdout.write(toFile: dir + "/server.json", atomically: true, encoding: .utf8)
        let md = try CLI.run(["report", "--merge", dir + "/client.json", dir + "/server.json"])
        XCTAssertTrue([0, 1].contains(md.code), md.stderr)
        XCTAssertTrue(md.stdout.contains("# rstdoctor report — 2 hosts"), md.stdout)
        XCTAssertTrue(md.stdout.contains("client\\.json") && md.stdout.contains("server\\.json"), "same host twice: told apart by file")
        let j = try CLI.run(["report", "--merge", dir + "/client.json", dir + "/server.json", "--format", "json"])
        let obj = try CLI.json(j.stdout)
        XCTAssertEqual(obj["schema"] as? String, "rstdoctor.merge/1")
        XCTAssertEqual((obj["hosts"] as? [Any])?.count, 2)
        let causes = try XCTUnwrap(obj["causes"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(causes.count, 10)
        // idle-timeout is raised only where the answer said so.
        let idle = try XCTUnwrap(causes.first { $0["id"] as? String == "idle-timeout" }?["probability"] as? [String: Double])
        XCTAssertEqual(idle.count, 2)
        let ps = idle.sorted { $0.key < $1.key }.map(\.value)
        XCTAssertGreaterThan(ps[0], ps[1], "\(idle)")
        // A single saved result (or --session with one) renders like a live report.
        let one = try CLI.run(["report", "--session", dir + "/client.json", "--format", "html"])
        XCTAssertTrue(one.stdout.contains("probability-chart"), one.stderr)
    }

    func testBadInputsAreUsageErrors() throws {
        try "not json".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        try #"{"schema":"rstdoctor.session/1"}"#.write(toFile: dir + "/session.json", atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["report", "--format", "pdf"], "'markdown', 'html' or 'json'"),
            (["report", "--merge", dir + "/bad.json"], "bad.json is not valid JSON"),
            (["report", "--merge", dir + "/nope.json"], "cannot read"),
            (["report", "--merge", dir + "/bad.json", "--port", "80"], "--merge reports saved results"),
            (["report", "--session", dir + "/session.json"], "session.json is a damaged session file (`created` is missing)"),
            (["report", "--session", dir + "/a.json", "--merge", dir + "/b.json"], "give one of them"),
            (["check", "--format", "prometheus"], "'text', 'json' or 'openmetrics'"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(args)
            XCTAssertEqual(r.code, 2, "\(args): exit \(r.code) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    func testOpenMetricsForTheTextfileCollector() throws {
        let r = try CLI.run(["check", "--format", "openmetrics", "--sample", "100ms"])
        XCTAssertTrue([0, 1].contains(r.code), r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("# EOF\n"))
        let probs = r.stdout.split(separator: "\n").filter { $0.hasPrefix("rstdoctor_cause_probability{") }
        XCTAssertGreaterThanOrEqual(probs.count, 10)
        XCTAssertEqual(r.code == 1, r.stdout.contains("rstdoctor_likely_causes 0") == false)
        XCTAssertTrue(r.stdout.contains("rstdoctor_check_status{check=\"sysctls\""))
    }
}
