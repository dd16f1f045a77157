import Foundation

/// Where to run `rstdoctor check` for a scenario: inside which lab namespace, focused on which
/// port and peer.
struct Target: Sendable {
    var netns: String
    var port: Int
    var peer: String
}

/// One cause of a TCP reset staged for real in lab namespaces.
///
/// The runner calls `build` (namespaces, links, sysctls), starts the capture and the trace, calls
/// `setUp` (services and connections: the state just before the fault), marks the counters,
/// then calls `provoke` (the fault itself), and finally collects counters, `ss`, trace and packets
/// into an `Evidence` that `verify` checks against what RST-SIGNALS.md says.
protocol Scenario: Sendable {
    /// Unique id, also the name of its pcap fixture.
    var id: String { get }
    /// The cause id rstdoctor should rank first, or nil when no reset cause should be found.
    var expectedCause: String? { get }
    /// Causes that may legitimately score in a contrast scenario (e.g. the overflow without RST).
    var tolerated: Set<String> { get }
    /// Findings (causes with makes_resets: false, JSON `findings[]`) the fault may show: never judged as
    /// causes of resets, and a problem if one is ranked among them (see `Verdict`).
    var findings: Set<String> { get }
    /// Causes the side rstdoctor runs on cannot tell apart (empty: one cause is expected first). When
    /// set, they must be the top ones, in any order, and the output must say they cannot be told apart.
    var indistinct: Set<String> { get }
    /// One line: what the scenario stages.
    var summary: String { get }
    /// Namespace and interface where the client-side capture runs.
    var capture: (ns: String, dev: String) { get }
    /// More places to capture when the captures are saved (`RSTD_LAB_SAVE_PCAP=1`): each writes
    /// `<id>-<name>.pcap` beside the client's (e.g. the backend's veth, a router's `any`).
    var extraCaptures: [(ns: String, dev: String, name: String)] { get }
    /// Namespaces whose counters are compared before and after the fault.
    var counted: [String] { get }
    /// Seconds `provoke` takes at most (for the length of an `--observe` window).
    var provokeSeconds: Double { get }
    /// The client's and the server's addresses.
    var ends: Topology.Ends { get }
    /// The side rstdoctor is run on: "s" (server, peer = client) or "c" (client, peer = server).
    var side: String { get }
    /// Whether the cause leaves a trace in host state a plain `check` after the fault can see.
    /// When not (a peer that forgot a connection leaves nothing on the side that still has it),
    /// only `check --observe` is asserted, and the plain run is reported, not judged.
    var visibleAfterTheFact: Bool { get }

    func build(_ lab: Lab) throws
    func setUp(_ lab: Lab, _ ev: Evidence) throws
    func provoke(_ lab: Lab, _ ev: Evidence) throws
    func target(_ lab: Lab) -> Target
    /// What did not happen as it should; empty when the fault really happened.
    func verify(_ ev: Evidence) -> [String]
}

extension Scenario {
    var tolerated: Set<String> { [] }
    var indistinct: Set<String> { [] }
    var findings: Set<String> { [] }
    var capture: (ns: String, dev: String) { ("c", "eth0") }
    var extraCaptures: [(ns: String, dev: String, name: String)] { [] }
    var counted: [String] { ["c", "s"] }
    var provokeSeconds: Double { 3 }
    var side: String { "s" }
    var visibleAfterTheFact: Bool { true }
    func target(_ lab: Lab) -> Target {
        Target(netns: lab.ns(side), port: Topology.port, peer: side == "s" ? ends.client : ends.server)
    }
}

/// Everything a scenario run recorded: what the applications saw, counters, sockets, trace, packets.
final class Evidence: @unchecked Sendable {
    private let lock = NSLock()
    private var _app: [String: AgentReply] = [:]
    private var _order: [String] = []
    private var _notes: [String: String] = [:]
    var counters: [String: [String: Int]] = [:]
    var ssAfter: [String: String] = [:]
    var trace: [String] = []
    var traceAvailable = false
    var frames: [Frame] = []
    var pcap: URL?
    /// Addresses of the scenario's client and server, for matching packets and trace lines.
    var client = "", server = ""

    /// Records what the application saw at one step and returns it.
    @discardableResult
    func step(_ name: String, _ r: AgentReply) -> AgentReply {
        lock.lock(); defer { lock.unlock() }
        _app[name] = r
        _order.append(name)
        return r
    }
    func app(_ name: String) -> AgentReply? { lock.lock(); defer { lock.unlock() }; return _app[name] }
    var steps: [(String, AgentReply)] {
        lock.lock(); defer { lock.unlock() }
        return _order.compactMap { k in _app[k].map { (k, $0) } }
    }
    func note(_ key: String, _ value: String) { lock.lock(); _notes[key] = value; lock.unlock() }
    func note(_ key: String) -> String? { lock.lock(); defer { lock.unlock() }; return _notes[key] }
    var notes: [String: String] { lock.lock(); defer { lock.unlock() }; return _notes }

    /// The RST segments of the capture.
    var resets: [Frame] { frames.filter { $0.isTCP && $0.rst } }

