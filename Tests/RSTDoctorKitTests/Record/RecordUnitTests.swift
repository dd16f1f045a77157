import Foundation
import RSTDJournal
import RSTDCollect
import RSTDCapture
import RSTDTrace
import RSTDKnowledge
import RSTDData
import RSTDSystem
import RSTDCore
import XCTest

/// The recorder's pure parts: settings, the wire/trace join, metrics, and a journal period as facts.
final class RecordUnitTests: XCTestCase {
    func testSettings() throws {
        XCTAssertEqual(try RecordSettings.size("256MiB"), 268_435_456)
        XCTAssertEqual(try RecordSettings.size("1GB"), 1_000_000_000)
        XCTAssertThrowsError(try RecordSettings.size("12 parsecs"))
        XCTAssertThrowsError(try RecordSettings.size("10k"))  // below 1 MiB
        XCTAssertEqual(RecordSettings.defaultJournal(isRoot: true), "/var/lib/rstdoctor/journal.db")
        XCTAssertEqual(RecordSettings.defaultJournal(isRoot: false, env: ["XDG_STATE_HOME": "/x/state", "HOME": "/home/u"]), "/x/state/rstdoctor/journal.db")
        XCTAssertEqual(RecordSettings.defaultJournal(isRoot: false, env: ["HOME": "/home/u"]), "/home/u/.local/state/rstdoctor/journal.db")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertEqual(try RecordSettings.time("30m", now: now).timeIntervalSince1970, 1_800_000_000 - 1800)
        XCTAssertEqual(try RecordSettings.time("2027-01-15T08:00:00Z").timeIntervalSince1970, 1_800_000_000)
        XCTAssertEqual(try RecordSettings.time("1800000000").timeIntervalSince1970, 1_800_000_000)
        XCTAssertThrowsError(try RecordSettings.time("yesterday-ish"))
        XCTAssertEqual(try RecordSettings.listenAddress("127.0.0.1:9464").port, 9464)
        XCTAssertEqual(try RecordSettings.listenAddress("[::1]:9464").host, "::1")
        XCTAssertThrowsError(try RecordSettings.listenAddress("localhost:9464"))
        XCTAssertThrowsError(try RecordSettings.listenAddress("127.0.0.1"))
    }

    func trace(_ src: String, _ sport: Int, _ dst: String, _ dport: Int, t: Double, listener: Bool = false) -> ResetEvent {
        ResetEvent(traceTime: t, time: t, direction: .sent, src: src, sport: sport, dst: dst, dport: dport, state: "UNKNOWN",
                   reason: "NO_SOCKET", listener: listener, cause: "no-listener", task: "python3", pid: 7)
    }

    func wire(_ src: String, _ sport: Int, _ dst: String, _ dport: Int, t: Double, dir: String = "out") -> WireRST {
        WireRST(time: t, src: src, sport: sport, dst: dst, dport: dport, ttl: 64, flags: "RA", direction: dir, payload: nil)
    }

