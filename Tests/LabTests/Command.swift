import Foundation

/// The result of one command the lab ran: exit status (nil when it was killed on timeout) and output.
struct CommandResult: Sendable {
    var argv: [String]
    var status: Int32?
    var stdout: String
    var stderr: String
    var timedOut: Bool

    var ok: Bool { status == 0 && !timedOut }
    var summary: String {
        "`\(argv.joined(separator: " "))` exited \(status.map(String.init) ?? "nil")\(timedOut ? " (timed out)" : ""): \(stderr.prefix(400))"
    }
}

/// Why a lab step failed: what ran and what it said, so a failing test says what to look at.
struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs commands without a shell (argv only), each bounded by a timeout.
///
/// Test-only, and kept apart from the product's `CommandRunner` (Collect/CommandRunner.swift) on
/// purpose: that runner is `async` (swift-subprocess), while the lab is synchronous end to end —
/// XCTest `setUp`/`tearDown`, and the teardown `Cleanup` runs from a SIGINT/SIGTERM handler, where
/// blocking on a Task could starve the small cooperative pool of a 2-core machine. The lab also
/// needs what `CommandRunner` does not do: long-lived children fed on stdin (agents) and background
/// children stopped by signal (`Background`). Namespaces are entered with `ip netns exec` (`Lab.exec`).
enum Command {
    /// Runs `argv` to completion or until `timeout` seconds, then kills it.
    static func run(_ argv: [String], stdin: Data? = nil, timeout: Double = 10) -> CommandResult {
        guard let exe = argv.first else { return CommandResult(argv: argv, status: nil, stdout: "", stderr: "empty argv", timedOut: false) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: resolve(exe))
        p.arguments = Array(argv.dropFirst())
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch {
            return CommandResult(argv: argv, status: nil, stdout: "", stderr: "could not start: \(error)", timedOut: false)
        }
        if let stdin {
            inp.fileHandleForWriting.write(stdin)
            try? inp.fileHandleForWriting.close()
        }
        // Both pipes are drained concurrently so a chatty child can never block on a full pipe.
        let collected = Collected()
        let group = DispatchGroup()
        for (fh, isOut) in [(out.fileHandleForReading, true), (err.fileHandleForReading, false)] {
            group.enter()
            Command.thread {
                let d = fh.readDataToEndOfFile()
                collected.set(d, stdout: isOut)
                group.leave()
            }
        }
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            p.terminate()
            if done.wait(timeout: .now() + 1) == .timedOut {
                kill(p.processIdentifier, SIGKILL)
                _ = done.wait(timeout: .now() + 2)
            }
        }
        _ = group.wait(timeout: .now() + 2)
        return CommandResult(argv: argv, status: timedOut ? nil : p.terminationStatus,
                             stdout: collected.text(stdout: true), stderr: collected.text(stdout: false), timedOut: timedOut)
    }

    /// Finds an executable in the usual system directories, then in PATH.
    static func resolve(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        var dirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
        dirs += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/" + name) {
            return d + "/" + name
        }
        return "/usr/bin/" + name
    }

    /// Runs a blocking reader on a thread of its own. Not on a dispatch queue: blocked readers
    /// would exhaust the small global pool of a 2-core machine and delay everything queued
    /// after them, the SIGINT cleanup of `Cleanup` included.
    static func thread(_ body: @escaping @Sendable () -> Void) {
        let t = Thread { body() }
        t.stackSize = 256 << 10
        t.start()
    }

    static func available(_ name: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: resolve(name))
    }
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data(), err = Data()
    func set(_ d: Data, stdout: Bool) {
        lock.lock(); defer { lock.unlock() }
        if stdout { out = d } else { err = d }
    }
    func text(stdout: Bool) -> String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: stdout ? out : err, as: UTF8.self)
    }
}

/// A child that keeps running in the background (tcpdump, an observing rstdoctor): its output is
/// collected as it comes, and `stop` ends it (SIGINT, then SIGKILL).
final class Background: @unchecked Sendable {
    let argv: [String]
    private let process = Process()
    private let lock = NSLock()
    private var out = Data(), err = Data()
    private let exited = DispatchSemaphore(value: 0)
    private var finished = false
    private let readers = DispatchGroup()

    init(_ argv: [String]) throws {
        self.argv = argv
        guard let exe = argv.first else { throw LabError("empty argv") }
        process.executableURL = URL(fileURLWithPath: Command.resolve(exe))
        process.arguments = Array(argv.dropFirst())
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [weak self] _ in self?.exited.signal() }
        try process.run()
        // One reader per pipe, blocking until EOF, so output is never lost and nothing spins.
        for (fh, isOut) in [(o.fileHandleForReading, true), (e.fileHandleForReading, false)] {
            readers.enter()
            Command.thread { [weak self, readers] in
                while true {
                    let d = fh.availableData
                    if d.isEmpty { break }
                    self?.append(d, stdout: isOut)
                }
                readers.leave()
            }
        }
    }

    private func append(_ d: Data, stdout: Bool) {
        lock.lock(); defer { lock.unlock() }
        if stdout { if out.count < 8 << 20 { out.append(d) } } else { if err.count < 1 << 20 { err.append(d) } }
    }

    var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }
    var pid: Int32 { process.processIdentifier }

    /// Waits until stderr or stdout contains `text` (e.g. tcpdump's "listening on").
    func waitFor(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderr.contains(text) || stdout.contains(text) { return true }
            if !process.isRunning { return false }
            usleep(20_000)
        }
        return false
    }

    /// Waits for a normal exit; returns the status, or nil on timeout.
    func wait(timeout: Double) -> Int32? {
        if exited.wait(timeout: .now() + timeout) == .timedOut { return nil }
        exited.signal()
        _ = readers.wait(timeout: .now() + 1)
        return process.terminationStatus
    }

    /// Ends the child: SIGINT (tcpdump flushes its file), then SIGKILL after `grace` seconds.
    func stop(grace: Double = 2) {
        lock.lock()
        let already = finished
        finished = true
        lock.unlock()
        if already { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
            if exited.wait(timeout: .now() + grace) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = exited.wait(timeout: .now() + 2)
            }
        } else {
            _ = exited.wait(timeout: .now() + 1)
        }
        exited.signal()
        _ = readers.wait(timeout: .now() + 1)
    }
}
