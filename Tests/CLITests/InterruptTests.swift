import Foundation
import XCTest

/// SIGINT / SIGTERM in the middle of a run (issue 8): everything rstdoctor created is gone (tracefs
/// instance, capture handle and dump file, child processes, temporary files) and the partial results
/// are printed; a second signal quits at once.
final class InterruptTests: XCTestCase {
    static let instances = "/sys/kernel/tracing/instances"

    func instance(_ pid: pid_t) -> String { "\(Self.instances)/rstdoctor-\(pid)" }

    /// Processes whose command line contains `marker` (a fake tool's unique sleep).
    func processes(containing marker: String) -> [String] {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid in
            guard Int(pid) != nil, let d = fm.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let cmd = String(decoding: d.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return cmd.contains(marker) ? "\(pid): \(cmd)" : nil
        }
    }

    func checkRecord(_ stdout: String, _ id: String) throws -> [String: Any] {
        let checks = try XCTUnwrap(try CLI.json(stdout)["checks"] as? [[String: Any]], stdout)
        return try XCTUnwrap(checks.first { $0["id"] as? String == id }, "no check \(id)")
    }

    /// A plain check whose `ss` hangs: SIGINT stops the hanging command at once (not at its timeout),
    /// the diagnosis of what was gathered is printed as JSON, and the exit code says "interrupted".
    func testSIGINTDuringCheckStopsCommandsAndPrintsPartialResults() throws {
        let dir = try CLI.tempDir("int-tools")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let marker = "3141.5\(getpid())"
        try CLI.fakeTool(in: dir, name: "ss", script: "exec sleep \(marker)")
        let r = try CLI.run(["check", "--format", "json", "--sample", "100ms"], env: ["PATH": dir + ":/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1"],
                            timeout: 30, signals: [(SIGINT, { _, t in t > 2 && !self.processes(containing: marker).isEmpty })])
        XCTAssertEqual(r.code, 130, r.stderr)
        XCTAssertLessThan(r.seconds, 9, "the hanging ss is stopped at the interrupt, not at its timeout")
        XCTAssertTrue(r.stderr.contains("partial"), r.stderr)
        let sockets = try checkRecord(r.stdout, "sockets")
        XCTAssertEqual(sockets["status"] as? String, "failed")
        XCTAssertTrue((sockets["reason"] as? String ?? "").contains("interrupted"), "\(sockets)")
        XCTAssertEqual(try checkRecord(r.stdout, "sysctls")["status"] as? String, "ok", "checks that finished (2 s before) are kept")
        let checks = try XCTUnwrap(try CLI.json(r.stdout)["checks"] as? [[String: Any]])
        for c in checks where c["status"] as? String == "failed" {
            // (listeners' own `ss` has a 2 s timeout and may have hit it first.)
            let reason = c["reason"] as? String ?? ""
            XCTAssertTrue(reason.contains("interrupted") || reason.contains("did not finish"), "only the hanging ss fails here: \(c)")
        }
        usleep(200_000)
        XCTAssertEqual(processes(containing: marker), [], "no child process outlives rstdoctor")
    }

    /// `check --observe 20s` interrupted after the trace and capture started: the window ends early,
    /// the trace instance is removed, the capture closed, and the diagnosis covers what was seen.
    /// It observes inside a namespace of its own: resets elsewhere on the machine cannot reach it.
    func testSIGTERMDuringObserveCleansUpAndPrintsPartialResults() throws {
        guard CLI.isRoot else { throw XCTSkip("--observe traces the kernel and captures packets: needs root") }
        guard FileManager.default.fileExists(atPath: Self.instances) else { throw XCTSkip("tracefs is not mounted at /sys/kernel/tracing") }
        let ns = try TestNamespace()
        defer { ns.remove() }
        var pid: pid_t = 0
        let r = try ns.run(["check", "--observe", "20s", "--format", "json"], timeout: 40, signals: [
            (SIGTERM, { p, _ in pid = p; return FileManager.default.fileExists(atPath: self.instance(p)) }),
        ])
        XCTAssertEqual(r.code, 143, r.stderr)
        XCTAssertLessThan(r.seconds, 15, "the 20 s window was cut short")
        XCTAssertFalse(FileManager.default.fileExists(atPath: instance(pid)), "tracefs instance removed")
        XCTAssertTrue(r.stderr.contains("partial"), r.stderr)
        XCTAssertEqual(try checkRecord(r.stdout, "kernel-trace")["status"] as? String, "ok")
        XCTAssertEqual(try checkRecord(r.stdout, "capture")["status"] as? String, "ok")
        let counters = try checkRecord(r.stdout, "counters")
        XCTAssertEqual(counters["status"] as? String, "ok", "the closing reading of the window is still taken")
    }

    /// A second signal does not wait: cleanup runs and the process exits at once.
    func testSecondSignalQuitsAtOnceAndStillCleansUp() throws {
        guard CLI.isRoot else { throw XCTSkip("--observe traces the kernel: needs root") }
        guard FileManager.default.fileExists(atPath: Self.instances) else { throw XCTSkip("tracefs is not mounted at /sys/kernel/tracing") }
        let ns = try TestNamespace()
        defer { ns.remove() }
        var pid: pid_t = 0
        var firstAt = 0.0
        let r = try ns.run(["check", "--observe", "20s", "--format", "json"], timeout: 40, signals: [
            (SIGINT, { p, t in pid = p; firstAt = t; return FileManager.default.fileExists(atPath: self.instance(p)) }),
            (SIGINT, { _, t in t > firstAt + 0.05 }),
        ])
        XCTAssertTrue([130].contains(r.code), "exit \(r.code): \(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: instance(pid)), "tracefs instance removed")
    }

    /// `capture --live` ended by SIGINT prints its analysis, and the -w file is a complete capture.
    func testSIGINTEndsLiveCaptureWithAnalysisAndACompleteFile() throws {
        guard CLI.isRoot else { throw XCTSkip("live capture needs root (or CAP_NET_RAW)") }
        let dir = try CLI.tempDir("int-capture")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/out.pcap"
        let ns = try TestNamespace()
        defer { ns.remove() }
        let r = try ns.run(["capture", "--live", "lo", "--port", "9", "--seconds", "30", "-w", file], timeout: 40,
                            signals: [(SIGINT, { _, t in t > 1.5 })])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertLessThan(r.seconds, 10)
        XCTAssertTrue(r.stdout.contains("packets"), r.stdout)
        let header = try XCTUnwrap(FileManager.default.contents(atPath: file), "the -w file exists")
        XCTAssertGreaterThanOrEqual(header.count, 24, "a complete pcap header")
        XCTAssertEqual(Array(header.prefix(4)), [0xd4, 0xc3, 0xb2, 0xa1], "pcap magic")
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0 != "out.pcap" }
        XCTAssertEqual(leftovers, [], "no temporary files left beside the capture")
    }
}
