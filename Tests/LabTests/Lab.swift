import Foundation
import RSTDCore
import RSTDSystem

/// A throw-away set of network namespaces, links, agents, captures and trace instances for one
/// scenario. Everything it creates is named `rstd-l<pid>-<n>-…` and removed by `teardown()`, which
/// tests call from `tearDown` (and which also runs on SIGINT/SIGTERM through `Cleanup`).
/// Nothing is created in the root namespace: veth pairs are created directly inside the lab
/// namespaces (`ip -n A link add … peer … netns B`) and sysctls are set inside them only.
final class Lab: @unchecked Sendable {
    /// Unique prefix of every namespace of this lab.
    let prefix: String
    let tmp: URL
    let agentScript: String
    private let lock = NSLock()
    private var namespaces: [String] = []
    private var agents: [String: Agent] = [:]
    private var background: [Background] = []
    private var tracers: [Tracer] = []
    private var counterMarks: [String: [String: Int]] = [:]
    private var cleanupToken: Int?
    private let teardownLock = NSLock()
    private nonisolated(unsafe) static var serial = 0
    private static let serialLock = NSLock()

    /// The package root, found from this file's path (Tests/LabTests/Lab.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Why the lab cannot run here, or nil when it can: root, `ip netns`, python3, nft, tcpdump, nstat.
    static func unavailableReason() -> String? {
        if geteuid() != 0 { return "the lab needs root to create network namespaces (run the tests as root)" }
        for tool in ["ip", "python3", "nft", "tcpdump", "nstat", "ss", "sysctl"] where !Command.available(tool) {
            return "the lab needs `\(tool)` (apt-get install iproute2 nftables tcpdump procps python3)"
        }
        let probe = "rstd-lprobe-\(getpid())"
        let add = Command.run(["ip", "netns", "add", probe], timeout: 5)
        defer { _ = Command.run(["ip", "netns", "del", probe], timeout: 5) }
        if !add.ok { return "network namespaces are not available here: \(add.stderr.trimmingCharacters(in: .whitespacesAndNewlines))" }
        return nil
    }

    init() throws {
        Lab.serialLock.lock()
        Lab.serial += 1
        let n = Lab.serial
        Lab.serialLock.unlock()
        prefix = "rstd-l\(getpid())-\(n)"
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent(prefix)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        agentScript = Lab.packageRoot.appendingPathComponent("Tests/LabTests/agents/agent.py").path
        Lab.sweepStale()
        Cleanup.shared.installSignalHandlers()
        cleanupToken = Cleanup.shared.add { [weak self] in self?.teardown() }
    }

