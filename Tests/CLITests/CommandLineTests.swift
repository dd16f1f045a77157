import Foundation
import XCTest

/// The command line as a toolbox expects it (issue 15): --version, unknown subcommands, typed
/// values, hints that name real commands, bad input files with one exit code, bundles that keep
/// what the live run had.
final class CommandLineTests: XCTestCase {
    static let captures = CLI.root + "/Tests/RSTDoctorKitTests/Fixtures/capture/lab"
    static let sessionFixtures = CLI.root + "/Tests/Fixtures/session"

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("the rstdoctor binary is not built: run `swift build` first") }
    }

    func testVersion() throws {
        let r = try CLI.run(["--version"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertNotNil(r.stdout.range(of: #"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\n$"#, options: .regularExpression), r.stdout)
        // One place sets it: the VERSION file (embedded by `make embed`), never a literal in the code.
        let file = try String(contentsOfFile: CLI.root + "/VERSION", encoding: .utf8)
        XCTAssertEqual(r.stdout, (file.split(separator: "\n").first.map(String.init) ?? "") + "\n")
        let literals = try String(contentsOfFile: CLI.root + "/Sources/rstdoctor/RSTDoctor.swift", encoding: .utf8)
        XCTAssertNil(literals.range(of: #"version = "\d"#, options: .regularExpression), "the version is set in VERSION only")
    }

    /// The embedding works from a tree without .git (a release tarball): VERSION alone gives the version.
    func testVersionEmbedsWithoutGit() throws {
        let dir = NSTemporaryDirectory() + "rstd-version-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try "9.8.7-rc1\n".write(toFile: dir + "/VERSION", atomically: true, encoding: .utf8)
        let r = try CLI.run([CLI.root + "/scripts/embed.sh", dir, dir + "/out"], exe: "/bin/sh")
        XCTAssertEqual(r.code, 0, r.stderr)
        let swift = try String(contentsOfFile: dir + "/out/Version.swift", encoding: .utf8)
        XCTAssertTrue(swift.contains("package static let current = \"9.8.7-rc1\""), swift)
        try "not a version\n".write(toFile: dir + "/VERSION", atomically: true, encoding: .utf8)
        let bad = try CLI.run([CLI.root + "/scripts/embed.sh", dir, dir + "/out"], exe: "/bin/sh")
        XCTAssertNotEqual(bad.code, 0, "a VERSION that is not x.y.z is refused")
        XCTAssertTrue(bad.stderr.contains("must hold a version like 1.2.3"), bad.stderr)
    }

    func testAnUnknownSubcommandListsTheCommands() throws {
        let r = try CLI.run(["chek"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.stderr.contains("'chek' is not a rstdoctor command. Did you mean `rstdoctor check`?"), r.stderr)
        for c in ["diagnose", "check", "report", "collect", "watch", "capture", "knowledge"] {
            XCTAssertTrue(r.stderr.contains("\n  \(c) "), "lists \(c): \(r.stderr)")
        }
    }

    func testTypedValues() throws {
        let negative = try CLI.run(["check", "--sample", "-1s"])
        XCTAssertEqual(negative.code, 2)
        XCTAssertTrue(negative.stderr.contains("--sample -1s: a duration cannot be negative"), negative.stderr)
        XCTAssertFalse(negative.stderr.contains("Missing value"), negative.stderr)
        let format = try CLI.run(["check", "--format", "yaml"])
        XCTAssertEqual(format.code, 2)
        XCTAssertTrue(format.stderr.contains("'text', 'json' or 'openmetrics'"), format.stderr)
    }

    /// Every `rstdoctor …` named in a message, a check, a rule or the docs is a command that
    /// exists, with options it has.
    func testEveryHintNamesARealCommand() throws {
        var texts: [(String, String)] = []
        let fm = FileManager.default
        for dir in ["Sources", "checks", "knowledge", "docs"] {
            guard let e = fm.enumerator(atPath: CLI.root + "/" + dir) else { continue }
            for case let rel as String in e where [".swift", ".yaml", ".md"].contains(where: rel.hasSuffix) && !rel.hasSuffix("EmbeddedData.swift") {
                if let t = try? String(contentsOfFile: CLI.root + "/\(dir)/\(rel)", encoding: .utf8) { texts.append(("\(dir)/\(rel)", t)) }
            }
        }
        let subcommands = ["diagnose", "check", "report", "collect", "watch", "record", "capture", "knowledge"]
        var helps: [String: String] = [:]
        var seen = 0
        let pattern = try NSRegularExpression(pattern: "`rstdoctor( [^`]*)?`")
        for (file, text) in texts {
            let ns = text as NSString
            for m in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                let words = ns.substring(with: m.range).dropFirst().dropLast().split(separator: " ").map(String.init).dropFirst()
                var path: [String] = []
                var it = words.makeIterator()
                var options: [String] = []
                while let w = it.next() {
                    if w.hasPrefix("--") { options.append(String(w.split(separator: "=")[0])); continue }
                    if w.hasPrefix("-") || w.contains("\\(") || w.contains("/") || w.contains(".") || w.first?.isUppercase == true { continue }
                    if path.isEmpty && !subcommands.contains(w) { XCTFail("\(file): `rstdoctor \(words.joined(separator: " "))` — no command \(w)"); break }
                    if path == ["knowledge"] && !["lint", "list"].contains(w) { XCTFail("\(file): `rstdoctor knowledge \(w)` does not exist"); break }
                    if path.count == 2 && path[0] == "knowledge" && path[1] == "list" && !["checks", "causes", "questions", "steps", "facts"].contains(w) {
                        XCTFail("\(file): `rstdoctor knowledge list \(w)` does not exist"); break
                    }
                    if path.isEmpty || path == ["knowledge"] || path == ["knowledge", "list"] { path.append(w) }
                }
                let key = path.prefix(path.first == "knowledge" ? 2 : 1).joined(separator: " ")
                if helps[key] == nil {
                    let r = try CLI.run(Array(path.prefix(path.first == "knowledge" ? 2 : 1)) + ["--help"])
                    helps[key] = r.code == 0 ? r.stdout : ""
                }
                for o in options where !["--help", "--version"].contains(o) {
                    XCTAssertTrue(helps[key]?.contains(o) == true, "\(file): `rstdoctor \(words.joined(separator: " "))` — \(key.isEmpty ? "rstdoctor" : key) has no \(o)")
                }
                seen += 1
            }
        }
        XCTAssertGreaterThan(seen, 20, "the hints were found")
    }

    func testBadInputFilesExit3WithWhatHappened() throws {
        let dir = try CLI.tempDir("bad-input")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a capture\n".write(toFile: dir + "/text.pcap", atomically: true, encoding: .utf8)
        // A pcap header with a link type nobody decodes, and two packets.
        var dlt = Data([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0] + [UInt8](repeating: 0, count: 8) + [0xff, 0xff, 0, 0, 0, 0, 0x30, 0])
        for _ in 0..<2 { dlt += Data([1, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0] + [UInt8](repeating: 0, count: 60)) }
        try dlt.write(to: URL(fileURLWithPath: dir + "/dlt.pcap"))
        // A real capture cut in the middle of a packet.
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.captures + "/no-listener.pcap"))
        try whole.prefix(whole.count - 10).write(to: URL(fileURLWithPath: dir + "/cut.pcap"))
        let cases: [([String], [String])] = [
            (["check", "--pcap", dir + "/text.pcap"], ["text.pcap", "pcap or pcapng"]),
            (["check", "--pcap", dir + "/dlt.pcap"], ["link type DLT 3145728", "2 packets read, none as IP/TCP"]),
            (["check", "--pcap", dir + "/cut.pcap"], ["cut short", "were read, the rest is missing", "reading stopped after frame"]),
            (["check", "--log", dir + "/no-such.log"], ["cannot read the log", "no such file", "--unit NAME"]),
            (["collect", "--pcap", dir + "/text.pcap", "-o", dir + "/b"], ["text.pcap"]),
        ]
        for (args, messages) in cases {
            let r = try CLI.run(args + ["--sample", "50ms"])
            XCTAssertEqual(r.code, 3, "\(args): exit \(r.code) \(r.stderr)")
            for m in messages { XCTAssertTrue(r.stderr.contains(m), "\(args): \(r.stderr)") }
            XCTAssertFalse(r.stdout.contains("no RST"), "nothing is concluded from a bad file: \(r.stdout)")
        }
    }

    /// `collect` with the evidence options of `check`, then `check --from`: the same ranking as the
    /// live run (the fixture checks read files, so both runs see the same host).
    func testCollectThenCheckFromRanksAsTheLiveRun() throws {
        let dir = try CLI.tempDir("collect-from")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--knowledge-dir", Self.sessionFixtures, "--port", "8080", "--answer", "reset_timing=at-connect", "--skip", "fx-slow"]
        let live = try CLI.run(["check", "--format", "json"] + args, cwd: Self.sessionFixtures)
        XCTAssertTrue(live.code == 0 || live.code == 1, live.stderr)
        let c = try CLI.run(["collect", "-o", dir + "/b"] + args, cwd: Self.sessionFixtures)
        XCTAssertEqual(c.code, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("1 answers"), c.stdout)
        let from = try CLI.run(["check", "--format", "json", "--from", dir + "/b", "--knowledge-dir", Self.sessionFixtures])
        XCTAssertEqual(from.code, live.code, from.stderr)
        func ranking(_ s: String) throws -> [String] {
            let causes = try XCTUnwrap(try CLI.json(s)["causes"] as? [[String: Any]])
            return causes.map { "\($0["id"] ?? "?") \(String(format: "%.3f", $0["probability"] as? Double ?? -1))" }
        }
        XCTAssertEqual(try ranking(from.stdout), try ranking(live.stdout), "the bundle keeps the focus (--port) and the answers")
    }

    /// The same with `--observe` on a live namespace (root): the bundle carries the capture and
    /// the trace, and `check --from` puts the same cause first.
    func testCollectObserveThenCheckFromKeepsTheObservedEvidence() throws {
        guard CLI.isRoot else { throw XCTSkip("--observe traces the kernel and captures packets: needs root") }
        let ns = try TestNamespace()
        defer { ns.remove() }
        let dir = try CLI.tempDir("collect-observe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try ns.run(["collect", "--observe", "2s", "--port", "9", "-o", dir + "/b"])
        XCTAssertEqual(c.code, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("observed facts"), c.stdout)
        let from = try CLI.run(["check", "--format", "json", "--from", dir + "/b"])
        let live = try ns.run(["check", "--format", "json", "--observe", "2s", "--port", "9"])
        let fromJSON = try CLI.json(from.stdout), liveJSON = try CLI.json(live.stdout)
        let fromChecks = try XCTUnwrap(fromJSON["checks"] as? [[String: Any]])
        XCTAssertEqual(fromChecks.first { $0["id"] as? String == "capture" }?["status"] as? String, "ok", "the bundle carries the capture")
        XCTAssertNotNil(fromChecks.first { $0["id"] as? String == "kernel-trace" }, "and the trace")
        let top = { (j: [String: Any]) in (j["causes"] as? [[String: Any]])?.first?["id"] as? String }
        XCTAssertEqual(top(fromJSON), top(liveJSON))
        XCTAssertEqual(top(fromJSON), "no-listener", "port 9 has no listener in the namespace, and the bundle still says so")
    }

    /// Completions for bash, zsh and fish complete values too (formats, check ids, answers,
    /// namespaces), by asking rstdoctor; `make install` installs them and the man page.
    func testCompletionsCompleteValuesAndInstallPutsThemWithTheManPage() throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try CLI.run(["--generate-completion-script", shell])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("openmetrics"), "\(shell): formats")
            XCTAssertTrue(r.stdout.contains("---completion check -- --answer"), "\(shell): answers are asked of rstdoctor")
            XCTAssertTrue(r.stdout.contains("---completion check -- --netns"), "\(shell): namespaces")
        }
        let answers = try CLI.run(["---completion", "check", "--", "--answer", "1", "0", "rstdoctor", "check", "--answer"])
        XCTAssertTrue(answers.stdout.contains("reset_timing=after-idle"), answers.stdout)
        let ids = try CLI.run(["---completion", "check", "--", "--only", "1", "0", "rstdoctor", "check", "--only"])
        XCTAssertTrue(ids.stdout.contains("listeners"), ids.stdout)
        // capture --live completes the interfaces of the namespace given with --netns (asked of `ip -n`).
        XCTAssertTrue(try CLI.run(["--generate-completion-script", "bash"]).stdout.contains("---completion capture -- --live"))
        if CLI.isRoot, let ip = TestNamespace.ip {
            let ns = try TestNamespace()
            defer { ns.remove() }
            let add = try CLI.run(["-n", ns.name, "link", "add", "rstdx0", "type", "veth", "peer", "name", "rstdx1"], exe: ip)
            XCTAssertEqual(add.code, 0, add.stderr)
            let there = try CLI.run(["---completion", "capture", "--", "--live", "4", "0", "rstdoctor", "capture", "--netns", ns.name, "--live"])
            XCTAssertEqual(Set(there.stdout.split(separator: "\n").map(String.init)), ["any", "lo", "rstdx0", "rstdx1"], there.stdout + there.stderr)
            let here = try CLI.run(["---completion", "capture", "--", "--live", "2", "0", "rstdoctor", "capture", "--live"])
            XCTAssertTrue(here.stdout.contains("any") && !here.stdout.contains("rstdx0"), "this namespace's own: \(here.stdout)")
        }
        let make = try String(contentsOfFile: CLI.root + "/Makefile", encoding: .utf8)
        for line in ["plugin generate-manual", "share/man/man1/rstdoctor.1", "bash-completion/completions/rstdoctor",
                     "zsh/site-functions/_rstdoctor", "fish/vendor_completions.d/rstdoctor.fish"] {
            XCTAssertTrue(make.contains(line), "make install: \(line)")
        }
        // The real install builds a release and the manual (minutes, and `swift test` holds the build
        // directory's lock): `make install DESTDIR=DIR PREFIX=/usr` first, then RSTDOCTOR_INSTALLED=DIR.
        guard let dest = ProcessInfo.processInfo.environment["RSTDOCTOR_INSTALLED"], !dest.isEmpty else { return }
        let man = try String(contentsOfFile: dest + "/usr/share/man/man1/rstdoctor.1", encoding: .utf8)
        XCTAssertTrue(man.contains("rstdoctor"), man)
        XCTAssertTrue(man.contains("diagnose") && man.contains("collect") && man.contains("--observe"), "every subcommand and option is in the man page")
        for f in ["/usr/share/bash-completion/completions/rstdoctor", "/usr/share/zsh/site-functions/_rstdoctor",
                  "/usr/share/fish/vendor_completions.d/rstdoctor.fish", "/usr/bin/rstdoctor"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dest + f), f)
        }
    }
}
