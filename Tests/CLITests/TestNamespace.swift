import Foundation
import XCTest

/// A network namespace of its own for a test that observes (captures packets, traces resets), so
/// nothing else on the machine can reset a connection inside its window. Named `rstd-c<pid>-<n>`
/// like the lab's (`rstd-…`); it holds only its loopback. `remove()` kills what still runs in it and
/// deletes it; namespaces left by a test process that died are swept when the next one is made.
final class TestNamespace {
    let name: String
    static let prefix = "rstd-c"

    static var ip: String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Creates the namespace with loopback up, or skips the test when namespaces are not available.
    init() throws {
        guard CLI.isRoot else { throw XCTSkip("a network namespace of its own needs root") }
        guard Self.ip != nil else { throw XCTSkip("`ip` (iproute2) is needed to make a network namespace") }
        Self.sweepStale()
        name = "\(Self.prefix)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let add = try Self.ip(["netns", "add", name])
        guard add.code == 0 else { throw XCTSkip("network namespaces are not available here: \(add.stderr)") }
        let lo = try Self.ip(["-n", name, "link", "set", "lo", "up"])
        if lo.code != 0 {
            remove()
            throw XCTSkip("cannot bring up loopback in \(name): \(lo.stderr)")
        }
    }

    /// Runs rstdoctor inside the namespace (`ip netns exec` execs it: the pid is rstdoctor's own).
    func run(_ args: [String], timeout: Double = 60, signals: [(sig: Int32, when: (pid_t, Double) -> Bool)] = []) throws -> CLI.Result {
        try CLI.run(["netns", "exec", name, CLI.binary] + args, exe: Self.ip, timeout: timeout, signals: signals)
    }

    func remove() {
        Self.delete(name)
    }

    private static func delete(_ name: String) {
        if let pids = try? ip(["netns", "pids", name]) {
            for p in pids.stdout.split(separator: "\n") { if let pid = pid_t(p), pid > 1 { kill(pid, SIGKILL) } }
        }
        _ = try? ip(["netns", "del", name])
    }

    /// Deletes `rstd-c<pid>-…` namespaces whose test process is gone.
    private static func sweepStale() {
        guard let list = try? ip(["netns", "list"]) else { return }
        for line in list.stdout.split(separator: "\n") {
            let n = String(line.split(separator: " ").first ?? "")
            guard n.hasPrefix(prefix), let pid = pid_t(n.dropFirst(prefix.count).split(separator: "-").first ?? ""),
                  pid != getpid(), kill(pid, 0) != 0 else { continue }
            delete(n)
        }
    }

    private static func ip(_ args: [String]) throws -> CLI.Result {
        try CLI.run(args, exe: ip, timeout: 10)
    }
}
