import Foundation
import XCTest

/// What every test of the guided session on a pseudo-terminal shares: its own state directory (the
/// session file and readline history go there), a fixed environment (no user inputrc, no colour, a dumb
/// terminal), spawning rstdoctor on a PTY, and cutting the screen at a typed command.
class SessionPTYTestCase: XCTestCase {
    var state = ""

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else {
            throw XCTSkip("the rstdoctor binary is not built (\(CLI.binary)): run `swift build` first")
        }
        state = try CLI.tempDir("session")
    }

    override func tearDownWithError() throws {
        if !state.isEmpty { try? FileManager.default.removeItem(atPath: state) }
    }

    var env: [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": state,
            "XDG_STATE_HOME": state + "/xdg",
            "TERM": "dumb",
            "INPUTRC": "/dev/null",
            "NO_COLOR": "1",
            "LANG": "C.UTF-8",
        ]
    }

    /// rstdoctor with these arguments on a new pseudo-terminal.
    func spawn(_ args: [String], cwd: String? = nil) throws -> PTY {
        try PTY([CLI.binary] + args, env: env, cwd: cwd)
    }

    /// The lines of the screen from the last occurrence of `marker` on.
    func section(_ screen: String, from marker: String) -> String {
        guard let r = screen.range(of: marker, options: .backwards) else { return "" }
        return String(screen[r.lowerBound...])
    }
}
