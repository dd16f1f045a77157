import Foundation
import XCTest

/// Issue 14's fleet path: Debian's `prometheus` (installed by `make test`'s dependency step) scrapes
/// `rstdoctor record --metrics` on loopback during a lab fault, and the per-cause counter is read
/// back through Prometheus' HTTP query API.
final class RecordPrometheusTests: XCTestCase {
    private var lab: Lab?

    override func setUpWithError() throws {
        if let reason = Lab.unavailableReason() { throw XCTSkip(reason) }
        guard Command.available("prometheus") else { throw XCTSkip("prometheus is not installed (apt-get install prometheus; `make deps` does it)") }
        lab = try Lab()
    }

    override func tearDown() {
        lab?.teardown()
        lab = nil
    }

    static func get(_ url: String) -> String? {
        let r = Command.run([Command.resolve("python3"), "-c",
                             "import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())", url], timeout: 10)
        return r.ok ? r.stdout : nil
    }

    func testPrometheusScrapesPerCauseCounter() throws {
        guard let lab, let bin = Diagnose.binary() else { throw XCTSkip("the rstdoctor binary is not built") }
        let ends = try Topology.pair(lab)
        let base = 20000 + Int(getpid() % 5000) * 2
        let metricsPort = base, promPort = base + 1
        let journal = lab.tmp.appendingPathComponent("prom.db").path
        let rec = try lab.startBackground([bin, "record", "--netns", lab.ns("s"), "--journal", journal, "--metrics", "127.0.0.1:\(metricsPort)"])
        XCTAssertTrue(rec.waitFor("ready:", timeout: 15), rec.stderr)

        let dir = lab.tmp.appendingPathComponent("prometheus")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("prometheus.yml")
        try """
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            scrape_configs:
              - job_name: rstdoctor
                static_configs: [ { targets: ["127.0.0.1:\(metricsPort)"] } ]
            """.write(to: config, atomically: true, encoding: .utf8)
        let prom = try lab.startBackground([Command.resolve("prometheus"), "--config.file=\(config.path)",
                                            "--storage.tsdb.path=\(dir.appendingPathComponent("data").path)",
                                            "--web.listen-address=127.0.0.1:\(promPort)"])
        defer { prom.stop(grace: 5) }
        XCTAssertTrue(prom.waitFor("Server is ready to receive web requests", timeout: 30), prom.stderr.suffix(2000).description)

        // The fault: connects to a port nobody listens on in the server namespace.
        for _ in 0..<5 {
            _ = lab.exec("c", [Command.resolve("python3"), "-c",
                               "import socket,sys\ns=socket.socket()\ntry: s.connect((sys.argv[1], 9))\nexcept OSError: pass", ends.server])
        }
        let direct = Self.get("http://127.0.0.1:\(metricsPort)/metrics") ?? ""
        XCTAssertTrue(direct.contains("# EOF"), direct)

        let query = "sum(rstdoctor_resets_total{cause=%22no-listener%22,direction=%22sent%22})"
        var value = 0.0
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && value < 5 {
            sleep(1)
            guard let body = Self.get("http://127.0.0.1:\(promPort)/api/v1/query?query=\(query)"),
                  let doc = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let data = doc["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                  let v = result.first?["value"] as? [Any], let text = v.last as? String, let n = Double(text) else { continue }
            value = n
        }
        print("prometheus: rstdoctor_resets_total{cause=\"no-listener\",direction=\"sent\"} = \(value)")
        XCTAssertGreaterThanOrEqual(value, 5, "Prometheus did not see the recorder's no-listener resets; metrics were:\n\(direct)")
        rec.stop()
    }

    /// contrib/rstdoctor-alerts.yml is valid Prometheus rules (promtool ships with the prometheus package).
    func testAlertRulesAreValid() throws {
        guard Command.available("promtool") else { throw XCTSkip("promtool is not installed (apt-get install prometheus)") }
        let file = Lab.packageRoot.appendingPathComponent("contrib/rstdoctor-alerts.yml").path
        let r = Command.run([Command.resolve("promtool"), "check", "rules", file], timeout: 30)
        XCTAssertTrue(r.ok && r.stdout.contains("SUCCESS"), r.summary)
    }
}
