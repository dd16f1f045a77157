import Foundation
import XCTest

/// `rstdoctor check` and friends, run as the built binary.
final class CheckCLITests: XCTestCase {
    func testKnowledgeLintPasses() throws {
        let r = try CLI.run(["knowledge", "lint"])
        XCTAssertEqual(r.code, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("ok: "), r.stdout)
    }

    /// A rule is shown with where it is and the kernel behaviour it rests on; every listed rule has a basis.
    func testKnowledgeShowsARuleWithItsBasis() throws {
        let r = try CLI.run(["knowledge", "show", "focus-port-not-listening"])
        XCTAssertEqual(r.code, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("(knowledge/rules/no-listener/focus-port-not-listening.yaml:1)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  basis:   net/ipv4/tcp_ipv4.c: tcp_v4_rcv()"), r.stdout)
        let expanded = try CLI.run(["knowledge", "show", "trace-shows-application-abort"])
        XCTAssertTrue(expanded.stdout.contains("basis:   net/ipv4/tcp.c: __tcp_close()"), expanded.stdout)
        XCTAssertFalse(expanded.stdout.contains("$"), "a template variable left: \(expanded.stdout)")
        let missing = try CLI.run(["knowledge", "show", "no-such-rule"])
        XCTAssertEqual(missing.code, 2, missing.stdout + missing.stderr)
        let list = try CLI.run(["knowledge", "list", "rules"])
        XCTAssertEqual(list.code, 0, list.stderr)
        let lines = list.stdout.split(separator: "\n")
        let rules = lines.filter { !$0.hasPrefix("    ") }
        XCTAssertGreaterThan(rules.count, 100)
        XCTAssertEqual(lines.filter { $0.hasPrefix("    basis: ") && $0.count > 12 }.count, rules.count, list.stdout)
    }

