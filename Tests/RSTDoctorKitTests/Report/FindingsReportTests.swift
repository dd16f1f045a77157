import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDInteractive
@testable import RSTDKnowledge
@testable import RSTDRender

/// How findings (causes that make no RST) come out: check JSON /3 `findings[]`, old files read
/// back, and their own heading in every renderer.
final class FindingsReportTests: XCTestCase {
    static let heading = "Findings that explain failed or slow connections (not resets)"

    /// The server fixture with a SYN flood found beside the accept-queue overflow.
    static func withFinding(_ p: Double = 0.82) -> Diagnosis {
        var d = ReportFixtures.server()
        let flood = Cause(id: "syn-flood", title: "A SYN flood or SYN queue overflow (connects time out; the kernel sends no RST)",
                          explanation: "", prior: 0.02, step: "server-load",
                          remedies: [.init(text: "Raise the SYN backlog.", change: "sysctl -w net.ipv4.tcp_max_syn_backlog=8192",
                                           verify: nil)],
                          references: [], file: "fixture", line: 1, makesResets: false)
        d.findings = [
            CauseResult(cause: flood, score: 1.5, probability: p,
                        forEvidence: [FiredRule(rule: "syn-queue-drops-now", weight: 3.0, explain: "In 1s SYN queues were full 120 times.",
                                                facts: [ReportFixtures.fact("nstat.TcpExtTCPReqQFullDrop.delta", "120", "counters")])],
                        against: [], unknown: [(key: "kernel_log.syn_flood", reason: "check `kernel-log` was skipped: needs root")]),
        ]
        return d
    }

    func json(_ d: Diagnosis) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(CheckJSON.render(d).serialized().utf8)) as? [String: Any])
    }

    func testCheckJSONVersion3ListsFindingsApart() throws {
        let j = try json(Self.withFinding())
        XCTAssertEqual(j["schema"] as? String, "rstdoctor.check/3")
        let causes = try XCTUnwrap(j["causes"] as? [[String: Any]])
        let findings = try XCTUnwrap(j["findings"] as? [[String: Any]])
        XCTAssertFalse(causes.contains { $0["id"] as? String == "syn-flood" })
        XCTAssertEqual(findings.map { $0["id"] as? String }, ["syn-flood"])
        // The same shape as a cause.
        XCTAssertEqual(Set(findings[0].keys), Set(causes[0].keys))
        XCTAssertEqual(findings[0]["probability"] as? Double, 0.82)
        XCTAssertEqual((findings[0]["for"] as? [[String: Any]])?.first?["rule"] as? String, "syn-queue-drops-now")
        XCTAssertEqual((findings[0]["remedies"] as? [[String: Any]])?.first?["change"] as? String,
                       "sysctl -w net.ipv4.tcp_max_syn_backlog=8192")
        // Its unseen facts are listed once in not_seen, like a cause's.
        XCTAssertTrue((j["not_seen"] as? [[String: Any]] ?? []).contains { $0["fact"] as? String == "kernel_log.syn_flood" })
        XCTAssertEqual((try json(ReportFixtures.server())["findings"] as? [Any])?.count, 0, "always present, empty when none")
    }

    /// A /2 (or /1) file lists findings among its causes: reading it moves them, so an old file's
    /// syn-flood never reads as a cause of resets; /1, /2 and /3 all read.
    func testMergeReadsVersion2AndMovesItsFindings() throws {
        var j = try json(Self.withFinding(0.9))
        var causes = try XCTUnwrap(j["causes"] as? [[String: Any]])
        causes.insert(try XCTUnwrap((j["findings"] as? [[String: Any]])?.first), at: 0)
        j["causes"] = causes
        j["findings"] = nil
        j["schema"] = "rstdoctor.check/2"
        let v2 = try Merge.parse(JSONSerialization.data(withJSONObject: j), origin: "old.json")
        XCTAssertEqual(v2.report.causes.first?.id, "accept-queue-overflow")
        XCTAssertNil(v2.report.cause("syn-flood"))
        XCTAssertEqual(v2.report.finding("syn-flood")?.probability, 0.9)
        j["schema"] = "rstdoctor.check/1"
        XCTAssertNil(try Merge.parse(JSONSerialization.data(withJSONObject: j), origin: "older.json").report.cause("syn-flood"))
        let v3 = try Merge.parse(Data(CheckJSON.render(Self.withFinding()).serialized().utf8), origin: "new.json")
        XCTAssertEqual(v3.report.finding("syn-flood")?.probability, 0.82)
        let merged = Merge.json([v2, v3]).serialized()
        XCTAssertTrue(merged.contains("\"findings\""), merged.prefix(200).description)
        let r = Report(hosts: Merge.hosts([v2, v3]), context: ReportFixtures.context)
        XCTAssertFalse(r.allCauses.contains("syn-flood"))
        XCTAssertEqual(r.shownFindings, ["syn-flood"])
        XCTAssertEqual(r.maxProbability("syn-flood", in: \.findings), 0.9)
    }

    func testRenderersShowFindingsUnderTheirOwnHeading() throws {
        let d = Self.withFinding()
        let text = TextRender.render(d, style: Style(enabled: false))
        XCTAssertTrue(text.contains(Self.heading), text)
        let diagnosis = try XCTUnwrap(text.components(separatedBy: Self.heading).first)
        XCTAssertFalse(diagnosis.contains("syn-flood"), "not in the ranking of causes of resets")
        XCTAssertTrue(text.contains("Verdict: most likely accept-queue-overflow"), "the verdict stays the cause of resets")
        let r = ReportFixtures.report([d])
        for (name, out) in [("markdown", MarkdownReport.render(r)), ("html", HTMLReport.render(r))] {
            XCTAssertTrue(out.contains(Self.heading), name)
            XCTAssertTrue(out.contains("SYN queues were full 120 times"), name)
            XCTAssertTrue(out.contains("tcp_max_syn_backlog=8192"), "\(name): the finding's remedy")
        }
        let md = MarkdownReport.render(r)
        let table = try XCTUnwrap(md.components(separatedBy: "## Diagnosis").last?.components(separatedBy: "###").first)
        XCTAssertFalse(table.contains("syn-flood"), "the ranking table lists causes of resets only")
        let repl = SessionText.ranking(d, style: Style(enabled: false))
        XCTAssertTrue(repl.contains(Self.heading) && repl.contains("syn-flood"), repl)
        XCTAssertTrue(repl.contains("Likely: accept-queue-overflow (93%)."), repl)
        let prom = OpenMetrics.render(d)
        XCTAssertTrue(prom.contains("rstdoctor_finding_probability{finding=\"syn-flood\"} 0.82"), prom)
        XCTAssertFalse(prom.contains("rstdoctor_cause_probability{cause=\"syn-flood\"}"), prom)
    }

    /// Below 15 % (the renderers' threshold for a contending cause) a finding is not shown.
    func testUnlikelyFindingsAreNotShown() {
        let d = Self.withFinding(0.05)
        XCTAssertFalse(TextRender.render(d, style: Style(enabled: false)).contains(Self.heading))
        XCTAssertTrue(TextRender.render(d, style: Style(enabled: false), verbose: true).contains(Self.heading), "--verbose lists all")
        let r = ReportFixtures.report([d])
        XCTAssertFalse(MarkdownReport.render(r).contains(Self.heading))
        XCTAssertFalse(HTMLReport.render(r).contains(Self.heading))
        XCTAssertFalse(SessionText.ranking(d, style: Style(enabled: false)).contains(Self.heading))
    }
}
