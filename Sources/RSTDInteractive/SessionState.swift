import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// Everything a guided session has learnt, saved after every change (schema `rstdoctor.session/1`)
/// so that `rstdoctor diagnose --resume` continues where it stopped.
package struct SessionState: Codable, Sendable {
    package static let schema = "rstdoctor.session/1"

    /// What the session looks at; fixed for its lifetime.
    package struct Target: Codable, Sendable, Equatable {
        package var port: Int?
        package var peer: String?
        package var netns: String?
        package var pid: Int32?
        /// A bundle directory (`--from`) instead of the live host.
        package var bundle: String?
        package var window: Double
        package var logs: [String]
        package var units: [String]
        /// Which side of the connections this host is: "client" (it connects) or "server" (it listens).
        package var side: String?

        package init(port: Int? = nil, peer: String? = nil, netns: String? = nil, pid: Int32? = nil, bundle: String? = nil,
                    window: Double = 1, logs: [String] = [], units: [String] = []) {
            self.port = port
            self.peer = peer
            self.netns = netns
            self.pid = pid
            self.bundle = bundle
            self.window = window
            self.logs = logs
            self.units = units
        }
    }

    package var schema: String = SessionState.schema
    package var created: Date
    package var updated: Date
    package var target: Target
    /// The host the session looks at (as last seen), so a saved session can be reported elsewhere.
    package var host: HostInfo?
    /// Question id → answer id.
    package var answers: [String: String] = [:]
    /// Questions the user said "don't know" to: not asked again.
    package var dontKnow: [String] = []
    /// The latest record of every check that ran, in the order they ran.
    package var records: [CheckRecord] = []
    /// Facts from observe / capture hooks, kept with their sources.
    package var facts: [StoredFact] = []
    /// Records brought by `observe` / `capture` (check id → what brought it, e.g. "observe 10s at
    /// 20:45:39"): kept until `drop`, never replaced by a check that cannot see them (a plain run of
    /// `capture` or `kernel-trace` only says "not observing"). Optional: older files lack it.
    package var observed: [String: String]?
    /// Index into the knowledge base's steps of the step being walked; nil before the first.
    package var step: Int?
    /// Steps whose checks ran and whose questions were asked.
    package var stepsDone: [String] = []
    /// The question waiting for an answer, if any.
    package var pending: String?
    /// The item of the opening interview (port, peer, side, logs, netns) being asked, if any.
    package var interview: String?
    /// Whether the closing sweep (after the last step) happened.
    package var finished: Bool = false
    /// The commands typed, newest last (bounded).
    package var history: [String] = []

    package init(target: Target, now: Date = Date()) {
        self.created = now
        self.updated = now
        self.target = target
    }

    package static let historyLimit = 500

    /// Adds or replaces the record of one check.
    package mutating func record(_ r: CheckRecord) {
        records.removeAll { $0.id == r.id }
        records.append(r)
    }

    package mutating func remember(command: String) {
        history.append(command)
        if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
    }

    // MARK: files

    /// A decoding error in a few words: which field, what is wrong.
    static func describe(_ error: Error) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "the document" : "`\(p.dropFirst(p.hasPrefix(".") ? 1 : 0))`"
        }
        switch error as? DecodingError {
        case .keyNotFound(let k, let c)?: return "\(path(c) == "the document" ? "" : path(c) + ": ")`\(k.stringValue)` is missing"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?: return "\(path(c)) has the wrong type"
        case .dataCorrupted(let c)?: return "\(path(c)) is not valid"
        default: return String("\(error)".prefix(200))
        }
    }

    /// `$XDG_STATE_HOME/rstdoctor`, else `~/.local/state/rstdoctor` (XDG Base Directory spec).
    package static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = environment["XDG_STATE_HOME"], x.hasPrefix("/") { return x + "/rstdoctor" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/state/rstdoctor"
    }

    package static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        stateDirectory(environment: environment) + "/session.json"
    }

    /// Writes the state atomically: a temporary file in the same directory, then rename(2), so a
    /// crash or Ctrl-C never leaves a half-written session.
    package func save(to path: String) throws(ValidationError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try enc.encode(self) } catch { throw ValidationError("could not encode the session: \(error)") }
        try AtomicFile.write(data, to: path, mode: 0o600)
    }

    package static func load(from path: String) throws(ValidationError) -> SessionState {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("there is no session at \(Sanitize.terminal(path)) (or it is not readable): start one with `rstdoctor diagnose`")
        }
        // A session file is small; refuse anything absurd before decoding it.
        guard data.count <= 64 << 20 else { throw ValidationError("\(Sanitize.terminal(path)) is larger than 64 MiB: not a session file") }
        struct Head: Decodable { var schema: String? }
        guard let head = try? JSONDecoder().decode(Head.self, from: data) else {
            throw ValidationError("\(Sanitize.terminal(path)) is not a session file (not JSON with a `schema`)")
        }
        guard head.schema == schema else {
            throw ValidationError("\(Sanitize.terminal(path)) has schema \(Sanitize.terminal(head.schema ?? "none")); this rstdoctor reads \(schema)")
        }
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        do { return try dec.decode(SessionState.self, from: data) } catch {
            throw ValidationError("\(Sanitize.terminal(path)) is a damaged session file (\(Sanitize.line(describe(error)))): start a new session or `load` another file")
        }
    }
}

/// Atomic replacement of a small file.
package enum AtomicFile {
    package static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws(ValidationError) {
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ValidationError("could not create \(Sanitize.terminal(dir)): \(error.localizedDescription) — check the path and permissions")
        }
        let tmp = dir + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let token = Cleanup.shared.add { unlink(tmp) }
        defer { Cleanup.shared.run(token) }
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: NSNumber(value: mode)]) else {
            throw ValidationError("could not write \(Sanitize.terminal(tmp)): check free space and permissions of \(Sanitize.terminal(dir))")
        }
        guard rename(tmp, path) == 0 else {
            throw ValidationError("could not replace \(Sanitize.terminal(path)): \(String(cString: strerror(errno)))")
        }
    }
}
