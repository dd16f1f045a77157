import Foundation
import XCTest

/// Evidence has a place and a time (issue 13): a healthy namespace observed while other namespaces
/// of the machine reset connections, and repeated `--observe` windows on healthy traffic.
final class PlaceTests: LabTestCase {
    /// One port for the observed service and the foreign resets alike, so that the port filter
    /// cannot hide the foreign ones: only the place of each event can.
    static let port = 18473
    static let observed = Topology.ends(.pair, v6: false)
    static let observedAddresses: Set<String> = ["198.18.1.1", "198.18.1.2", "fd00:5253:5444:1::1", "fd00:5253:5444:1::2"]
    static let foreignPrefixes = ["198.18.21.", "198.18.22."]

    /// The observed pair `c` ── `s` with a listener on `port` in `s`.
    func observedPair(_ lab: Lab) throws -> (cli: Agent, srv: Agent, listener: String) {
        try Topology.pair(lab)
        let (srv, l) = try Steps.listen(lab, in: "s", addr: "0.0.0.0", port: Self.port)
        return (try lab.startAgent("client", in: "c"), srv, l)
    }

    /// Another pair `fNc` 198.18.2N.1 ── `fNs` 198.18.2N.2, not the observed one.
    func foreignPair(_ lab: Lab, _ n: Int) throws {
        try lab.addNamespace("f\(n)c")
        try lab.addNamespace("f\(n)s")
        try lab.link("f\(n)c", "eth0", "f\(n)s", "eth0")
        try lab.address("f\(n)c", "eth0", "198.18.\(20 + n).1/24")
        try lab.address("f\(n)s", "eth0", "198.18.\(20 + n).2/24")
        try lab.waitReachable("f\(n)c", "198.18.\(20 + n).2")
    }

    /// Healthy requests on the observed pair until `stop`: connect, request, response, FIN both ways.
    func healthyTraffic(_ cli: Agent, _ srv: Agent, _ l: String, until stop: StopSwitch, done: DispatchGroup) {
        done.enter()
        Command.thread {
            defer { done.leave() }
            while !stop.isOn {
                let c = cli.call("connect", ["addr": Self.observed.server, "port": Self.port])
                guard c.ok, let cid = c.id else { usleep(100_000); continue }
                let s = srv.call("accept", ["id": l, "timeout": 2])
                _ = cli.call("send", ["id": cid, "data": "GET /\n"])
                if let sid = s.id {
                    _ = srv.call("recv", ["id": sid])
                    _ = srv.call("send", ["id": sid, "data": "200 OK\n"])
                    _ = cli.call("recv", ["id": cid])
                    _ = cli.call("close", ["id": cid])
                    _ = srv.call("recv", ["id": sid])
                    _ = srv.call("close", ["id": sid])
                } else {
                    _ = cli.call("close", ["id": cid])
                }
                usleep(50_000)
            }
        }
    }

    /// Runs `check --observe` in the observed server namespace (or `ns`) and decodes its JSON.
    func observe(_ seconds: Int, peer: String? = nil, in ns: String = "s", port: Int? = PlaceTests.port) -> (Diagnosis, [String: Any]) {
        var argv = [binary, "check", "--netns", lab?.ns(ns) ?? "", "--format", "json", "--observe", "\(seconds)s"]
        if let port { argv += ["--port", String(port)] }
        if let peer { argv += ["--peer", peer] }
        let r = Command.run(argv, timeout: Double(seconds) + 60)
        let d = Diagnosis(mode: "observe", argv: argv, status: r.status, stdout: r.stdout, stderr: r.stderr)
        let obj = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        return (d, obj)
    }

    /// The address of the side of a listed RST that is "here": a sent or outgoing RST's source, a
    /// received one's destination.
    static func localSide(_ r: [String: Any]) -> String {
        let dir = r["direction"] as? String ?? ""
        let outgoing = dir == "sent" || dir == "out" || (r["local"] as? Bool == true)
        return (outgoing ? r["src"] : r["dst"]) as? String ?? "?"
    }

