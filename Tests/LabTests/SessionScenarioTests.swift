import Foundation
import XCTest

/// The guided session on a real fault (issue 15 acceptance): `rstdoctor` started with no flags inside
/// the lab namespace, on a terminal, asks for the focus first, observes while the fault happens,
/// and walks the steps answering as the user would; the expected cause must come first with
/// p ≥ 0.7 after at most 4 questions. PTY.swift is CLITests' (a symlink).
final class SessionScenarioTests: LabTestCase {
    private var state = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        state = NSTemporaryDirectory() + "rstd-lab-session-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    }

    override func tearDown() {
        super.tearDown()
        try? FileManager.default.removeItem(atPath: state)
    }

    /// What the user of each scenario knows (the answers a person on that side would give).
    static let answers: [String: [String: String]] = [
        "no-listener": ["reset_timing": "at-connect", "reset_side": "client", "middlebox": "no", "recent_restart": "no",
                        "under_load": "no", "app_closes_early": "no", "client_reuses_ports": "no"],
        "firewall-reset-router-client": ["reset_timing": "mid-stream", "reset_side": "client", "middlebox": "yes", "recent_restart": "no",
                                        "under_load": "no", "app_closes_early": "no", "client_reuses_ports": "no"],
        "application-abort": ["reset_timing": "after-connect", "reset_side": "client", "middlebox": "no", "recent_restart": "no",
                              "under_load": "no", "app_closes_early": "yes", "client_reuses_ports": "no"],
    ]

    static var ip: String {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"
    }

    func walk(_ id: String) throws {
        guard let lab, let s = Catalog.named(id), let known = Self.answers[id] else { return XCTFail("no scenario \(id)") }
        let env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": state,
                   "XDG_STATE_HOME": state, "TERM": "dumb", "INPUTRC": "/dev/null", "NO_COLOR": "1", "LANG": "C.UTF-8"]
        var pty: PTY?
        var failure: Error?
        let ev = try Runner.run(s, in: lab, beforeProvoke: { t in
            do {
                // No flags: the session asks for what it needs.
                let p = try PTY([Self.ip, "netns", "exec", t.netns, self.binary], env: env, columns: 160)
                pty = p
                try p.expect("Which port has the resets?", timeout: 60)
                try p.expect("focus> ")
                p.send("\(t.port)\n")
                try p.expect("focus> ")
                p.send("\(t.peer)\n")
                try p.expect("focus> ")
                p.send((s.side == "c" ? "client" : "server") + "\n")
                try p.expect("focus> ")
                p.send("\n")                     // logs: none
                try p.expect("focus> ")
                p.send("\n")                     // this namespace
                try p.expect("rstdoctor> ", timeout: 60)
                p.send("observe 8s\n")
                try p.expect("Ctrl-C stops early")
                usleep(1_500_000)                // the capture and the trace are running
            } catch { failure = error }
        })
        if let failure { throw failure }
        for f in s.verify(ev) { XCTFail("\(id): the fault did not happen as staged: \(f)") }
        let p = try XCTUnwrap(pty)
        try p.expect("watched", timeout: 40)
        try p.expect("rstdoctor> ", timeout: 40)
        // Walk the steps: Enter goes on; each question is answered as the user knows it.
        var asked: [String] = []
        var screenDone = 0
        for _ in 0..<30 {
            p.send("\n")
            try p.expect("> ", timeout: 60)
            p.pump(0.3)
            let screen = Screen.render(Array(p.raw[screenDone...]))
            screenDone = p.raw.count
            if let q = Self.pendingQuestion(screen) {
                asked.append(q)
                p.send("answer \(q) \(known[q] ?? "dont-know")\n")
                try p.expect("> ", timeout: 60)
                p.pump(0.3)
                screenDone = p.raw.count
            }
            if Screen.render(p.raw).contains("Conclusion:") { break }
        }
        p.send("rank\n")
        try p.expect("Ranking", timeout: 30)
        try p.expect("> ")
        p.send("\u{04}")
        _ = try? p.wait(timeout: 30)
        let screen = Screen.render(p.raw)
        let rank = String(screen[(screen.range(of: "> rank", options: .backwards)?.upperBound ?? screen.startIndex)...])
        let first = rank.split(separator: "\n").first { $0.contains(" 1. ") }.map(String.init) ?? ""
        let fields = first.split(separator: " ").map(String.init)
        let pct = fields.first { $0.hasSuffix("%") }.flatMap { Double($0.dropLast()) } ?? 0
        print("\(id) session: questions \(asked), first: \(first.trimmingCharacters(in: .whitespaces))")
        XCTAssertTrue(screen.contains("Which port has the resets?"), "the focus was asked first")
        XCTAssertTrue(fields.contains(s.expectedCause ?? "?"), "\(id): the expected cause comes first:\n\(rank)")
        XCTAssertGreaterThanOrEqual(pct, 70, "\(id): p ≥ 0.7:\n\(rank)")
        XCTAssertLessThanOrEqual(asked.count, 4, "\(id): at most 4 questions: \(asked)")
    }

    /// The id of the question a screen asks, from its "Type a number or an answer id" hint line.
    static func pendingQuestion(_ screen: String) -> String? {
        guard screen.contains("Type a number or an answer id"), let r = screen.range(of: "answer> ", options: .backwards) else { return nil }
        _ = r
        // `why` names it; simpler: the prompt is "answer>" and the last "Question (" block is it.
        for line in screen.split(separator: "\n").reversed() where line.hasPrefix("Question (") {
            let text = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return questionIDs[text]
        }
        return nil
    }

    static let questionIDs: [String: String] = [
        "When does the reset happen?": "reset_timing",
        "Which side reports the reset?": "reset_side",
        "Is there a firewall, NAT, load balancer or proxy between the two hosts?": "middlebox",
        "Did the server (or its host) restart or fail over shortly before the resets?": "recent_restart",
        "Do the resets come in bursts when the service is busy (deploys, traffic peaks)?": "under_load",
        "Does the server close connections itself — after an error, a timeout, or before reading the whole request?": "app_closes_early",
        "Does the client open many short connections to the same server (or sit behind NAT with port reuse)?": "client_reuses_ports",
    ]

    func testNoListenerFromTheProblem() throws { try walk("no-listener") }
    func testApplicationAbortFromTheProblem() throws { try walk("application-abort") }
    func testRouterFirewallSeenFromTheClientFromTheProblem() throws { try walk("firewall-reset-router-client") }
}
