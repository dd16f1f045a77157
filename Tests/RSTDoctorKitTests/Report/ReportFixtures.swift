import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDKnowledge
@testable import RSTDRender

/// Diagnoses for the report tests, built by hand so the goldens test rendering, not the knowledge
/// base (which changes as rules are added). Values mirror a real accept-queue overflow staged in a
/// netns on Linux 6.18 (RST-SIGNALS.md #3): a server with backlog 1 and tcp_abort_on_overflow=1.
enum ReportFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

    /// Markup, ANSI escapes, Markdown and script that must come out inert in every format.
    static let hostileProcess = "<img src=x onerror=\"document.title='PWNED';document.documentElement.setAttribute('data-pwned','img')\">"
    static let hostileScript = "<script>document.title='PWNED';document.documentElement.setAttribute('data-pwned','script')</script>"
    static let hostileANSI = "worker\u{1B}[31;1mRED\u{1B}[0m\u{7}"
    static let hostileMarkdown = "**bold** | pipe [link](javascript:alert(1)) `tick` # head"

    static func cause(_ id: String, _ title: String, prior: Double = 0.04, remedies: [Cause.Remedy] = []) -> Cause {
        Cause(id: id, title: title, explanation: "", prior: prior, step: "server-load", remedies: remedies, references: [], file: "fixture", line: 1)
    }

    static func fact(_ key: String, _ value: String, _ source: String) -> FiredRule.FactUse { .init(key: key, value: value, source: source) }

    static var remedies: [String: [Cause.Remedy]] {
        [
            "accept-queue-overflow": [
                .init(text: "Let the application accept faster, and raise the listen backlog together with net.core.somaxconn.",
                      change: "sysctl -w net.core.somaxconn=4096   # and listen(fd, 4096) in the application", verify: "TcpExtListenOverflows stops growing"),
                .init(text: "Unless clients must fail fast, turn tcp_abort_on_overflow off.", change: "sysctl -w net.ipv4.tcp_abort_on_overflow=0",
                      verify: "TcpExtEmbryonicRsts stops growing with ListenOverflows"),
            ],
            "firewall-reset": [
                .init(text: "Find the rule that matches and allow the traffic.", change: "nft -a list ruleset | grep -n 'reject with tcp reset'",
                      verify: "the rule's counter stops growing"),
            ],
            "no-listener": [.init(text: "Start the service.", change: nil, verify: nil)],
        ]
    }

    static var context: ReportContext {
        var c = ReportContext()
        c.steps = [
            .init(id: "packet-sniffer", title: "Packet sniffer", purpose: "see the resets on the wire and who sent them"),
            .init(id: "application-logs", title: "Application logs", purpose: "when and where the application saw the reset"),
            .init(id: "firewall", title: "Firewall", purpose: "rules that reject with a TCP reset"),
            .init(id: "network-config", title: "Network configuration", purpose: "addresses, duplicates and neighbours"),
            .init(id: "server-load", title: "Server load", purpose: "listen backlogs, accept queues, socket and memory pressure"),
            .init(id: "tcp-parameters", title: "TCP parameters", purpose: "kernel settings that make the stack send or accept resets"),
        ]
        c.remedies = remedies
        c.questions = [
            "under_load": ("server-load", "Do the resets come in bursts when the service is busy?", ["yes": "Yes, mostly under load", "no": "No"]),
            "reset_timing": ("application-logs", "When does the reset happen?", ["after-connect": "Right after connecting, on the first request"]),
        ]
        return c
    }

    /// The server side: accept-queue-overflow likely, with kernel-trace and capture resets.
    static func server(hostile: Bool = false) -> Diagnosis {
        let proc = hostile ? hostileProcess : "python3"
        let host = HostInfo(hostname: hostile ? "srv\(hostileScript)" : "srv-1", kernel: "6.18.44", netns: hostile ? "lab\u{1B}[2Jns" : "rstd-srv",
                            port: 8095, peer: nil, started: Date(timeIntervalSince1970: 1_795_290_000), window: 1, source: "live")
        let r = remedies
        let causes: [CauseResult] = [
            CauseResult(cause: cause("accept-queue-overflow", "The accept queue overflows and tcp_abort_on_overflow=1 resets the clients", remedies: r["accept-queue-overflow"] ?? []),
                        score: 2.6, probability: 0.931,
                        forEvidence: [
                            FiredRule(rule: "abort-on-overflow-with-overflows", weight: 4.5,
                                     explain: "The accept queue overflowed 6 times in 1s, and tcp_abort_on_overflow=1 makes the kernel answer those clients with RST.",
                                     facts: [fact("nstat.TcpExtListenOverflows.delta", "6", "counters: /proc/net/netstat over 1s"),
                                             fact("sysctl.net.ipv4.tcp_abort_on_overflow", "1", "sysctls: sysctl -e net.ipv4.tcp_abort_on_overflow")]),
                            FiredRule(rule: "listener-queue-full-abort", weight: 1.5,
                                     explain: "The listener on port 8095 (\(proc)) has 2 connections waiting with backlog 1.",
                                     facts: [fact("listeners", "3 records", "listeners: ss -Hltnp")]),
                        ],
                        against: [], unknown: [(key: "trace.resets", reason: "check `kernel-trace` was skipped: needs root")]),
            CauseResult(cause: cause("firewall-reset", "A firewall rule rejects the traffic with a TCP reset", remedies: r["firewall-reset"] ?? []),
                        score: -1.2, probability: 0.231,
                        forEvidence: [FiredRule(rule: "reject-tcp-reset-rules", weight: 1.0, explain: "A firewall rule rejects with a TCP reset: \(hostile ? hostileMarkdown : "tcp dport 9000 reject").",
                                               facts: [fact("firewall.reset_rules", "true", "rule:firewall-reset-rules")])],
                        against: [FiredRule(rule: "local-rst-from-stack", weight: -1.0, explain: "The kernel sent every reset itself.", facts: [])],
                        unknown: []),
            CauseResult(cause: cause("idle-timeout", "A middlebox or conntrack forgot an idle connection"), score: -3.2, probability: 0.04,
                        forEvidence: [], against: [], unknown: [(key: "answer.reset_timing", reason: "not answered yet (`--answer reset_timing=…`)")]),
            CauseResult(cause: cause("no-listener", "Nothing listens on the port (connection refused)", prior: 0.05, remedies: r["no-listener"] ?? []),
                        score: -4.5, probability: 0.011, forEvidence: [],
                        against: [FiredRule(rule: "focus-port-listening", weight: -2.0, explain: "Something listens on port 8095.",
                                           facts: [fact("focus.listening", "true", "rule:focus-listening")])],
                        unknown: []),
        ]
        let checks: [CheckReport] = [
            CheckReport(id: "counters", title: "TCP counters (nstat names)", step: "server-load", status: .finding, reason: "", fix: nil, durationMs: 1003),
            CheckReport(id: "listeners", title: "Listening sockets and their accept queues", step: "server-load", status: .finding, reason: "", fix: nil, durationMs: 12),
            CheckReport(id: "sysctls", title: "TCP and conntrack sysctls", step: "tcp-parameters", status: .ok, reason: "", fix: nil, durationMs: 3),
            CheckReport(id: "nft", title: "nftables ruleset", step: "firewall", status: .ok, reason: "", fix: nil, durationMs: 20),
            CheckReport(id: "kernel-trace", title: "The kernel's own account of each RST", step: "packet-sniffer", status: .skipped,
                        reason: hostile ? "needs root \(hostileANSI)" : "needs root", fix: "run as root (sudo rstdoctor …)", durationMs: 0),
            CheckReport(id: "applog", title: "Application log errors", step: "application-logs", status: .failed,
                        reason: hostile ? "journalctl: \(hostileProcess) \(hostileScript)" : "journalctl exited 1: No journal files were found.", fix: nil, durationMs: 40),
        ]
        var facts = FactStore()
        let src = FactSource(check: "counters", origin: "/proc/net/netstat")
        for (k, v) in [("TcpExtListenOverflows", 6), ("TcpExtListenDrops", 6), ("TcpExtEmbryonicRsts", 1), ("TcpOutRsts", 3), ("TcpActiveOpens", 40), ("TcpExtTCPAbortOnData", 0)] {
            facts.add("nstat.\(k)", .int(Int64(v) * 10), source: src)
            facts.add("nstat.\(k).delta", .int(Int64(v)), source: src)
        }
        facts.add("sysctl.net.ipv4.tcp_abort_on_overflow", .int(1), source: FactSource(check: "sysctls"))
        facts.add("sysctl.net.core.somaxconn", .int(4096), source: FactSource(check: "sysctls"))
        facts.add("nft.rules", .records([
            ["table": .string("inet filter"), "chain": .string("input"), "dports": .string("9000"), "reject_type": .string("tcp reset"),
             "text": .string(hostile ? "tcp dport 9000 reject with tcp reset comment \"\(hostileProcess)|x\"" : "tcp dport 9000 reject with tcp reset")],
            ["table": .string("inet filter"), "chain": .string("input"), "dports": .string("22"), "reject_type": .string(""), "text": .string("tcp dport 22 accept")],
        ]), source: FactSource(check: "nft"))
        let resets: [Record] = [
            ["source": .string("trace"), "time": .double(1_795_290_000.25), "direction": .string("sent"), "src": .string("198.18.0.2"), "sport": .int(8095),
             "dst": .string("198.18.0.1"), "dport": .int(37994), "reason": .string("INVALID_SYN"), "drop": .string("TCP_LISTEN_OVERFLOW"),
             "cause": .string("accept-queue-overflow"), "task": .string(proc)],
            ["source": .string("trace"), "time": .double(1_795_290_000.40), "direction": .string("sent"), "src": .string("198.18.0.2"), "sport": .int(8095),
             "dst": .string("198.18.0.1"), "dport": .int(37996), "reason": .string("INVALID_SYN"), "cause": .string("accept-queue-overflow")],
            ["source": .string("capture"), "frame": .int(14), "time": .double(1_795_290_000.90), "sender": .string("remote"), "src": .string("fd00::1"), "sport": .int(41000),
             "dst": .string("fd00::2"), "dport": .int(8095), "flags": .string("R"), "class": .string("after-idle"), "cause": .string("idle-timeout"),
             "explain": .string(hostile ? "peer \(hostileANSI) \(hostileMarkdown)" : "RST after 300s of silence")],
            ["source": .string("capture"), "frame": .int(20), "time": .double(1_795_290_001.10), "src": .string("198.18.0.9"), "sport": .int(5000),
             "dst": .string("198.18.0.2"), "dport": .int(8095), "flags": .string("RA"), "class": .string("unknown")],
        ]
        return Diagnosis(host: host, causes: causes, checks: checks, facts: facts, resets: resets,
                         answers: ["under_load": "yes", "reset_timing": "after-connect"], knowledgeProblems: 0, context: context)
    }

    /// The client side of the same connection: it only saw the resets.
    static func client() -> Diagnosis {
        let host = HostInfo(hostname: "cli-1", kernel: "6.12.9", netns: "rstd-cli", port: nil, peer: "198.18.0.2",
                            started: Date(timeIntervalSince1970: 1_795_290_002), window: 1, source: "live")
        let causes: [CauseResult] = [
            CauseResult(cause: cause("accept-queue-overflow", "The accept queue overflows and tcp_abort_on_overflow=1 resets the clients"), score: -3.1, probability: 0.04,
                        forEvidence: [], against: [], unknown: [(key: "nstat.TcpExtListenOverflows.delta", reason: "measured on the server, not here")]),
            CauseResult(cause: cause("no-listener", "Nothing listens on the port (connection refused)", prior: 0.05), score: -2.9, probability: 0.05,
                        forEvidence: [], against: [], unknown: []),
            CauseResult(cause: cause("half-open-after-restart", "The peer restarted and forgot the connection (half-open connection)"), score: -1.0, probability: 0.27,
                        forEvidence: [FiredRule(rule: "estab-resets-now", weight: 2.0, explain: "TcpEstabResets grew by 6 in 1s.",
                                               facts: [fact("nstat.TcpEstabResets.delta", "6", "counters: /proc/net/snmp over 1s")])],
                        against: [], unknown: []),
        ]
        var facts = FactStore()
        let src = FactSource(check: "counters")
        facts.add("nstat.TcpEstabResets", .int(60), source: src)
        facts.add("nstat.TcpEstabResets.delta", .int(6), source: src)
        facts.add("sysctl.net.ipv4.tcp_abort_on_overflow", .int(0), source: FactSource(check: "sysctls"))
        let checks = [CheckReport(id: "counters", title: "TCP counters (nstat names)", step: "server-load", status: .finding, reason: "", fix: nil, durationMs: 1001)]
        let resets: [Record] = [
            ["source": .string("trace"), "time": .double(1_795_290_000.26), "direction": .string("received"), "src": .string("198.18.0.2"), "sport": .int(8095),
             "dst": .string("198.18.0.1"), "dport": .int(37994), "cause": .string("accept-queue-overflow")],
        ]
        return Diagnosis(host: host, causes: causes, checks: checks, facts: facts, resets: resets, answers: ["reset_timing": "after-connect"], knowledgeProblems: 0, context: context)
    }

    static func report(_ ds: [Diagnosis]) -> Report { Report(hosts: ds.map(HostReport.init), context: context) }

    /// Merged exactly as `report --merge` does it: through the JSON files' bytes.
    static func merged(_ ds: [(String, Diagnosis)]) throws -> (Report, [Merge.Input]) {
        let inputs = try ds.map { name, d in try Merge.parse(Data(CheckJSON.render(d).serialized().utf8), origin: name) }
        return (Report(hosts: Merge.hosts(inputs), context: context), inputs)
    }

    /// Compares with a golden file; RSTDOCTOR_RECORD=1 rewrites it instead.
    static func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = goldenDir + "/" + name
        if ProcessInfo.processInfo.environment["RSTDOCTOR_RECORD"] == "1" {
            try FileManager.default.createDirectory(atPath: goldenDir, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let want = try? String(contentsOfFile: path, encoding: .utf8) else {
            XCTFail("golden file \(name) is missing: record it with RSTDOCTOR_RECORD=1 swift test --filter ReportGoldenTests", file: file, line: line)
            return
        }
        if want != text {
            let a = want.split(separator: "\n", omittingEmptySubsequences: false), b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            XCTFail("\(name) differs from the golden file at line \(i + 1):\n  golden: \(i < a.count ? String(a[i]) : "<end>")\n  now:    \(i < b.count ? String(b[i]) : "<end>")\nIf the change is intended, re-record with RSTDOCTOR_RECORD=1.", file: file, line: line)
        }
    }
}