    /// A readable account of the run, printed by the tests and used for the README.
    func report(_ id: String) -> String {
        var s = "== \(id)\n"
        for (k, r) in steps { s += "  app \(k): \(r.outcome)\(r.elapsedMs.map { " (\($0) ms)" } ?? "")\n" }
        for (k, v) in notes.sorted(by: { $0.key < $1.key }) { s += "  note \(k): \(v.trimmingCharacters(in: .whitespacesAndNewlines))\n" }
        for (ns, d) in counters.sorted(by: { $0.key < $1.key }) {
            let interesting = d.filter { !$0.key.hasPrefix("Ip") && !$0.key.hasPrefix("Icmp") && !$0.key.hasPrefix("Udp") || $0.key.contains("Forw") }
            s += "  nstat \(ns): " + interesting.sorted(by: { $0.key < $1.key }).map { "\($0.key) \($0.value > 0 ? "+" : "")\($0.value)" }.joined(separator: ", ") + "\n"
        }
        for f in resets { s += "  rst \(f)\n" }
        for l in trace { s += "  trace \(l.trimmingCharacters(in: .whitespaces))\n" }
        for (ns, t) in ssAfter.sorted(by: { $0.key < $1.key }) {
            for line in t.split(separator: "\n").prefix(8) { s += "  ss \(ns): \(line)\n" }
        }
        return s
    }
}

/// Assertions on an `Evidence`, collected as readable failures.
struct Checks {
    let ev: Evidence
    private(set) var failures: [String] = []
    init(_ ev: Evidence) { self.ev = ev }

    mutating func that(_ ok: Bool, _ what: String) {
        if !ok { failures.append(what) }
    }

    /// The application step ended as `outcome` ("ok", "data", "eof", or an errno name).
    mutating func app(_ step: String, _ outcome: String) {
        let got = ev.app(step)?.outcome ?? "(step not run)"
        that(got == outcome || (outcome == "ok" && got == "data"), "\(step): expected \(outcome), the application saw \(got) \(ev.app(step)?.raw ?? "")")
    }

    mutating func counter(_ ns: String, _ name: String, atLeast n: Int = 1) {
        let v = ev.counters[ns]?[name] ?? 0
        that(v >= n, "nstat in \(ns): \(name) moved by \(v), expected at least \(n)")
    }

    mutating func counterUnchanged(_ ns: String, _ name: String) {
        let v = ev.counters[ns]?[name] ?? 0
        that(v == 0, "nstat in \(ns): \(name) moved by \(v), expected no change")
    }

    /// At least one RST on the wire satisfying `match`.
    mutating func rst(_ what: String, _ match: (Frame) -> Bool) {
        that(ev.resets.contains(where: match), "no RST on the wire \(what); RSTs seen: \(ev.resets.map(\.description))")
    }

    mutating func noRST() {
        that(ev.resets.isEmpty, "expected no RST on the wire, saw \(ev.resets.map(\.description))")
    }

    /// Some trace line contains every string of `parts` (skipped when tracefs is not available).
    mutating func trace(_ parts: [String]) {
        guard ev.traceAvailable else { return }
        that(ev.trace.contains { l in parts.allSatisfy { l.contains($0) } },
             "no tracepoint line with \(parts); trace: \(ev.trace.suffix(6))")
    }

    /// No trace line contains every string of `parts`.
    mutating func noTrace(_ parts: [String]) {
        guard ev.traceAvailable else { return }
        that(!ev.trace.contains { l in parts.allSatisfy { l.contains($0) } }, "unexpected tracepoint line with \(parts)")
    }
}

/// Runs a scenario from an empty lab to its collected evidence.
enum Runner {
    /// - Parameters:
    ///   - pcap: where to write the client-side capture (a temporary file of the lab if nil).
    ///   - beforeProvoke: called just before the fault (start an observing rstdoctor here).
    ///   - afterProvoke: called right after the fault and the collection (run a plain check here).
    static func run(_ s: Scenario, in lab: Lab, pcap: URL? = nil,
                    beforeProvoke: ((Target) throws -> Void)? = nil,
                    afterProvoke: ((Target) throws -> Void)? = nil) throws -> Evidence {
        let ev = Evidence()
        ev.client = s.ends.client
        ev.server = s.ends.server
        let started = Date()
        let debug = ProcessInfo.processInfo.environment["RSTD_LAB_DEBUG"] == "1"
        func phase(_ name: String) { if debug { print(String(format: "  [%.3f s] %@", Date().timeIntervalSince(started), name)) } }
        try s.build(lab)
        phase("built")
        let file = pcap ?? lab.tmp.appendingPathComponent("\(s.id).pcap")
        ev.pcap = file
        let cap = try lab.startCapture(s.capture.ns, s.capture.dev, to: file)
        let extra = try (pcap == nil ? [] : s.extraCaptures).map { x in
            try lab.startCapture(x.ns, x.dev, to: file.deletingLastPathComponent().appendingPathComponent("\(s.id)-\(x.name).pcap"))
        }
        let tracer = lab.startTrace()
        ev.traceAvailable = tracer != nil
        if tracer == nil { ev.note("trace", "skipped: no tracefs instance could be created (is tracefs mounted at /sys/kernel/tracing?)") }
        phase("capture and trace started")
        try s.setUp(lab, ev)
        phase("set up")
        lab.markCounters(s.counted)
        tracer?.clear()
        try beforeProvoke?(s.target(lab))
        phase("counters marked")
        try s.provoke(lab, ev)
        phase("provoked")
        // Let the last segments land before counting and closing the capture.
        usleep(300_000)
        for ns in s.counted { ev.counters[ns] = lab.deltas(ns) }
        for ns in s.counted { ev.ssAfter[ns] = lab.ss(ns, ["-tanoi"]) }
        ev.trace = tracer?.lines() ?? []
        tracer?.remove()
        cap.stop()
        for x in extra { x.stop() }
        ev.frames = PcapPeek.read(file)
        phase("collected")
        try afterProvoke?(s.target(lab))
        ev.note("duration", String(format: "%.1f s", Date().timeIntervalSince(started)))
        return ev
    }
}