    func testWireTraceJoin() {
        var j = WireTraceJoin()
        let local: Set<String> = ["198.18.1.2"]
        // Joined: same 4-tuple within the tolerance, out at once.
        var out = j.add(traced: [trace("198.18.1.2", 9, "198.18.1.1", 4000, t: 100)],
                        wire: [wire("198.18.1.2", 9, "198.18.1.1", 4000, t: 100.001)], now: 100.01, local: local)
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out.first?.journalEvent(netns: "n").source, "trace+wire")
        XCTAssertEqual(out.first?.journalEvent(netns: "n").ttl, 64)
        // A local RST on the wire with no tcp_send_reset: held, then a firewall's.
        out = j.add(traced: [], wire: [wire("198.18.1.2", 8080, "198.18.1.1", 4001, t: 101)], now: 101, local: local)
        XCTAssertTrue(out.isEmpty)
        out = j.add(traced: [], wire: [], now: 101.6, local: local)
        XCTAssertEqual(out.first?.journalEvent(netns: "n").cause, "firewall-reset")
        XCTAssertEqual(out.first?.journalEvent(netns: "n").source, "wire")
        // A received RST only on the wire: no cause; a trace event alone goes out at the flush.
        out = j.add(traced: [trace("198.18.1.2", 22, "198.18.1.1", 4002, t: 102)],
                    wire: [wire("198.18.1.1", 5000, "198.18.1.2", 80, t: 102, dir: "in")], now: .infinity, local: local)
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out.map { $0.journalEvent(netns: "n").direction }.sorted(), ["received", "sent"])
        XCTAssertNil(out.first { $0.wire != nil }?.journalEvent(netns: "n").cause)
        // A listener's RST (wildcard peer) joins by its source endpoint.
        out = j.add(traced: [trace("198.18.1.2", 8095, "0.0.0.0", 0, t: 103, listener: true)],
                    wire: [wire("198.18.1.2", 8095, "198.18.1.1", 4003, t: 103)], now: 103, local: local)
        XCTAssertEqual(out.first?.journalEvent(netns: "n").source, "trace+wire")
    }

    /// A router's view (its own addresses are neither end): a RST it only sent out was built by its
    /// forward-hook reject and is kept as a firewall's; one it passed on (seen in and out) is counted
    /// as elsewhere; without the trace no firewall claim is made and nothing foreign is kept.
    func testWireTraceJoinOnARouter() {
        var j = WireTraceJoin()
        let router: Set<String> = ["198.18.2.1", "198.18.3.1"]
        _ = j.add(traced: [], wire: [wire("198.18.3.2", 8080, "198.18.2.2", 4000, t: 100)], now: 100, local: router)
        var out = j.add(traced: [], wire: [], now: 100.6, local: router)
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out.first?.journalEvent(netns: "r").cause, "firewall-reset")
        XCTAssertEqual(j.elsewhere, 0)
        // Forwarded: the server's RST comes in on one side and goes out on the other.
        _ = j.add(traced: [], wire: [wire("198.18.3.2", 8080, "198.18.2.2", 4001, t: 101, dir: "in"),
                                     wire("198.18.3.2", 8080, "198.18.2.2", 4001, t: 101.0001)], now: 101, local: router)
        out = j.add(traced: [], wire: [], now: 101.6, local: router)
        XCTAssertTrue(out.isEmpty)
        XCTAssertEqual(j.elsewhere, 1)
        // No trace: a RST going out with no copy coming in proves nothing about who built it.
        var untraced = WireTraceJoin()
        untraced.traced = false
        out = untraced.add(traced: [], wire: [wire("198.18.3.2", 8080, "198.18.2.2", 4002, t: 102)], now: .infinity, local: router)
        XCTAssertTrue(out.isEmpty)
        XCTAssertEqual(untraced.elsewhere, 1)
    }

    func testMetricsAreBoundedAndValid() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-metrics-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let j = try Journal.openForWriting(path: dir.appendingPathComponent("j.db").path)
        let m = RecorderMetrics(writer: JournalWriter(journal: j))
        for i in 0..<500 {
            m.count(JournalEvent(timeMicros: Int64(i), direction: "sent", netns: "host", src: "198.18.0.\(i % 250)", sport: 1000 + i,
                                 dst: "198.18.1.1", dport: 2000 + i, reason: i % 2 == 0 ? "NO_SOCKET" : "weird reason\n\"x", cause: i % 3 == 0 ? "made-up" : "no-listener"))
        }
        let text = m.render()
        let series = text.split(separator: "\n").filter { $0.hasPrefix("rstdoctor_resets_total{") }
        XCTAssertLessThanOrEqual(series.count, 4, text)  // peers and ports never become labels
        XCTAssertTrue(text.contains("cause=\"other\""))
        XCTAssertTrue(text.contains("reason=\"other\""))
        XCTAssertTrue(text.hasSuffix("# EOF\n"))
        XCTAssertTrue(text.contains("# TYPE rstdoctor_resets counter"))
        XCTAssertTrue(m.render(openMetrics: false).contains("# TYPE rstdoctor_resets_total counter"))
        let tf = TextfileWriter(directory: dir.path)
        XCTAssertTrue(tf.write(m.render(openMetrics: false)))
        XCTAssertTrue(try String(contentsOfFile: dir.appendingPathComponent("rstdoctor.prom").path, encoding: .utf8).contains("rstdoctor_journal_bytes"))
        // The HTTP responder.
        let server = try MetricsServer(host: "127.0.0.1", port: 0) { m.render() }
        server.start()
        defer { server.stop() }
        let (data, resp) = try fetch("http://127.0.0.1:\(server.port)/metrics")
        XCTAssertEqual(resp, 200)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("rstdoctor_resets_total"))
        XCTAssertEqual(try fetch("http://127.0.0.1:\(server.port)/other").1, 404)
    }

    func fetch(_ url: String) throws -> (Data, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", """
            import sys, urllib.request, urllib.error
            try:
                r = urllib.request.urlopen(sys.argv[1], timeout=3); sys.stdout.write('200\\n' + r.read().decode())
            except urllib.error.HTTPError as e:
                sys.stdout.write(str(e.code) + '\\n')
            """, url]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let code = Int(text.prefix { $0 != "\n" }) ?? 0
        return (Data(text.drop { $0 != "\n" }.utf8), code)
    }

    func testJournalPeriodBecomesTraceAndCounterEvidence() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-jev-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("j.db").path
        let now = Date()
        let t0 = now.addingTimeInterval(-30).journalMicros
        do {
            let j = try Journal.openForWriting(path: path)
            try j.write(events: (0..<3).map { i in
                JournalEvent(timeMicros: t0 + Int64(i) * 1000, direction: "sent", netns: "ns1", src: "198.18.1.2", sport: 8080,
                             dst: "198.18.1.1", dport: 40000 + i, reason: "TCP_ABORT_ON_CLOSE", state: "TCP_CLOSE", task: "srv", pid: 9,
                             cause: "unread-data-close")
            } + [JournalEvent(timeMicros: t0, direction: "sent", netns: "other", src: "198.18.9.9", sport: 8080, dst: "198.18.1.1",
                              dport: 1, reason: "NO_SOCKET", cause: "no-listener")],
                        counters: [CounterSnapshot(timeMicros: t0 - 1000, netns: "ns1", trigger: "start", counters: ["TcpExtTCPAbortOnClose": 10, "TcpOutRsts": 5,
                                                                                                               "conntrack.stat.invalid": 7, "conntrack.stat.entries": 3]),
                                   CounterSnapshot(timeMicros: t0 + 5_000_000, netns: "ns1", trigger: "stop", counters: ["TcpExtTCPAbortOnClose": 13, "TcpOutRsts": 8,
                                                                                                              "conntrack.stat.invalid": 9, "conntrack.stat.entries": 2])])
        }
        let r = try JournalEvidence.read(JournalEvidence.Period(since: now.addingTimeInterval(-60), until: now, journal: path),
                                         target: .named("ns1"), port: 8080, peer: "198.18.1.1")
        XCTAssertEqual(r.events, 3)
        let store = FactStore(r.facts)
        guard case .records(let resets)? = store.value("trace.resets") else { return XCTFail("no trace.resets") }
        XCTAssertEqual(resets.count, 3)
        XCTAssertEqual(resets.first?["cause"], .string("unread-data-close"))
        XCTAssertEqual(store.value("trace.sent"), .int(3))
        XCTAssertEqual(store.value("trace.sent.TCP_ABORT_ON_CLOSE"), .int(3))
        let counters = try XCTUnwrap(r.records.first { $0.id == "counters" })
        XCTAssertEqual(counters.samples.count, 2)
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        let (facts, _) = EvidenceBuilder.facts(from: [counters], catalog: kb.catalog)
        XCTAssertEqual(facts.value("nstat.TcpExtTCPAbortOnClose.delta"), FactValue.int(3))
        XCTAssertNil(facts.value("nstat.conntrack.stat.invalid"), "conntrack's counters are not nstat counters")
        // Conntrack's counters of the period, parsed as the conntrack-stat check parses the file.
        let ct = try XCTUnwrap(r.records.first { $0.id == "conntrack-stat" })
        let (ctFacts, ctRecords) = EvidenceBuilder.facts(from: [ct], catalog: kb.catalog)
        XCTAssertEqual(ctRecords.first?.status, .ok, ctRecords.first?.reason ?? "")
        XCTAssertEqual(ctFacts.value("conntrack.stat.invalid.delta"), FactValue.int(2))
        XCTAssertEqual(ctFacts.value("conntrack.stat.entries"), FactValue.int(2))
        XCTAssertEqual(r.summary.first?.topTasks.first?.0, "srv")
    }
}