    /// Removes namespaces left by an earlier lab process that was killed before its teardown.
    static func sweepStale() {
        let list = Command.run(["ip", "netns", "list"], timeout: 5).stdout
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix("rstd-l"), name != "rstd-lprobe",
                  let pidText = name.dropFirst("rstd-l".count).split(separator: "-").first,
                  let pid = Int32(pidText), pid != getpid(), kill(pid, 0) != 0 else { continue }
            killProcesses(in: name)
            _ = Command.run(["ip", "netns", "del", name], timeout: 5)
        }
        // The temporary directories of dead runs too (captures, nft files).
        let tmp = FileManager.default.temporaryDirectory
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] where entry.hasPrefix("rstd-l") {
            guard let pidText = entry.dropFirst("rstd-l".count).split(separator: "-").first,
                  let pid = Int32(pidText), pid != getpid(), kill(pid, 0) != 0 else { continue }
            try? FileManager.default.removeItem(at: tmp.appendingPathComponent(entry))
        }
        // And the tracefs instances of dead runs' tracers (a SIGKILLed test run leaves them).
        let instances = "/sys/kernel/tracing/instances"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: instances)) ?? [] where entry.hasPrefix("rstd-l") {
            guard let pidText = entry.dropFirst("rstd-l".count).split(separator: "-").first,
                  let pid = Int32(pidText), pid != getpid(), kill(pid, 0) != 0 else { continue }
            _ = rmdir("\(instances)/\(entry)")
        }
    }

    private static func killProcesses(in netns: String) {
        let pids = Command.run(["ip", "netns", "pids", netns], timeout: 5).stdout
        for p in pids.split(separator: "\n") { if let pid = Int32(p), pid > 1 { kill(pid, SIGKILL) } }
    }

    // MARK: namespaces and links

    /// The full name of the lab namespace `short` ("c", "s", "r", "br"...).
    func ns(_ short: String) -> String { "\(prefix)-\(short)" }

    /// Creates namespace `short` with loopback up and IPv6 duplicate address detection off
    /// (a fresh veth otherwise ignores IPv6 for up to a second).
    func addNamespace(_ short: String) throws {
        let name = ns(short)
        try must(["ip", "netns", "add", name])
        lock.lock(); namespaces.append(name); lock.unlock()
        try must(["ip", "-n", name, "link", "set", "lo", "up"])
        for key in ["net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"] {
            try sysctl(short, key, "0")
        }
    }

    /// Kills the processes of namespace `short` and deletes it (its veth pairs go with it).
    func deleteNamespace(_ short: String) {
        let name = ns(short)
        lock.lock()
        let owned = agents.filter { $0.key.hasPrefix(short + "/") }
        for k in owned.keys { agents.removeValue(forKey: k) }
        namespaces.removeAll { $0 == name }
        counterMarks.removeValue(forKey: short)   // a re-created namespace counts from zero
        lock.unlock()
        for a in owned.values { a.kill9() }
        Lab.killProcesses(in: name)
        _ = Command.run(["ip", "netns", "del", name], timeout: 5)
    }

    /// A veth pair between two lab namespaces, created inside them, both ends up.
    func link(_ a: String, _ ifA: String, _ b: String, _ ifB: String, macA: String? = nil, macB: String? = nil) throws {
        try must(["ip", "-n", ns(a), "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", ns(b)])
        if let macA { try must(["ip", "-n", ns(a), "link", "set", ifA, "address", macA]) }
        if let macB { try must(["ip", "-n", ns(b), "link", "set", ifB, "address", macB]) }
        try must(["ip", "-n", ns(a), "link", "set", ifA, "up"])
        try must(["ip", "-n", ns(b), "link", "set", ifB, "up"])
    }

    /// Adds an address (CIDR form); IPv6 addresses skip duplicate address detection.
    func address(_ short: String, _ dev: String, _ cidr: String) throws {
        var argv = ["ip", "-n", ns(short), "addr", "add", cidr, "dev", dev]
        if cidr.contains(":") { argv.append("nodad") }
        try must(argv)
    }

    func route(_ short: String, _ prefix: String, via gateway: String) throws {
        try must(["ip", "-n", ns(short)] + (gateway.contains(":") ? ["-6"] : []) + ["route", "add", prefix, "via", gateway])
    }

    /// A namespace holding a bridge `br0`; `attach` plugs another namespace into it.
    func addBridge(_ short: String) throws {
        try addNamespace(short)
        try must(["ip", "-n", ns(short), "link", "add", "br0", "type", "bridge"])
        try must(["ip", "-n", ns(short), "link", "set", "br0", "up"])
    }

    /// Connects `host`'s `dev` to the bridge in `bridge` through port `port`.
    func attach(_ host: String, _ dev: String, to bridge: String, port: String, mac: String? = nil) throws {
        try link(bridge, port, host, dev, macB: mac)
        try must(["ip", "-n", ns(bridge), "link", "set", port, "master", "br0"])
    }

    func sysctl(_ short: String, _ key: String, _ value: String) throws {
        try must(["ip", "netns", "exec", ns(short), "sysctl", "-q", "-w", "\(key)=\(value)"])
    }

    /// Loads an nft ruleset (from a temporary file: no shell, no stdin quoting) inside namespace `short`.
    func nft(_ short: String, _ ruleset: String) throws {
        let file = tmp.appendingPathComponent("nft-\(short)-\(UUID().uuidString.prefix(8)).nft")
        try ruleset.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try must(["ip", "netns", "exec", ns(short), "nft", "-f", file.path])
    }

    func nftDeleteTable(_ short: String, _ table: String) throws {
        try must(["ip", "netns", "exec", ns(short), "nft", "delete", "table", "inet", table])
    }

    /// Runs argv inside namespace `short`.
    @discardableResult
    func exec(_ short: String, _ argv: [String], timeout: Double = 10) -> CommandResult {
        Command.run(["ip", "netns", "exec", ns(short)] + argv, timeout: timeout)
    }

    /// Runs argv and throws with its stderr if it fails.
    @discardableResult
    func must(_ argv: [String], timeout: Double = 10) throws -> CommandResult {
        let r = Command.run(argv, timeout: timeout)
        guard r.ok else { throw LabError(r.summary) }
        return r
    }

    /// Waits until `addr` answers from namespace `short` at layer 3 (UDP probe, ICMP unreachable back),
    /// so the first connect of a scenario is not delayed by neighbour discovery or a route not yet usable.
    func waitReachable(_ short: String, _ addr: String, timeout: Double = 5) throws {
        let r = exec(short, [Command.resolve("python3"), agentScript, "probe", addr, String(timeout)], timeout: timeout + 2)
        guard r.ok else { throw LabError("\(addr) is not reachable from \(ns(short)) after \(timeout) s: \(r.summary)") }
    }

    // MARK: agents, captures, traces

    /// Starts the fault agent named `name` in namespace `short`.
    @discardableResult
    func startAgent(_ name: String, in short: String) throws -> Agent {
        let a = try Agent(name: name, netns: ns(short), script: agentScript)
        lock.lock(); agents[short + "/" + name] = a; lock.unlock()
        return a
    }

    func agent(_ name: String, in short: String) throws -> Agent {
        lock.lock(); defer { lock.unlock() }
        guard let a = agents[short + "/" + name] else { throw LabError("no agent \(name) in \(short)") }
        return a
    }

    /// Starts tcpdump on `dev` in namespace `short`, writing `file`, and waits until it listens.
    func startCapture(_ short: String, _ dev: String, to file: URL) throws -> Background {
        let b = try Background(["ip", "netns", "exec", ns(short), Command.resolve("tcpdump"),
                                "-i", dev, "--immediate-mode", "-U", "-n", "-s", "256", "-w", file.path])
        keep(b)
        guard b.waitFor("listening on", timeout: 5) else {
            b.stop()
            throw LabError("tcpdump did not start in \(ns(short)): \(b.stderr)")
        }
        return b
    }

    /// Starts any long-running command (e.g. an observing rstdoctor) that teardown will stop.
    func startBackground(_ argv: [String]) throws -> Background {
        let b = try Background(argv)
        keep(b)
        return b
    }

    private func keep(_ b: Background) { lock.lock(); background.append(b); lock.unlock() }

    /// A tracefs instance with the two RST tracepoints on; nil (with the reason in `traceSkipped`) without tracefs.
    func startTrace() -> Tracer? {
        guard let t = Tracer(name: prefix) else { return nil }
        lock.lock(); tracers.append(t); lock.unlock()
        return t
    }

    // MARK: counters and sockets

    /// `nstat -asz` inside the namespace: absolute values, no history file touched.
    func nstat(_ short: String) -> [String: Int] {
        let r = exec(short, ["nstat", "-asz"], timeout: 5)
        var out: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 2, let v = Int(f[1]) { out[String(f[0])] = v }
        }
        return out
    }

    /// Remembers the counters of the given namespaces, for `deltas` after the fault.
    func markCounters(_ shorts: [String]) {
        for s in shorts {
            let v = nstat(s)
            lock.lock(); counterMarks[s] = v; lock.unlock()
        }
    }

    /// Counters that moved since `markCounters` (a namespace re-created since counts from zero).
    func deltas(_ short: String) -> [String: Int] {
        let now = nstat(short)
        lock.lock(); let before = counterMarks[short] ?? [:]; lock.unlock()
        var d: [String: Int] = [:]
        for (k, v) in now where v != before[k, default: 0] { d[k] = v - before[k, default: 0] }
        return d
    }

    func ss(_ short: String, _ args: [String] = ["-tanoi"]) -> String {
        exec(short, ["ss"] + args, timeout: 5).stdout
    }

    // MARK: teardown

    /// Stops every agent, capture and trace, deletes every namespace and the temporary files.
    /// A second caller (the test's tearDown while a signal's cleanup runs) waits for the first to
    /// finish, so the process cannot exit half-way through.
    func teardown() {
        teardownLock.lock(); defer { teardownLock.unlock() }
        lock.lock()
        let a = Array(agents.values), b = background, t = tracers, n = namespaces
        agents.removeAll(); background.removeAll(); tracers.removeAll(); namespaces.removeAll()
        let token = cleanupToken
        cleanupToken = nil
        lock.unlock()
        for x in a { x.kill9(wait: 0) }
        for x in t { x.remove() }
        for name in n {
            Lab.killProcesses(in: name)
            // Sockets the killed agents left orphaned (unacknowledged data, FIN_WAIT) keep
            // retransmitting in a deleted namespace until they time out, and the RSTs they draw come
            // from the same lab addresses as the next test's: the global tracepoints would place them
            // there. Destroyed now (SOCK_DESTROY), they end here.
            _ = Command.run(["ip", "netns", "exec", name, Command.resolve("ss"), "-K", "-t", "-a"], timeout: 3)
            _ = Command.run(["ip", "netns", "del", name], timeout: 5)
        }
        for x in b { x.stop(grace: 1) }
        for x in a { x.kill9(wait: 1) }
        try? FileManager.default.removeItem(at: tmp)
        if let token { Cleanup.shared.remove(token) }
    }
}