    func testCheckJSONHasTheDocumentedShape() throws {
        let r = try CLI.run(["check", "--format", "json", "--sample", "200ms"])
        XCTAssertTrue([0, 1].contains(r.code), "exit \(r.code): \(r.stderr)")
        let j = try CLI.json(r.stdout)
        XCTAssertEqual(j["schema"] as? String, "rstdoctor.check/3")
        let host = try XCTUnwrap(j["host"] as? [String: Any])
        XCTAssertNotNil(host["kernel"] as? String)
        XCTAssertNotNil(host["focus"] as? [String: Any])
        let causes = try XCTUnwrap(j["causes"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(causes.count, 10)
        let ps = causes.compactMap { $0["probability"] as? Double }
        XCTAssertEqual(ps.count, causes.count)
        XCTAssertEqual(ps, ps.sorted(by: >), "causes are sorted by probability")
        for c in causes {
            XCTAssertNotNil(c["for"] as? [Any]); XCTAssertNotNil(c["against"] as? [Any]); XCTAssertNotNil(c["unknown"] as? [Any])
        }
        // Causes that make no RST are findings, apart, in the same shape (schema /3).
        let findings = try XCTUnwrap(j["findings"] as? [[String: Any]])
        XCTAssertEqual(Set(findings.compactMap { $0["id"] as? String }), ["syn-flood", "conntrack-table-full", "paws-stalls"])
        XCTAssertFalse(causes.contains { ["syn-flood", "conntrack-table-full", "paws-stalls"].contains($0["id"] as? String ?? "") })
        for f in findings { XCTAssertEqual(Set(f.keys), Set(causes[0].keys)) }
        let checks = try XCTUnwrap(j["checks"] as? [[String: Any]])
        let statuses = Set(checks.compactMap { $0["status"] as? String })
        XCTAssertTrue(statuses.isSubset(of: ["ok", "finding", "skipped", "failed"]), "\(statuses)")
        XCTAssertTrue(checks.contains { $0["id"] as? String == "counters" && $0["status"] as? String != "failed" }, "\(checks)")
        XCTAssertEqual(r.code == 1, causes.contains { ($0["probability"] as? Double ?? 0) >= 0.5 }, "exit code 1 iff a likely cause")
    }

    func testTextOutputIsPlainWhenPipedAndGroupsSteps() throws {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NO_COLOR")
        let r = try CLI.run(["check", "--sample", "100ms"], env: env)
        XCTAssertTrue([0, 1].contains(r.code), r.stderr)
        XCTAssertFalse(r.stdout.contains("\u{1B}["), "no ANSI colour when piped")
        for step in ["Packet sniffer", "Application logs", "Firewall", "Network configuration", "Server load", "TCP parameters"] {
            XCTAssertTrue(r.stdout.contains(step), "missing step \(step)")
        }
        XCTAssertTrue(r.stdout.contains("Diagnosis"))
        XCTAssertTrue(r.stdout.contains("Verdict:"))
    }

    func testUsageErrorsExit2WithAMessage() throws {
        let cases: [[String]] = [
            ["check", "--port", "0"], ["check", "--port", "no-such-service"], ["check", "--port", "65536"],
            ["check", "--peer", "10.0.0.1;id"], ["check", "--peer", "$(id)"], ["check", "--peer", "example.com"],
            ["check", "--netns", "../../etc/passwd"], ["check", "--netns", "eth0;id"], ["check", "--netns", "rstd-does-not-exist"],
            ["check", "--pid", "$(id)"], ["check", "--pid", "-1"],
            ["check", "--sample", "0"], ["check", "--sample", "forever"],
            ["check", "--only", "no-such-check"], ["check", "--answer", "reset_timing=sometimes"], ["check", "--answer", "nosuch=yes"],
            ["check", "--format", "xml"], ["check", "--no-such-flag"], ["frobnicate"],
        ]
        for args in cases {
            let r = try CLI.run(args)
            XCTAssertEqual(r.code, 2, "\(args): exit \(r.code) \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args): no message")
            XCTAssertFalse(r.stderr.contains("Fatal error"), "\(args): crashed")
        }
    }

    func testMissingToolsAreSkippedAndTheRunGoesOn() throws {
        // Only the binary's own directory on PATH: no ss, nft, ip, arping, sysctl, journalctl.
        let r = try CLI.run(["check", "--format", "json", "--sample", "100ms"], env: ["PATH": "/nonexistent", "NO_COLOR": "1"])
        XCTAssertTrue([0, 1].contains(r.code), "exit \(r.code): \(r.stderr)")
        let j = try CLI.json(r.stdout)
        let checks = try XCTUnwrap(j["checks"] as? [[String: Any]])
        for id in ["listeners", "sockets", "sysctls", "addresses"] {
            let c = try XCTUnwrap(checks.first { $0["id"] as? String == id }, id)
            XCTAssertEqual(c["status"] as? String, "skipped", id)
            XCTAssertTrue((c["reason"] as? String ?? "").contains("not installed"), "\(id): \(c["reason"] ?? "")")
        }
        // /proc reads do not need tools.
        XCTAssertEqual(checks.first { $0["id"] as? String == "counters" }?["status"] as? String != "skipped", true)
        XCTAssertFalse((j["not_seen"] as? [Any] ?? []).isEmpty, "the diagnosis says what it could not see")
    }

    func testHangingGarbageAndCrashingToolsAreContained() throws {
        let dir = try CLI.tempDir("tools")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.fakeTool(in: dir, name: "ss", script: "exec sleep 30")
        try CLI.fakeTool(in: dir, name: "ip", script: "echo '{{{ not json'")
        try CLI.fakeTool(in: dir, name: "sysctl", script: "kill -SEGV $$")
        try CLI.fakeTool(in: dir, name: "nft", script: "yes xxxxxxxxxxxxxxxx | head -c 70000000")
        try CLI.fakeTool(in: dir, name: "journalctl", script: "printf '\\033[31m\\000\\377garbage\\n'")
        let r = try CLI.run(["check", "--format", "json", "--sample", "100ms"], env: ["PATH": dir + ":/usr/bin:/bin", "NO_COLOR": "1"], timeout: 30)
        XCTAssertTrue([0, 1].contains(r.code), "exit \(r.code): \(r.stderr)")
        XCTAssertLessThan(r.seconds, 15, "a hanging tool must be killed at its timeout")
        let checks = try XCTUnwrap(try CLI.json(r.stdout)["checks"] as? [[String: Any]])
        func check(_ id: String) -> [String: Any]? { checks.first { $0["id"] as? String == id } }
        XCTAssertEqual(check("sockets")?["status"] as? String, "failed")
        XCTAssertTrue((check("sockets")?["reason"] as? String ?? "").contains("did not finish"), "\(check("sockets") ?? [:])")
        XCTAssertEqual(check("sysctls")?["status"] as? String, "failed")
        XCTAssertTrue((check("sysctls")?["reason"] as? String ?? "").contains("signal"), "\(check("sysctls") ?? [:])")
        if CLI.isRoot {
            XCTAssertEqual(check("nft-ruleset")?["status"] as? String, "failed")
            XCTAssertTrue((check("nft-ruleset")?["reason"] as? String ?? "").contains("MiB"), "\(check("nft-ruleset") ?? [:])")
        }
        XCTAssertEqual(check("addresses")?["status"] as? String, "failed", "garbage JSON is a parse failure")
    }

    func testUnprivilegedUserGetsSkipsNotCrashes() throws {
        guard CLI.isRoot else { throw XCTSkip("needs root to switch to an unprivileged user (setpriv)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("setpriv (util-linux) is not installed") }
        let r = try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary, "check", "--format", "json", "--sample", "100ms"],
                            exe: "/usr/bin/setpriv", env: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1", "HOME": "/nonexistent"])
        XCTAssertTrue([0, 1].contains(r.code), "exit \(r.code): \(r.stderr)")
        let checks = try XCTUnwrap(try CLI.json(r.stdout)["checks"] as? [[String: Any]])
        let nft = try XCTUnwrap(checks.first { $0["id"] as? String == "nft-ruleset" })
        XCTAssertEqual(nft["status"] as? String, "skipped")
        XCTAssertTrue((nft["reason"] as? String ?? "").contains("root"), "\(nft)")
    }

    func testCollectThenCheckFromBundle() throws {
        let dir = try CLI.tempDir("bundle")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/b"
        let c = try CLI.run(["collect", "-o", out, "--sample", "100ms"])
        XCTAssertEqual(c.code, 0, c.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/manifest.json"))
        let r = try CLI.run(["check", "--from", out, "--format", "json"])
        XCTAssertTrue([0, 1].contains(r.code), r.stderr)
        let j = try CLI.json(r.stdout)
        XCTAssertTrue(((j["host"] as? [String: Any])?["source"] as? String ?? "").hasPrefix("bundle"))
        // Refuses to overwrite, and a tampered manifest cannot read outside the bundle.
        XCTAssertEqual(try CLI.run(["collect", "-o", out]).code, 3)
        var manifest = try String(contentsOfFile: out + "/manifest.json", encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "\"raw/", with: "\"raw/../../../etc/")
        try manifest.write(toFile: out + "/manifest.json", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["check", "--from", out])
        XCTAssertEqual(bad.code, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("outside"), bad.stderr)
    }

    func testReadOnly() throws {
        guard CLI.isRoot else { throw XCTSkip("needs root to see the whole sysctl and nft state") }
        func snapshot() throws -> [String: String] {
            var s: [String: String] = [:]
            // Values the kernel changes on its own are left out: they move whatever rstdoctor does.
            let volatile = ["kernel.random.", "fs.dentry-state", "fs.inode-", "fs.file-nr", "fs.quota", "kernel.ns_last_pid", "net.netfilter.nf_conntrack_count",
                            "kernel.pty.nr", "fs.aio-nr", "kernel.perf_event", "vm.", "kernel.sched_domain", "fs.binfmt_misc", "kernel.tainted"]
            let sysctl = try CLI.run(["-a"], exe: "/usr/sbin/sysctl", env: ProcessInfo.processInfo.environment)
            s["sysctl"] = sysctl.stdout.split(separator: "\n").filter { line in !volatile.contains { line.hasPrefix($0) } }.joined(separator: "\n")
            if FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") {
                s["nft"] = try CLI.run(["list", "ruleset"], exe: "/usr/sbin/nft").stdout
            }
            s["ip"] = try CLI.run(["addr"], exe: "/usr/sbin/ip").stdout
            s["modules"] = ((try? String(contentsOfFile: "/proc/modules", encoding: .utf8)) ?? "no /proc/modules (kernel without modules)").split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }.sorted().joined(separator: "\n")
            let hist = "/tmp/.nstat.u\(getuid())"
            s["nstat-history"] = FileManager.default.fileExists(atPath: hist) ? (try? String(contentsOfFile: hist, encoding: .utf8)) ?? "unreadable" : "absent"
            return s
        }
        let before = try snapshot()
        let r = try CLI.run(["check", "--sample", "200ms"])
        XCTAssertTrue([0, 1].contains(r.code), r.stderr)
        let after = try snapshot()
        for k in before.keys.sorted() {
            if before[k] != after[k] {
                let b = Set((before[k] ?? "").split(separator: "\n")), a = Set((after[k] ?? "").split(separator: "\n"))
                XCTFail("\(k) changed: -\(b.subtracting(a).prefix(5)) +\(a.subtracting(b).prefix(5))")
            }
        }
    }
}
