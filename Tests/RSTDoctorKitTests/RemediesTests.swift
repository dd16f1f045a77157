import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDKnowledge

/// Remedies are filled with this run's port and listener, and never with an invented value.
final class RemediesTests: XCTestCase {
    func result(_ remedies: [Cause.Remedy]) -> CauseResult {
        let cause = Cause(id: "no-listener", title: "t", explanation: "e", prior: 0.05, step: "packet-sniffer", remedies: remedies, references: [], file: "causes.yaml", line: 1)
        return CauseResult(cause: cause, score: 0, probability: 0.9, forEvidence: [], against: [], unknown: [])
    }

    let remedy = Cause.Remedy(text: "Start it.", change: "ss -Hltnp 'sport = :PORT'", verify: "rstdoctor check --port PORT; PORTS stay")

    func testTheFocusPortAndTheListenerFillTheRemedy() {
        var facts = FactStore()
        facts.add("focus.port", .int(8080), source: FactSource(check: "options"))
        facts.add("listeners", .records([["port": .int(8080), "process": .string("nginx"), "pid": .int(812)]]), source: FactSource(check: "listeners"))
        let r = Remedies.concrete(result([remedy]), facts: facts)[0]
        XCTAssertEqual(r.change, "ss -Hltnp 'sport = :8080'")
        XCTAssertEqual(r.verify, "rstdoctor check --port 8080; PORTS stay", "only the word PORT is replaced")
        XCTAssertTrue(r.text.contains("nginx (pid 812) listens on it here"), r.text)
    }

    func testTheCapturedResetsGiveThePortWithoutAFocus() {
        var facts = FactStore()
        facts.add("capture.resets", .records([
            ["sport": .int(9999), "dport": .int(40001), "cause": .string("no-listener")],
            ["sport": .int(9999), "dport": .int(40002), "cause": .string("no-listener")],
            ["sport": .int(22), "dport": .int(50000), "cause": .string("firewall-reset")],
        ]), source: FactSource(check: "capture"))
        let r = Remedies.concrete(result([remedy]), facts: facts)[0]
        XCTAssertEqual(r.change, "ss -Hltnp 'sport = :9999'")
    }

    func testNothingKnownLeavesThePlaceholder() {
        let r = Remedies.concrete(result([remedy]), facts: FactStore())[0]
        XCTAssertEqual(r.change, "ss -Hltnp 'sport = :PORT'", "never an invented value")
    }

    func testAFirewallResetNamesTheRuleByTableChainHandleAndText() {
        var facts = FactStore()
        facts.add("focus.port", .int(9999), source: FactSource(check: "options"))
        facts.add("nft.rules", .records([
            ["family": .string("inet"), "table": .string("filter"), "chain": .string("input"), "handle": .int(7),
             "reject_type": .string("tcp reset"), "dports": .string("9999"), "text": .string("tcp dport 9999 reject with tcp reset")],
            ["family": .string("inet"), "table": .string("filter"), "chain": .string("input"), "handle": .int(8),
             "reject_type": .string("tcp reset"), "dports": .string("22"), "text": .string("tcp dport 22 reject with tcp reset")],
        ]), source: FactSource(check: "nft-ruleset"))
        let cause = Cause(id: "firewall-reset", title: "t", explanation: "e", prior: 0.05, step: "firewall", remedies: [],
                          references: [], file: "causes.yaml", line: 1)
        let rs = Remedies.concrete(CauseResult(cause: cause, score: 0, probability: 0.9, forEvidence: [], against: [], unknown: []), facts: facts)
        XCTAssertEqual(rs.count, 1, "only the rule on the focused port")
        XCTAssertTrue(rs[0].text.contains("nft table inet filter, chain input, handle 7: `tcp dport 9999 reject with tcp reset`"), rs[0].text)
        XCTAssertEqual(rs[0].change?.hasPrefix("nft -a list chain inet filter input"), true, rs[0].change ?? "")
    }

    /// The process that sent the RSTs, where the trace names it (process context): on the first remedy.
    func testTheTracedProcessIsNamedOnlyWhereTheTraceNamesIt() {
        var facts = FactStore()
        facts.add("trace.resets", .records([
            ["direction": .string("sent"), "sport": .int(8080), "dport": .int(40001), "cause": .string("no-listener"),
             "task": .string("nginx"), "pid": .int(812)],
            ["direction": .string("sent"), "sport": .int(8080), "dport": .int(40002), "cause": .string("no-listener"),
             "task": .string("nginx"), "pid": .int(812)],
            // A softirq's RST: no task recorded, so nobody is named for it.
            ["direction": .string("sent"), "sport": .int(8080), "dport": .int(40003), "cause": .string("no-listener"),
             "task": .string(""), "pid": .int(0)],
        ]), source: FactSource(check: "kernel-trace"))
        let rs = Remedies.concrete(result([remedy, remedy]), facts: facts)
        XCTAssertTrue(rs[0].text.contains("the kernel sent these RSTs in the system calls of nginx (pid 812): 2"), rs[0].text)
        XCTAssertFalse(rs[1].text.contains("nginx"), "named once")
        var quiet = FactStore()
        quiet.add("trace.resets", .records([["direction": .string("sent"), "cause": .string("no-listener"), "task": .string(""),
                                              "pid": .int(0)]]), source: FactSource(check: "kernel-trace"))
        XCTAssertEqual(Remedies.concrete(result([remedy]), facts: quiet)[0].text, "Start it.")
    }
}
