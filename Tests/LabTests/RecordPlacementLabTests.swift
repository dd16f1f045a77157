import Foundation
import RSTDJournal
import XCTest

/// The tracepoints are global: a recorder keeps only its namespace's resets (placed by their local
/// side) and counts the others as `elsewhere`, which `check --since` reports. Here the client namespace
/// connects to a closed port of the server namespace while two recorders run: one in the server's
/// namespace, one on the host.
final class RecordPlacementLabTests: LabTestCase {
    func testEachRecorderKeepsOnlyItsNamespacesResets() throws {
        guard let lab else { return }
        let ends = try Topology.pair(lab)
        // A port of its own: other labs on this machine may use the same addresses.
        let port = 20000 + Int(getpid() % 20000)
        let serverDB = lab.tmp.appendingPathComponent("server.db").path
        let hostDB = lab.tmp.appendingPathComponent("host.db").path
        let server = try lab.startBackground([binary, "record", "--netns", lab.ns("s"), "--journal", serverDB, "--port", String(port)])
        let host = try lab.startBackground([binary, "record", "--journal", hostDB, "--port", String(port), "--no-capture"])
        XCTAssertTrue(server.waitFor("ready:", timeout: 15), server.stderr)
        XCTAssertTrue(host.waitFor("ready:", timeout: 15), host.stderr)
        let n = 40
        let code = """
            import socket, sys
            for i in range(int(sys.argv[1])):
                s = socket.socket()
                try:
                    s.connect((sys.argv[2], int(sys.argv[3])))
                except ConnectionRefusedError:
                    pass
                s.close()
            """
        let r = Command.run(["ip", "netns", "exec", lab.ns("c"), Command.resolve("python3"), "-c", code, String(n), ends.server, String(port)],
                            timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        usleep(1_500_000)
        server.stop(grace: 10)
        host.stop(grace: 10)
        XCTAssertEqual(server.wait(timeout: 1), 0, server.stderr)
        XCTAssertEqual(host.wait(timeout: 1), 0, host.stderr)

        let all = JournalFilter(sinceMicros: 0, untilMicros: .max, ports: [port])
        let s = try Journal.openForReading(path: serverDB).events(all, perGroup: 1_000_000)
        XCTAssertGreaterThanOrEqual(s.count, n, "the server's journal misses its own resets: \(server.stderr)")
        XCTAssertTrue(s.allSatisfy { $0.direction == "sent" && $0.src == ends.server && $0.netns == lab.ns("s") },
                      "the client's received RSTs (another namespace) were kept: \(s.filter { $0.direction != "sent" }.prefix(3))")

        let h = try Journal.openForReading(path: hostDB)
        XCTAssertEqual(try h.events(all, perGroup: 1_000_000).count, 0, "the host's journal kept the namespaces' resets")
        let argv = [binary, "check", "--since", "60s", "--journal", hostDB, "--port", String(port), "--only", "counters", "--format", "json"]
        let c = Command.run(argv, timeout: 60)
        let doc = try JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as? [String: Any]
        let journal = try XCTUnwrap(doc?["journal"] as? [String: Any], c.stderr)
        XCTAssertEqual(journal["resets"] as? Int, 0)
        XCTAssertGreaterThanOrEqual(journal["elsewhere"] as? Int ?? 0, n, "check --since does not say what was left out: \(journal)")
        let text = Command.run(Array(argv.dropLast(2)), timeout: 60)
        XCTAssertTrue(text.stdout.contains("reset(s) of other network namespaces"), text.stdout)
    }
}
