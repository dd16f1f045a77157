import Foundation
import XCTest

@testable import RSTDCapture

/// A live capture inside a throwaway network namespace (needs root and `ip`).
final class LiveCaptureTests: XCTestCase {
    static func run(_ argv: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    func testLiveCaptureInNamespaceSeesNoListenerRST() throws {
        guard getuid() == 0 else { throw XCTSkip("live capture in a namespace needs root") }
        guard Self.run(["ip", "-V"]) == 0 else { throw XCTSkip("iproute2 (`ip`) is not installed") }
        let ns = "rstd-c-live-\(getpid())"
        guard Self.run(["ip", "netns", "add", ns]) == 0 else { throw XCTSkip("cannot create a network namespace here") }
        defer { _ = Self.run(["ip", "netns", "del", ns]) }
        XCTAssertEqual(Self.run(["ip", "-n", ns, "link", "set", "lo", "up"]), 0)

        let out = FileManager.default.temporaryDirectory.appending(path: "rstd-c-live-\(getpid()).pcap").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let capture = LiveCapture(
            interface: "lo", netns: ns, port: 9, writeTo: out,
            classes: try CaptureFixtures.classes())
        try capture.start()
        let agent = CaptureFixtures.fixtures.appending(path: "stage/agent.py").path
        XCTAssertEqual(Self.run(["ip", "netns", "exec", ns, "python3", agent, "connect", "127.0.0.1", "9"]), 0)
        Thread.sleep(forTimeInterval: 0.3)
        let r = capture.stop()
        XCTAssertNil(r.error)
        XCTAssertEqual(r.source, "live:lo")
        XCTAssertEqual(r.rstCount, 1, "the namespace's loopback carried one RST: \(r.resets)")
        XCTAssertEqual(r.resets.first?.class, "syn-answer")
        XCTAssertEqual(r.resets.first?.cause, "no-listener")
        // The namespace's traffic is not the host's: the same capture in the root namespace's lo would not
        // have it. And -w wrote the packets, which read back the same.
        let again = try CaptureFixtures.analyze(URL(fileURLWithPath: out))
        XCTAssertEqual(again.resets.map(\.class), ["syn-answer"])
        XCTAssertEqual(again.packets, r.packets)
    }

    func testStartFailsClearlyForAMissingNamespace() throws {
        let c = LiveCapture(interface: "lo", netns: "rstd-c-does-not-exist", classes: try CaptureFixtures.classes())
        XCTAssertThrowsError(try c.start()) { e in
            XCTAssertTrue("\(e)".contains("ip netns list"), "\(e)")
        }
    }
}
