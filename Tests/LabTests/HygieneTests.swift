import Foundation
import XCTest

/// The lab leaves nothing behind: namespaces, processes, tracefs instance, temporary files.
final class HygieneTests: XCTestCase {
    override func setUpWithError() throws {
        if let reason = Lab.unavailableReason() { throw XCTSkip(reason) }
    }

    func testTeardownRemovesEverything() throws {
        let lab = try Lab()
        var torn = false
        defer { if !torn { lab.teardown() } }
        try Topology.pair(lab)
        let agent = try lab.startAgent("server", in: "s")
        XCTAssertTrue(agent.call("listen", ["addr": "0.0.0.0", "port": Topology.port]).ok)
        let cap = try lab.startCapture("c", "eth0", to: lab.tmp.appendingPathComponent("x.pcap"))
        let tracer = lab.startTrace()
        let names = Command.run(["ip", "netns", "list"]).stdout
        XCTAssertTrue(names.contains(lab.ns("c")) && names.contains(lab.ns("s")), names)
        XCTAssertEqual(lab.exec("s", ["ss", "-Hltn"]).stdout.contains(":\(Topology.port)"), true)

        lab.teardown()
        torn = true
        let after = Command.run(["ip", "netns", "list"]).stdout
        XCTAssertFalse(after.contains(lab.prefix), "namespaces left: \(after)")
        XCTAssertEqual(kill(agent.pid, 0), -1, "the agent process is still alive")
        XCTAssertEqual(kill(cap.pid, 0), -1, "tcpdump is still alive")
        if let tracer { XCTAssertFalse(FileManager.default.fileExists(atPath: tracer.dir), "tracefs instance left") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: lab.tmp.path), "temporary directory left")
    }

    /// A namespace named after a process that no longer exists is swept by the next lab.
    func testStaleNamespacesAreSwept() throws {
        // pid_max is at most 2^22: this pid cannot be alive.
        let stale = "rstd-l99999999-1-c"
        let staleDir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-l99999999-1")
        _ = Command.run(["ip", "netns", "add", stale])
        try FileManager.default.createDirectory(at: staleDir, withIntermediateDirectories: true)
        defer {
            _ = Command.run(["ip", "netns", "del", stale])
            try? FileManager.default.removeItem(at: staleDir)
        }
        let staleInstance = "/sys/kernel/tracing/instances/rstd-l99999999-1"
        let canTrace = mkdir(staleInstance, 0o700) == 0
        defer { if canTrace { _ = rmdir(staleInstance) } }
        Lab.sweepStale()
        XCTAssertFalse(Command.run(["ip", "netns", "list"]).stdout.contains(stale))
        if canTrace { XCTAssertFalse(FileManager.default.fileExists(atPath: staleInstance), "stale tracefs instance left") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleDir.path), "stale temporary directory left")
    }
}
