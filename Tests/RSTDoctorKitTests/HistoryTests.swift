import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDKnowledge

/// Evidence has a time: counters since boot are history and never make a cause likely on their own;
/// a container host's forwarding does not hide a missing listener.
final class HistoryTests: XCTestCase {
    func kb() throws -> KnowledgeBase { try KnowledgeTestSupport.load(KnowledgeTestSupport.root) }

    /// Everything a healthy host's plain check reads: every counter's absolute value and a zero delta.
    func host(_ counters: [String: Int64], extra: [String: FactValue] = [:]) -> FactStore {
        let names = ["TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtEmbryonicRsts", "TcpOutRsts", "TcpEstabResets",
                     "TcpAttemptFails", "TcpActiveOpens", "TcpPassiveOpens", "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose",
                     "TcpExtTCPAbortOnMemory", "TcpExtTCPAbortOnLinger", "TcpExtTCPSYNChallenge", "TcpExtPAWSEstab",
                     "TcpExtPAWSActive", "TcpExtPAWSTimewait", "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent"]
        var f: [String: FactValue] = [
            "window.seconds": .duration(1), "counters.age": .duration(14 * 86400), "counters.since": .string("since boot"),
            "sysctl.net.ipv4.tcp_abort_on_overflow": .int(1), "sysctl.net.ipv4.tcp_rfc1337": .int(0),
            "sysctl.net.ipv4.tcp_timestamps": .int(1), "sysctl.net.ipv4.ip_forward": .int(1),
            "focus.port": .int(8080),
            "listeners": .records([["address": .string("0.0.0.0"), "port": .int(8080), "queue": .int(0), "backlog": .int(4096)]]),
            "sockets": .records([]), "nft.rules": .records([]), "iptables.rules": .records([]), "ip6tables.rules": .records([]),
        ]
        for n in names {
            f["nstat.\(n)"] = .int(counters[n] ?? 0)
            f["nstat.\(n).delta"] = .int(0)
        }
        for (k, v) in extra { f[k] = v }
        return KnowledgeTestSupport.store(f)
    }

    /// The healthy host: 2 aborts since boot, weeks of uptime, nothing now. It used to give
    /// application-abort 79 %; every kind of past fault at once stays below 0.3.
    func testBusyPastAloneMakesNoCauseLikely() throws {
        let kb = try kb()
        for connections: Int64 in [150, 60_000] {
            let out = Engine(kb: kb).infer(host([
                "TcpActiveOpens": connections / 3, "TcpPassiveOpens": connections - connections / 3,
                "TcpExtTCPAbortOnData": 2, "TcpExtTCPAbortOnClose": 2, "TcpExtTCPAbortOnLinger": 2, "TcpExtListenOverflows": 3,
                "TcpExtEmbryonicRsts": 3, "TcpExtTCPSYNChallenge": 2, "TcpEstabResets": 9, "TcpExtPAWSTimewait": 2,
                "TcpExtTCPAbortOnMemory": 1, "TcpExtPAWSEstab": 40, "TcpOutRsts": 30, "TcpAttemptFails": 12,
            ]))
            for c in out.causes {
                XCTAssertLessThan(c.probability, 0.3, "\(connections) connections: \(c.cause.id) from history alone: \(c.forEvidence.map(\.explain))")
            }
        }
    }

    func testHistoryIsShownWithItsPeriodAndRate() throws {
        let out = Engine(kb: try kb()).infer(host(["TcpActiveOpens": 50, "TcpPassiveOpens": 100, "TcpExtTCPAbortOnData": 2]))
        let c = try XCTUnwrap(out.causes.first { $0.cause.id == "application-abort" })
        let e = try XCTUnwrap(c.forEvidence.first { $0.rule == "abort-on-data-share" })
        XCTAssertTrue(e.explain.contains("2 connections were reset at close since boot (14d), 1 in 75 of its 150 connections"), e.explain)
    }

    /// A Docker/Kubernetes-like node: forwarding on, busy both ways, nothing listening on the port.
    func testForwardingHostWithoutListenerIsNoListener() throws {
        let out = Engine(kb: try kb()).infer(host(["TcpActiveOpens": 90_000, "TcpPassiveOpens": 30_000, "TcpOutRsts": 500],
                                                   extra: ["listeners": .records([["address": .string("0.0.0.0"), "port": .int(22), "queue": .int(0), "backlog": .int(128)]])]))
        XCTAssertEqual(out.causes.first?.cause.id, "no-listener")
        XCTAssertGreaterThanOrEqual(out.causes.first?.probability ?? 0, 0.5)
    }

    /// Application-log lines of the period and the user's answers move causes.
    func testLogsAndAnswersCount() throws {
        let kb = try kb()
        let base = host(["TcpActiveOpens": 100, "TcpPassiveOpens": 100])
        let p0 = Engine(kb: kb).infer(base).causes
        var s = base
        for (k, v) in ["applog.reset": FactValue.int(5), "applog.broken_pipe": .int(2), "applog.refused": .int(0),
                       "applog.upstream_closed": .int(0), "applog.timeout": .int(0), "applog.period": .string("in the 1.0h before now"),
                       "answer.reset_side": .string("both")] {
            s.add(k, v, source: FactSource(check: "test"))
        }
        let p1 = Engine(kb: kb).infer(s).causes
        func p(_ l: [CauseResult], _ id: String) -> Double { l.first { $0.cause.id == id }?.probability ?? -1 }
        XCTAssertGreaterThan(p(p1, "firewall-reset"), p(p0, "firewall-reset"), "resets in the logs, none ever sent by this server")
        XCTAssertGreaterThan(p(p1, "idle-timeout"), p(p0, "idle-timeout"), "both sides see the reset")
        XCTAssertLessThan(p(p1, "no-listener"), p(p0, "no-listener"), "resets of established connections, no refusal")
    }
}