    /// Two other namespace pairs reset connections all through an `--observe` window of the healthy
    /// one (refused connects in one, SO_LINGER {1,0} aborts in the other, on the same port): no cause
    /// reaches 0.3, no RST of theirs is listed, and `watch` in the root namespace counts each of
    /// their RSTs once (as many as the captures on their wires saw).
    func testForeignNamespacesResetAllThroughTheWindow() throws {
        guard let lab else { return }
        let (cli, srv, l) = try observedPair(lab)
        // Foreign pairs: f1 refuses (nothing listens), f2 aborts with SO_LINGER {1,0}.
        for n in 1...2 { try foreignPair(lab, n) }
        let f1 = try lab.startAgent("client", in: "f1c")
        let f2c = try lab.startAgent("client", in: "f2c")
        let (f2s, f2l) = try Steps.listen(lab, in: "f2s", addr: "0.0.0.0", port: Self.port)
        let caps = try (1...2).map { n in
            (lab.tmp.appendingPathComponent("f\(n).pcap"), try lab.startCapture("f\(n)c", "eth0", to: lab.tmp.appendingPathComponent("f\(n).pcap")))
        }
        let watch = try lab.startBackground([binary, "watch", "--port", String(Self.port), "--format", "json"])
        // Let watch open its tracefs instance before the first RST.
        usleep(1_500_000)

        let stop = StopSwitch(), done = DispatchGroup()
        healthyTraffic(cli, srv, l, until: stop, done: done)
        done.enter()
        Command.thread {
            defer { done.leave() }
            while !stop.isOn {
                _ = f1.call("connect", ["addr": "198.18.21.2", "port": Self.port])
                usleep(40_000)
            }
        }
        done.enter()
        Command.thread {
            defer { done.leave() }
            while !stop.isOn {
                let c = f2c.call("connect", ["addr": "198.18.22.2", "port": Self.port])
                guard let cid = c.id else { usleep(100_000); continue }
                if let sid = f2s.call("accept", ["id": f2l, "timeout": 2]).id {
                    _ = f2c.call("send", ["id": cid, "data": "GET /\n"])
                    _ = f2s.call("recv", ["id": sid])
                    _ = f2s.call("linger0", ["id": sid])
                    _ = f2s.call("close", ["id": sid])
                    _ = f2c.call("recv", ["id": cid])
                }
                _ = f2c.call("close", ["id": cid])
                usleep(40_000)
            }
        }
        usleep(500_000)
        let (d, obj) = observe(4)
        // A namespace with no address but loopback, observed whole (no --port): no address of its own
        // can place a traced RST in it, so none of the machine's are its (they once all were).
        try lab.addNamespace("bare")
        let (bare, bareObj) = observe(3, in: "bare", port: nil)
        usleep(500_000)
        stop.turnOn()
        _ = done.wait(timeout: .now() + 15)
        usleep(500_000)
        watch.stop(grace: 5)
        for (_, c) in caps { c.stop() }
        ScenarioTests.dump("foreign-namespaces", [d])

        // check --observe: healthy, and nothing of the other namespaces listed.
        print("foreign-namespaces [observe] exit \(d.status.map(String.init) ?? "timeout"): \(d.top3)")
        XCTAssertNotNil(d.causes, "no causes in the output: \(d.stderr.prefix(300))")
        for c in d.causes ?? [] where c.probability >= Verdict.controlMax {
            XCTFail("cause \(c.id) has p = \(c.probability) while only other namespaces reset connections")
        }
        for r in obj["resets"] as? [[String: Any]] ?? [] {
            XCTFail("a RST is listed for a healthy namespace (local side \(Self.localSide(r))): \(r)")
        }
        print("foreign-namespaces [observe, bare namespace] exit \(bare.status.map(String.init) ?? "timeout"): \(bare.top3)")
        XCTAssertNotNil(bare.causes, "no causes in the bare namespace's output: \(bare.stderr.prefix(300))")
        for c in bare.causes ?? [] where c.probability >= Verdict.controlMax {
            XCTFail("bare namespace: cause \(c.id) has p = \(c.probability) from other namespaces' resets")
        }
        XCTAssertEqual((bareObj["resets"] as? [[String: Any]] ?? []).count, 0, "RSTs of other namespaces listed for a bare one")
        let traceCheck = (obj["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "kernel-trace" }
        let traceReason = traceCheck?["reason"] as? String ?? ""
        print("kernel-trace: \(traceReason)")

        // watch in the root namespace: each foreign RST once.
        let lines = watch.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let ours = lines.filter { e in
            e["type"] as? String == "reset" && [e["src"], e["dst"]].contains { a in
                Self.foreignPrefixes.contains { (a as? String ?? "").hasPrefix($0) }
            }
        }
        let wire = caps.map { PcapPeek.read($0.0).filter { $0.isTCP && $0.rst }.count }
        print("foreign RSTs: on the wire \(wire) (refusals, aborts), watch listed \(ours.count)")
        XCTAssertGreaterThan(wire[0], 10, "the refusals did not happen")
        XCTAssertGreaterThan(wire[1], 10, "the aborts did not happen")
        XCTAssertEqual(ours.count, wire.reduce(0, +), "watch should list each RST of this machine once (sent here, received here: one RST)")
        // The trace ran inside the captures' interval: it cannot have seen more RSTs elsewhere than the wires.
        let elsewhere = traceReason.components(separatedBy: "; ").last.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
        XCTAssertGreaterThan(elsewhere, 0, "the check should say RSTs happened in other namespaces: \(traceReason)")
        XCTAssertLessThanOrEqual(elsewhere, wire.reduce(0, +), "each RST of another namespace counts once in `elsewhere`")
        XCTAssertFalse(ours.contains { $0["direction"] as? String == "received" },
                       "a RST whose sender is on this machine is listed as sent, with its receiver")
    }

    /// Ten `--observe` windows in a row on a healthy namespace with traffic: no RST at all, and never
    /// a RST called built by a firewall (the trace must cover the capture's whole window).
    func testTenObserveRunsOnHealthyTraffic() throws {
        guard let lab else { return }
        let (cli, srv, l) = try observedPair(lab)
        let stop = StopSwitch(), done = DispatchGroup()
        healthyTraffic(cli, srv, l, until: stop, done: done)
        defer {
            stop.turnOn()
            _ = done.wait(timeout: .now() + 10)
        }
        for run in 1...10 {
            let (d, obj) = observe(2, peer: Self.observed.client)
            print("healthy run \(run) exit \(d.status.map(String.init) ?? "timeout"): \(d.top3)")
            XCTAssertEqual(d.status, 0, "run \(run): a healthy namespace should exit 0: \(d.stderr.prefix(300))")
            for c in d.causes ?? [] where c.probability > Verdict.controlMax {
                XCTFail("run \(run): cause \(c.id) has p = \(c.probability) on healthy traffic")
            }
            let resets = obj["resets"] as? [[String: Any]] ?? []
            XCTAssertEqual(resets.count, 0, "run \(run): RSTs listed on healthy traffic: \(resets)")
            if d.stdout.contains("\"firewall_built\":true") || d.stdout.contains("\"firewall_built\" : true") {
                XCTFail("run \(run): a RST is called firewall-built")
            }
            // The window saw the traffic (the capture's summary: "live capture on …: N packets, …").
            let capture = (obj["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "capture" }?["reason"] as? String ?? ""
            let packets = capture.components(separatedBy: ": ").last.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
            XCTAssertGreaterThan(packets, 0, "run \(run): the window captured no traffic: \(capture)")
            if run == 10 { ScenarioTests.dump("healthy-run10", [d]) }
        }
    }

    /// Another namespace's listener is SYN-flooded, on the observed service's port: the kernel log
    /// (the machine's) says so and names that listener's address. A plain check of the observed
    /// namespace must not take the line for its own (kernel-log-syn-flood silent); a check of the
    /// flooded namespace does. Only the address tells them apart: the port is the same.
    func testForeignSynFloodInTheKernelLog() throws {
        guard let lab else { return }
        _ = try observedPair(lab)
        try foreignPair(lab, 1)
        try lab.sysctl("f1s", "net.ipv4.tcp_syncookies", "1")
        try lab.sysctl("f1s", "net.ipv4.tcp_max_syn_backlog", "16")
        _ = try Steps.listen(lab, in: "f1s", addr: "198.18.21.2", port: Self.port, backlog: 8)
        let f1 = try lab.startAgent("client", in: "f1c")
        let line = "Possible SYN flooding on port 198.18.21.2:\(Self.port)."
        let logged = { Command.run(["dmesg"], timeout: 5).stdout.split(separator: "\n").filter { $0.contains(line) }.count }
        let before = logged()
        let burst = f1.call("syn_burst", ["src": "198.18.21.77", "dst": "198.18.21.2", "dport": Self.port, "count": 200, "sport": 30000])
        XCTAssertTrue(burst.ok, "the SYN burst failed: \(burst)")
        usleep(500_000)
        // net_info_ratelimited() may swallow the line when other labs log at the same moment.
        guard logged() > before else { throw XCTSkip("the kernel logged no SYN flood line for 198.18.21.2 (rate-limited)") }
        for (ns, fires) in [("s", false), ("f1s", true)] {
            let argv = [binary, "check", "--netns", lab.ns(ns), "--port", String(Self.port), "--format", "json"]
            let r = Command.run(argv, timeout: 60)
            let obj = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
            let flood = (obj["findings"] as? [[String: Any]])?.first { $0["id"] as? String == "syn-flood" }
            let rules = (flood?["for"] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String }
            print("foreign-syn-flood [\(ns)] syn-flood \(flood?["probability"] ?? "absent"), for: \(rules)")
            XCTAssertNotNil(flood, "no syn-flood finding in \(ns)'s output: \(r.stderr.prefix(300))")
            XCTAssertEqual(rules.contains("kernel-log-syn-flood"), fires,
                           fires ? "the flooded namespace's own line should count" : "another namespace's flood counted here")
        }
    }
}

/// A flag set once from the test thread and read by the traffic threads.
final class StopSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    var isOn: Bool { lock.lock(); defer { lock.unlock() }; return on }
    func turnOn() { lock.lock(); on = true; lock.unlock() }
}
