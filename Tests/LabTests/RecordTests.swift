import Foundation
import RSTDJournal
import XCTest

/// `rstdoctor record` in the lab (issue 14): kill -9 mid-burst leaves a readable journal with
/// everything up to the last second; a foreign file and a second recorder are refused. The diagnosis
/// of every scenario from the journal, after the fact, is `RecordSinceTests`.
final class RecordTests: LabTestCase {
    func startRecorder(_ lab: Lab, netns: String, journal: String, extra: [String] = []) throws -> Background {
        let r = try lab.startBackground([binary, "record", "--netns", netns, "--journal", journal, "--port", String(Topology.port)] + extra)
        guard r.waitFor("ready:", timeout: 15) else {
            r.stop()
            throw LabError("the recorder did not start: \(r.stderr)")
        }
        return r
    }

    /// Connects to a closed port from the client `count` times at `rate` per second, printing the Unix
    /// time of each refusal.
    func burst(_ lab: Lab, to addr: String, count: Int, rate: Int) -> Background? {
        let code = """
            import socket, sys, time
            n, rate, addr = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
            for i in range(n):
                s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET)
                try:
                    s.connect((addr, 9))
                except ConnectionRefusedError:
                    print('%.6f' % time.time(), flush=True)
                s.close()
                time.sleep(1.0 / rate)
            """
        return try? lab.startBackground(["ip", "netns", "exec", lab.ns("c"), Command.resolve("python3"), "-c", code, String(count), String(rate), addr])
    }

    func testKill9DuringBurstKeepsAllButTheLastSecond() throws {
        guard let lab else { return }
        let ends = try Topology.pair(lab)
        let journal = lab.tmp.appendingPathComponent("kill9.db").path
        let rec = try lab.startBackground([binary, "record", "--netns", lab.ns("s"), "--journal", journal])
        XCTAssertTrue(rec.waitFor("ready:", timeout: 15), rec.stderr)
        let b = try XCTUnwrap(burst(lab, to: ends.server, count: 1500, rate: 500))
        usleep(2_000_000)
        let killedAt = Date().timeIntervalSince1970
        kill(rec.pid, SIGKILL)
        _ = b.wait(timeout: 20)
        let refused = b.stdout.split(separator: "\n").compactMap { Double($0) }
        XCTAssertGreaterThan(refused.count, 300)
        let j = try Journal.openForReading(path: journal)
        let events = try j.events(JournalFilter(sinceMicros: 0, untilMicros: .max, ports: [9]), perGroup: 1_000_000)
        var byCause: [String: Int] = [:]
        for e in events { byCause["\(e.direction)/\(e.cause ?? "none")", default: 0] += 1 }
        print("journal: \(try j.eventCount()) events \(byCause); recorder: \(rec.stderr)")
        let sent = events.filter { $0.direction == "sent" && $0.sport == 9 }.map { Double($0.timeMicros) / 1e6 }
        let before = refused.filter { $0 < killedAt - 1.0 }
        let kept = sent.filter { $0 < killedAt - 1.0 }
        print("kill -9: \(refused.count) refused connects, \(before.count) more than 1 s before the kill; journal has \(sent.count) sent RSTs, \(kept.count) of them before")
        XCTAssertGreaterThan(before.count, 100)
        XCTAssertGreaterThanOrEqual(kept.count, before.count, "resets older than a second were lost at kill -9")
        XCTAssertTrue(try j.meta()["application"] == "rstdoctor")
        // The lock died with the process: a new recorder can take the journal over.
        let again = try lab.startBackground([binary, "record", "--netns", lab.ns("s"), "--journal", journal])
        XCTAssertTrue(again.waitFor("ready:", timeout: 15), again.stderr)
        again.stop()
    }

    func testSecondRecorderAndForeignFileRefused() throws {
        guard let lab else { return }
        try Topology.pair(lab)
        let journal = lab.tmp.appendingPathComponent("one.db").path
        let first = try startRecorder(lab, netns: lab.ns("s"), journal: journal)
        let second = Command.run([binary, "record", "--netns", lab.ns("s"), "--journal", journal], timeout: 20)
        XCTAssertEqual(second.status, 3)
        XCTAssertTrue(second.stderr.contains("another recorder (process \(first.pid))"), second.stderr)
        first.stop()

        let foreign = lab.tmp.appendingPathComponent("notes.db").path
        try Data(String(repeating: "not a journal\n", count: 100).utf8).write(to: URL(fileURLWithPath: foreign))
        let r = Command.run([binary, "record", "--journal", foreign, "--no-capture"], timeout: 20)
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("not an SQLite database"), r.stderr)
        let c = Command.run([binary, "check", "--since", "1h", "--journal", foreign, "--only", "counters"], timeout: 30)
        XCTAssertEqual(c.status, 3)
        XCTAssertTrue(c.stderr.contains("not an SQLite database"), c.stderr)
        let missing = Command.run([binary, "check", "--since", "1h", "--journal", foreign + ".none", "--only", "counters"], timeout: 30)
        XCTAssertEqual(missing.status, 3)
        XCTAssertTrue(missing.stderr.contains("rstdoctor record --journal"), missing.stderr)
        // Asked for, a new journal replaces it (the old file is moved aside, not deleted).
        let n = try lab.startBackground([binary, "record", "--journal", foreign, "--new-journal", "--no-capture", "--netns", lab.ns("s")])
        XCTAssertTrue(n.waitFor("ready:", timeout: 15), n.stderr)
        n.stop()
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: lab.tmp.path).contains { $0.hasPrefix("notes.db.broken-") })
    }
}

final class RecorderHolder: @unchecked Sendable {
    var recorder: Background?
}
