import Foundation
import XCTest

/// Runs the built rstdoctor binary the way a user would, with a timeout.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["RSTDOCTOR_BIN"] { return b }
        for p in [".build/debug/rstdoctor", ".build/release/rstdoctor"] where FileManager.default.isExecutableFile(atPath: root + "/" + p) {
            return root + "/" + p
        }
        return root + "/.build/debug/rstdoctor"
    }

    struct TimedOut: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    struct Result {
        var code: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    /// Runs `exe args…` with an optional environment, killing it after `timeout` seconds.
    /// `signals`: each is sent once, in order, as soon as its condition (given the child's pid and the
    /// seconds since start) holds.
    static func run(_ args: [String], exe: String? = nil, env: [String: String]? = nil, timeout: Double = 60, stdin: String? = nil,
                    cwd: String? = nil, signals: [(sig: Int32, when: (pid_t, Double) -> Bool)] = []) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe ?? binary)
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.arguments = args
        var e = env ?? ProcessInfo.processInfo.environment
        e["NO_COLOR"] = e["NO_COLOR"] ?? "1"
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = Pipe()
        p.standardInput = inPipe
        let start = Date()
        try p.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inPipe.fileHandleForWriting.close()
        // Read concurrently so a chatty child never blocks on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let o = Box(), r = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { r.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        var pendingSignals = signals[...]
        while p.isRunning && Date() < deadline {
            if let next = pendingSignals.first, next.when(p.processIdentifier, Date().timeIntervalSince(start)) {
                kill(p.processIdentifier, next.sig)
                pendingSignals = pendingSignals.dropFirst()
            }
            usleep(20_000)
        }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            group.wait()
            throw TimedOut(message: "rstdoctor \(args.joined(separator: " ")) did not finish within \(timeout)s: a hang")
        }
        p.waitUntilExit()
        group.wait()
        return Result(code: p.terminationStatus, stdout: String(decoding: o.data, as: UTF8.self),
                      stderr: String(decoding: r.data, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    static func json(_ text: String) throws -> [String: Any] {
        let obj = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(obj as? [String: Any], "not a JSON object: \(text.prefix(200))")
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// A fresh temporary directory, removed by the caller.
    static func tempDir(_ name: String) throws -> String {
        let d = NSTemporaryDirectory() + "rstd-test-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Writes an executable fake tool (a test fixture standing in for a broken real one).
    static func fakeTool(in dir: String, name: String, script: String) throws {
        let path = dir + "/" + name
        try ("#!/bin/sh\n" + script + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }
}
