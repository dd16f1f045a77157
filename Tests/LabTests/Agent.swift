import Foundation

/// One answer of the fault agent: `ok`, or the errno name the application saw (ECONNRESET, ...).
struct AgentReply: Sendable, CustomStringConvertible {
    var ok: Bool
    var errno: String?
    var id: String?
    var data: String?
    var eof: Bool
    var elapsedMs: Double?
    var state: String?
    var bytes: Int?
    var raw: String

    /// What the application saw, in one word: "ok", "eof", "data", or the errno name.
    var outcome: String {
        if !ok { return errno ?? "ERROR" }
        if eof { return "eof" }
        if let data, !data.isEmpty { return "data" }
        return "ok"
    }
    var description: String { raw }

    init(json line: String) {
        raw = line
        let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        ok = obj["ok"] as? Bool ?? false
        errno = obj["errno"] as? String ?? (obj.isEmpty ? "AGENT" : nil)
        id = obj["id"] as? String
        data = obj["data"] as? String
        eof = obj["eof"] as? Bool ?? false
        elapsedMs = (obj["elapsed_ms"] as? NSNumber)?.doubleValue
        state = obj["state"] as? String
        bytes = (obj["bytes"] as? NSNumber)?.intValue
    }
}

/// The python fault agent (agents/agent.py) running inside one namespace, driven one JSON
/// command per line. It holds sockets across steps, which the scenarios need (a connection that
/// idles, a listener that never accepts, a socket closed with SO_LINGER 0 at a chosen moment).
final class Agent: @unchecked Sendable {
    let name: String
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private let lineReady = DispatchSemaphore(value: 0)
    private var lines: [String] = []
    private var partial = Data()
    private var stderrText = ""

    init(name: String, netns: String, script: String) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: Command.resolve("ip"))
        process.arguments = ["netns", "exec", netns, Command.resolve("python3"), "-u", script, "serve"]
        let out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        Command.thread { [weak self] in
            while true {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                self?.feed(d)
            }
        }
        Command.thread { [weak self] in
            while true {
                let d = err.fileHandleForReading.availableData
                if d.isEmpty { break }
                self?.appendErr(d)
            }
        }
        guard let ready = nextLine(timeout: 10), AgentReply(json: ready).ok else {
            stop()
            throw LabError("agent \(name) in \(netns) did not start: \(stderr)")
        }
    }

    var pid: Int32 { process.processIdentifier }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return stderrText }

    private func appendErr(_ d: Data) {
        lock.lock(); defer { lock.unlock() }
        if stderrText.utf8.count < 64 << 10 { stderrText += String(decoding: d, as: UTF8.self) }
    }

    private func feed(_ d: Data) {
        lock.lock()
        partial.append(d)
        var complete: [String] = []
        while let nl = partial.firstIndex(of: 0x0A) {
            complete.append(String(decoding: partial[partial.startIndex..<nl], as: UTF8.self))
            partial = Data(partial[partial.index(after: nl)...])
        }
        lines += complete
        lock.unlock()
        for _ in complete { lineReady.signal() }
    }

    private func nextLine(timeout: Double) -> String? {
        guard lineReady.wait(timeout: .now() + timeout) == .success else { return nil }
        lock.lock(); defer { lock.unlock() }
        return lines.isEmpty ? nil : lines.removeFirst()
    }

    /// Sends one command and waits for its answer (the command's own timeout plus a margin).
    @discardableResult
    func call(_ op: String, _ args: [String: Any] = [:], wait: Double = 8) -> AgentReply {
        var cmd = args
        cmd["op"] = op
        guard process.isRunning,
              let json = try? JSONSerialization.data(withJSONObject: cmd) else {
            return AgentReply(json: #"{"ok": false, "errno": "AGENT", "error": "agent not running"}"#)
        }
        input.fileHandleForWriting.write(json + Data("\n".utf8))
        guard let line = nextLine(timeout: wait) else {
            return AgentReply(json: #"{"ok": false, "errno": "AGENT", "error": "no answer"}"#)
        }
        return AgentReply(json: line)
    }

    /// Ends the agent; its sockets close as the process exits (a FIN or RST may leave).
    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(1)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        kill9()
    }

    /// Ends the agent at once with SIGKILL and waits (at most `wait` seconds) for it to be gone.
    func kill9(wait: Double = 2) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let deadline = Date().addingTimeInterval(wait)
        while process.isRunning && Date() < deadline { usleep(5_000) }
    }
}
