import Foundation
import XCTest

/// Hostile values for every option that reaches an argv, a path, a BPF filter or a report (issue 8):
/// each is refused with exit 2 and a message that names the option's expected form, echoes the value
/// only in printable form, and nothing it tried to run ran.
final class InjectionTests: XCTestCase {
    /// Would be created by any of the shell payloads below if one ever reached a shell.
    let witness = "/tmp/rstd-injection-witness-\(getpid())"

    override func setUp() { unlink(witness) }
    override func tearDown() { unlink(witness) }

    var payloads: [String] {
        ["eth0;touch \(witness)", "$(touch \(witness))", "`touch \(witness)`", "x|touch \(witness)", "../../etc/passwd", "a\nb", "\u{1B}[31mred", "-rf"]
    }

    func assertRefused(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args, timeout: 30)
        XCTAssertEqual(r.code, 2, "\(args): exit \(r.code), stderr: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.isEmpty, "\(args): no message", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), "\(args): crashed", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("\u{1B}[31m"), "\(args): a raw escape sequence reached the terminal", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: witness), "\(args): a payload ran", file: file, line: line)
    }

    func testNamesOfInterfacesAndNamespaces() throws {
        for p in payloads {
            try assertRefused(["capture", "--live", p, "--seconds", "1"])
            try assertRefused(["capture", "--live", "lo", "--netns", p, "--seconds", "1"])
            try assertRefused(["watch", "--netns", p, "--seconds", "1"])
            try assertRefused(["check", "--netns", p])
            try assertRefused(["check", "--unit", p])
        }
    }

    func testPortsPeersAndDurations() throws {
        // A second filter expression smuggled into a port or an address must not reach the BPF filter.
        let values = payloads + ["80 or 1=1", "198.18.0.1 or tcp", "198.18.0.1 and not port 22", "0", "65536", "ff::/0"]
        for v in values {
            for cmd in [["capture", "--live", "lo", "--seconds", "1"], ["watch", "--seconds", "1"], ["check"]] {
                try assertRefused(cmd + ["--port", v])
                try assertRefused(cmd + ["--peer", v])
            }
        }
        for v in payloads.prefix(3) + ["-1", "0", "forever", "1s;id"] {
            try assertRefused(["watch", "--seconds", v])
            try assertRefused(["capture", "--live", "lo", "--seconds", v])
            try assertRefused(["check", "--observe", v])
            try assertRefused(["check", "--pid", v])
        }
    }

    func testPathsWithControlCharactersAreRefused() throws {
        for p in ["a\nb", "\u{1B}[31mred", "x\u{7}y", ""] {
            try assertRefused(["capture", "--live", "lo", "--seconds", "1", "-w", p])
            try assertRefused(["report", "-o", p])
            try assertRefused(["check", "--log", p])
        }
    }

    /// What the BPF filter is built from: only validated numbers and addresses.
    func testTheCaptureFilterIsBuiltOnlyFromValidatedValues() throws {
        guard CLI.isRoot else { throw XCTSkip("live capture needs root (or CAP_NET_RAW)") }
        let r = try CLI.run(["capture", "--live", "lo", "--port", "9", "--peer", "198.18.0.9", "--seconds", "0.5"], timeout: 30)
        XCTAssertEqual(r.code, 0, r.stderr)
        let filter = try XCTUnwrap(r.stderr.range(of: "with filter '").map { String(r.stderr[$0.upperBound...].prefix { $0 != "'" }) })
        // With a port, the peer is applied by the analyzer (it keeps segments tied to the peer's
        // connections under other addresses: an untranslated leak behind NAT), not by the kernel.
        XCTAssertEqual(filter, "(tcp and port 9) or (vlan and tcp and port 9)")
        let p = try CLI.run(["capture", "--live", "lo", "--peer", "198.18.0.9", "--seconds", "0.5"], timeout: 30)
        XCTAssertEqual(p.code, 0, p.stderr)
        let peerOnly = try XCTUnwrap(p.stderr.range(of: "with filter '").map { String(p.stderr[$0.upperBound...].prefix { $0 != "'" }) })
        XCTAssertEqual(peerOnly, "(tcp and host 198.18.0.9) or (vlan and tcp and host 198.18.0.9)")
    }
}
