import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
import RSTDCore
#endif

/// Where commands run: this host's own network namespace, a named one (/run/netns/NAME) or a
/// process's (/proc/PID/ns/net). Entering a namespace goes through `nsenter --net=PATH --`.
package enum NamespaceTarget: Sendable, Hashable {
    case host
    case named(String)
    case pid(Int32)

    package var nsPath: String? {
        switch self {
        case .host: nil
        case .named(let n): "/run/netns/\(n)"
        case .pid(let p): "/proc/\(p)/ns/net"
        }
    }

    package var display: String {
        switch self {
        case .host: "host"
        case .named(let n): n
        case .pid(let p): "pid \(p)"
        }
    }
}

/// The outcome of one command.
package struct CommandResult: Sendable {
    package enum Outcome: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        /// Stopped early because the user interrupted the run (SIGINT/SIGTERM).
        case interrupted(Int32)
        case missingTool
        case tooMuchOutput(Int)
        case couldNotStart(String)
    }

    package var outcome: Outcome
    package var stdout: String
    package var stderr: String
    package var seconds: Double
}

/// Runs argv arrays (never a shell) with a timeout and an output bound.
package struct CommandRunner: Sendable {
    package var target: NamespaceTarget
    /// Bound on what one command may print before it is cut off and reported.
    package var outputLimit: Int
    package var searchPath: [String]

    package init(target: NamespaceTarget = .host, outputLimit: Int = 64 << 20, searchPath: [String]? = nil) {
        self.target = target
        self.outputLimit = outputLimit
        self.searchPath = searchPath ?? (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .split(separator: ":").map(String.init)
    }

    /// The absolute path of a tool on PATH, or nil.
    package func which(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        for dir in searchPath where !dir.isEmpty {
            let p = dir + "/" + tool
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs argv inside the target namespace. `argv[0]` is looked up on PATH.
    package func run(_ argv: [String], timeout: Double) async -> CommandResult {
        let start = Date()
        guard let tool = argv.first, let path = which(tool) else {
            return CommandResult(outcome: .missingTool, stdout: "", stderr: "", seconds: 0)
        }
        var exe = path
        var args = Array(argv.dropFirst())
        if let ns = target.nsPath {
            guard let nsenter = which("nsenter") else {
                return CommandResult(outcome: .couldNotStart("nsenter (util-linux) is needed to run commands inside \(target.display)"), stdout: "", stderr: "", seconds: 0)
            }
            exe = nsenter
            args = ["--net=\(ns)", "--", path] + args
        }
        let limit = outputLimit
        let executable = Executable.path(FilePath(exe))
        let arguments = Arguments(args)
        var options = PlatformOptions()
        // Own process group, so a timeout kills grandchildren too.
        options.processGroupID = 0
        let opts = options
        enum Race: Sendable { case done(CommandResult.Outcome, String, String), timeout, interrupted(Int32) }
        // A command already running when the user interrupts is stopped; one started after the
        // interrupt (the closing reading of a window cut short) runs to its own timeout.
        let interruptible = Cleanup.shared.interruptSignal == nil
        let result: Race = await withTaskGroup(of: Race.self) { group in
            group.addTask {
                do {
                    let r = try await Subprocess.run(executable, arguments: arguments, environment: .inherit.updating(["LC_ALL": "C"]),
                                                     platformOptions: opts, output: .string(limit: limit), error: .string(limit: 1 << 20))
                    let outcome: CommandResult.Outcome
                    switch r.terminationStatus {
                    case .exited(let c): outcome = .exited(c)
                    case .signaled(let s): outcome = .signalled(s)
                    }
                    return .done(outcome, r.standardOutput, r.standardError)
                } catch let e as SubprocessError {
                    if Task.isCancelled { return .timeout }
                    if e.code == .outputLimitExceeded { return .done(.tooMuchOutput(limit), "", "") }
                    return .done(.couldNotStart("\(e)"), "", "")
                } catch {
                    if Task.isCancelled { return .timeout }
                    return .done(.couldNotStart("\(error)"), "", "")
                }
            }
            group.addTask {
                if interruptible {
                    await Cleanup.shared.sleep(seconds: timeout)
                    if let sig = Cleanup.shared.interruptSignal { return .interrupted(sig) }
                } else {
                    try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                }
                return .timeout
            }
            let first = await group.next() ?? .timeout
            group.cancelAll()
            // Wait for the child to be reaped (cancellation kills it).
            while await group.next() != nil {}
            return first
        }
        let seconds = Date().timeIntervalSince(start)
        switch result {
        case .timeout: return CommandResult(outcome: .timedOut, stdout: "", stderr: "", seconds: seconds)
        case .interrupted(let sig): return CommandResult(outcome: .interrupted(sig), stdout: "", stderr: "", seconds: seconds)
        case .done(let o, let out, let err): return CommandResult(outcome: o, stdout: out, stderr: err, seconds: seconds)
        }
    }

    /// Reads a file in the target namespace (/proc/net and /proc/sys/net depend on it), bounded.
    package func read(_ path: String, timeout: Double) async -> CommandResult {
        if target.nsPath != nil {
            return await run(["cat", "--", path], timeout: timeout)
        }
        let start = Date()
        guard let fh = FileHandle(forReadingAtPath: path) else {
            let missing = !FileManager.default.fileExists(atPath: path)
            return CommandResult(outcome: .exited(1), stdout: "", stderr: missing ? "\(path): No such file or directory" : "\(path): Permission denied", seconds: 0)
        }
        defer { try? fh.close() }
        let data = (try? fh.read(upToCount: outputLimit + 1)) ?? Data()
        if data.count > outputLimit { return CommandResult(outcome: .tooMuchOutput(outputLimit), stdout: "", stderr: "", seconds: Date().timeIntervalSince(start)) }
        return CommandResult(outcome: .exited(0), stdout: String(decoding: data, as: UTF8.self), stderr: "", seconds: Date().timeIntervalSince(start))
    }
}
