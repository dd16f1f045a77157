import XCTest

/// Runs the built `rstdoctor watch` and checks that its tracefs instance is gone after a normal
/// end, after SIGINT and after SIGTERM, and that it names the cause of a real reset.
final class WatchBinaryTests: XCTestCase {
    private let instances = "/sys/kernel/tracing/instances"

    private func binary() throws -> String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent().appending(path: "rstdoctor").path,
            TraceFixtures.packageRoot.appending(path: ".build/debug/rstdoctor").path,
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("the rstdoctor binary is not built (run `swift build` first)")
        }
        return found
    }

    private func launch(_ args: [String]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary())
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    private func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end { if condition() { return true }; usleep(20_000) }
        return condition()
    }

    private func instancePath(_ p: Process) -> String { "\(instances)/rstdoctor-\(p.processIdentifier)" }

    func testInstanceRemovedAfterNormalEnd() throws {
        try TraceLab.skipUnlessPossible()
        let (p, out, _) = try launch(["watch", "--seconds", "1.5", "--port", "47"])
        XCTAssertTrue(waitFor(10) { FileManager.default.fileExists(atPath: instancePath(p)) }, "instance created while running")
        XCTAssertTrue(waitFor(15) { !p.isRunning })
        p.waitUntilExit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: instancePath(p)))
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("resets in") || text.contains("reset in"), text)
        XCTAssertTrue([0, 1].contains(p.terminationStatus))
    }

    private func interrupted(by sig: Int32) throws {
        try TraceLab.skipUnlessPossible()
        // Port 47 has no traffic: the kernel's tracepoints are global, and an unfiltered watch would
        // fill the unread stdout pipe with other tests' resets and block before the signal.
        let (p, out, _) = try launch(["watch", "--seconds", "60", "--port", "47"])
        XCTAssertTrue(waitFor(10) { FileManager.default.fileExists(atPath: instancePath(p)) }, "instance created while running")
        usleep(300_000)
        kill(p.processIdentifier, sig)
        XCTAssertTrue(waitFor(10) { !p.isRunning }, "watch stops on signal \(sig)")
        p.waitUntilExit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: instancePath(p)), "instance removed after signal \(sig)")
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("By reason") || text.contains("No TCP reset"), "summary printed after signal \(sig): \(text)")
    }

    func testInstanceRemovedAfterSIGINT() throws { try interrupted(by: SIGINT) }
    func testInstanceRemovedAfterSIGTERM() throws { try interrupted(by: SIGTERM) }

    func testWatchNamesNoListenerInANamespace() throws {
        try TraceLab.skipUnlessPossible()
        let lab = try TraceLab()
        let (p, out, err) = try launch(["watch", "--seconds", "4", "--netns", lab.server, "--format", "json"])
        XCTAssertTrue(waitFor(10) { FileManager.default.fileExists(atPath: instancePath(p)) })
        usleep(300_000)
        XCTAssertTrue(lab.connectToClosedPort(7).contains("errno 111"))
        p.waitUntilExit()
        let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(objects.count, lines.count, "every line is JSON")
        let sent = objects.first { $0["direction"] as? String == "sent" && $0["sport"] as? Int == 7 }
        XCTAssertEqual(sent?["reason"] as? String, "NO_SOCKET", "\(lines)")
        XCTAssertEqual(sent?["cause"] as? String, "no-listener")
        XCTAssertEqual(objects.last?["type"] as? String, "summary")
        XCTAssertEqual(p.terminationStatus, 1, "a reset that points to a cause")
        let note = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(note.contains(lab.serverIP), "says which addresses stand for the namespace: \(note)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: instancePath(p)))
    }

    func testUsageAndUnavailableExitCodes() throws {
        let bin = try binary()
        XCTAssertEqual(TraceLab.run([bin, "watch", "--port", "70000"]).code, 2)
        XCTAssertEqual(TraceLab.run([bin, "watch", "--peer", "not-an-ip"]).code, 2)
        XCTAssertEqual(TraceLab.run([bin, "watch", "--netns", "../x"]).code, 2)
        let r = TraceLab.run([bin, "watch", "--seconds", "1", "--tracefs", "/nonexistent-tracefs"])
        XCTAssertEqual(r.code, 3)
        XCTAssertTrue(r.err.contains("could not trace"), r.err)
        // Not root: drop privileges with setpriv when this runs as root.
        if geteuid() == 0, TraceLab.run(["setpriv", "--help"]).code == 0 {
            let nr = TraceLab.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "watch", "--seconds", "1"])
            XCTAssertEqual(nr.code, 3, nr.err)
            XCTAssertTrue(nr.err.contains("root"), nr.err)
        }
    }

    /// tracefs not mounted: watch mounts it and leaves it mounted (another tracer may use it by
    /// then: unmounting it under them would end their traces). Done in a private mount
    /// namespace so the host's tracefs (and other tracing users) are not touched.
    func testMountsTracefsWhenNotMounted() throws {
        try TraceLab.skipUnlessPossible()
        guard TraceLab.run(["unshare", "--help"]).code == 0 else { throw XCTSkip("unshare(1) is not installed") }
        let script = """
            import os, subprocess, sys
            if subprocess.run(["umount", "/sys/kernel/tracing"]).returncode != 0: sys.exit(77)
            before = len(os.listdir("/sys/kernel/tracing"))
            r = subprocess.run([sys.argv[1], "watch", "--seconds", "1", "--port", "47"], capture_output=True, text=True)
            after = len(os.listdir("/sys/kernel/tracing"))
            print(before, r.returncode, after)
            print(r.stderr)
            """
        let r = TraceLab.run(["unshare", "-m", "--propagation", "private", "python3", "-c", script, try binary()])
        if r.code == 77 { throw XCTSkip("cannot unmount tracefs in a private mount namespace here") }
        let first = r.out.split(separator: "\n").first.map { $0.split(separator: " ").map(String.init) } ?? []
        XCTAssertEqual(first.count, 3, "\(r.out) \(r.err)")
        XCTAssertEqual(first.first, "0", "tracefs unmounted in the private namespace")
        XCTAssertTrue(["0", "1"].contains(first.dropFirst().first ?? ""), "watch ran: \(r.err)")
        XCTAssertNotEqual(first.last, "0", "tracefs stays mounted after watch (nothing else's trace is cut short)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: instances), "the host's tracefs is untouched")
    }
}
