import Foundation
import XCTest

@testable import RSTDRender

/// What the reports contain, read back and counted (independent of the goldens' exact text).
final class ReportContentTests: XCTestCase {
    func testMarkdownHasEverySection() throws {
        let md = MarkdownReport.render(ReportFixtures.report([ReportFixtures.server()]))
        for s in ["## Diagnosis", "## Troubleshooting steps", "## Resets seen", "## What to consider", "## Appendix: raw evidence",
                  "### 1. Packet sniffer", "### 6. TCP parameters", "### What could not be seen"] {
            XCTAssertTrue(md.contains(s), "missing \(s)")
        }
        // The likely cause is bold with its rounded probability, ranked first.
        let firstRow = try XCTUnwrap(md.split(separator: "\n").first { $0.hasPrefix("| 1 |") })
        XCTAssertTrue(firstRow.contains("`accept-queue-overflow`") && firstRow.contains("**93%**"), String(firstRow))
        // Remedies for the likely cause only (firewall-reset is 23%: not likely).
        let consider = try XCTUnwrap(md.components(separatedBy: "## What to consider").last?.components(separatedBy: "## Appendix").first)
        XCTAssertTrue(consider.contains("sysctl -w net.ipv4.tcp_abort_on_overflow=0"))
        XCTAssertTrue(consider.contains("Verify: TcpExtListenOverflows stops growing"))
        XCTAssertFalse(consider.contains("nft -a list ruleset"))
        // Remedies come before the long lists (check tables, resets).
        let order = ["## Diagnosis", "## What to consider", "## Troubleshooting steps", "## Resets seen", "## Appendix"]
        let at = order.compactMap { md.range(of: $0)?.lowerBound }
        XCTAssertEqual(at.count, order.count)
        XCTAssertEqual(at, at.sorted(), "sections in the order \(order)")
        // The resets in groups first: the two traced INVALID_SYN of port 8095 are one group, and its Why
        // names the rules that fired for accept-queue-overflow with their explanation.
        let seen = try XCTUnwrap(md.components(separatedBy: "## Resets seen").last?.components(separatedBy: "### Each reset").first)
        let groupRows = seen.split(separator: "\n").filter { $0.contains("| trace |") || $0.contains("| capture |") }
        XCTAssertEqual(groupRows.count, 3, groupRows.joined(separator: "\n"))
        XCTAssertTrue(groupRows[0].hasPrefix("| 1 | 2 |") && groupRows[0].contains("INVALID\\_SYN"), String(groupRows[0]))
        XCTAssertTrue(groupRows[0].contains("`abort-on-overflow-with-overflows` (+4.5): The accept queue overflowed 6 times"), String(groupRows[0]))
        XCTAssertTrue(groupRows[1].contains("RST after 300s of silence"), "the wire's own reading: \(groupRows[1])")
        XCTAssertTrue(groupRows[2].hasSuffix("| — |"), "nothing explains the unclassified RST: \(groupRows[2])")
        // Then each reset in time order, and the counters with their deltas; zero counters left out.
        let each = try XCTUnwrap(md.components(separatedBy: "### Each reset").last?.components(separatedBy: "## Appendix").first)
        let resetRows = each.split(separator: "\n").filter { $0.contains("| trace |") || $0.contains("| capture |") }
        XCTAssertEqual(resetRows.count, 4, resetRows.joined(separator: "\n"))
        XCTAssertTrue(resetRows[0].contains("INVALID\\_SYN"), String(resetRows[0]))
        XCTAssertTrue(md.contains("| `TcpExtListenOverflows` | 60 | +6 |"))
        XCTAssertFalse(md.contains("TcpExtTCPAbortOnData"), "zero counters are not raw evidence that matters")
        XCTAssertFalse(md.contains("TcpActiveOpens"), "not a reset-related counter")
        // Only the rule that resets is in the appendix.
        XCTAssertTrue(md.contains("tcp dport 9000 reject with tcp reset"))
        XCTAssertFalse(md.contains("tcp dport 22 accept"))
        // Answers under their steps, with the question's and the answer's text.
        let load = try XCTUnwrap(md.components(separatedBy: "### 5. Server load").last?.components(separatedBy: "### 6.").first)
        XCTAssertTrue(load.contains("Do the resets come in bursts when the service is busy? — **Yes, mostly under load**"), load)
    }

    func testEveryMarkdownTableRowHasItsHeadersColumns() throws {
        for d in [ReportFixtures.server(), ReportFixtures.server(hostile: true)] {
            let md = MarkdownReport.render(ReportFixtures.report([d]))
            var columns: Int?
            for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
                guard line.hasPrefix("|") else { columns = nil; continue }
                // Unescaped pipes delimit cells.
                var n = 0, escaped = false
                for ch in line { if ch == "|" && !escaped { n += 1 }; escaped = ch == "\\" && !escaped }
                if let c = columns { XCTAssertEqual(n, c, "row with a different number of cells: \(line)") } else { columns = n }
            }
        }
    }

    func testHTMLShowsChartsAndNoScript() throws {
        let html = HTMLReport.render(ReportFixtures.report([ReportFixtures.server()]))
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        let head = try XCTUnwrap(html.components(separatedBy: "</head>").first)
        let csp = try XCTUnwrap(head.range(of: "http-equiv=\"Content-Security-Policy\""))
        XCTAssertLessThan(head.distance(from: head.startIndex, to: csp.lowerBound), 120, "the policy is the first thing in <head>")
        XCTAssertTrue(head.contains("script-src 'none'") && head.contains("default-src 'none'"))
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertNil(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression), "no event handler attributes")
        XCTAssertNil(html.range(of: #"(src|href)\s*=\s*"(https?:)?//"#, options: .regularExpression), "no external resources")
        // One bar per cause, and one timeline mark per reset (plus three in the legend).
        XCTAssertEqual(html.components(separatedBy: "<rect class=\"bar\"").count - 1, 4)
        XCTAssertTrue(html.contains("id=\"reset-timeline\""))
        XCTAssertEqual(html.components(separatedBy: "class=\"reset ").count - 1, 4 + 3)
        XCTAssertEqual(html.components(separatedBy: "class=\"reset sent\"").count - 1, 2 + 1)
        XCTAssertEqual(html.components(separatedBy: "class=\"reset received\"").count - 1, 1 + 1)
        // The accept-queue bar is 93% of the plot's 420 px.
        XCTAssertTrue(html.contains("data-cause=\"accept-queue-overflow\" x=\"240.0\" y=\"28.0\" width=\"391.0\""), "bar width")
        // Remedies before the long lists; the reset groups' Why names the rules that fired, with their text.
        let at = ["id=\"diagnosis\"", "id=\"remedies\"", "id=\"steps\"", "id=\"resets\"", "id=\"appendix\""].compactMap {
            html.range(of: $0)?.lowerBound
        }
        XCTAssertEqual(at.count, 5)
        XCTAssertEqual(at, at.sorted())
        let groups = try XCTUnwrap(html.components(separatedBy: "id=\"reset-groups\"").last?.components(separatedBy: "</table>").first)
        XCTAssertTrue(groups.contains("<th>Why</th>"))
        XCTAssertTrue(groups.contains("<code>abort-on-overflow-with-overflows</code> (+4.5): The accept queue overflowed 6 times"), groups)
        XCTAssertTrue(groups.contains("<a href=\"#cause-accept-queue-overflow\">"), "a group links to its cause's evidence")
    }

    /// `report --merge` reads check JSON saved before /2 (no `causes[].remedies`) beside a /3 file,
    /// and refuses a schema it does not know. (FindingsReportTests reads /2 files' findings.)
    func testMergeReadsVersion1BesideVersion3() throws {
        let v2 = CheckJSON.render(ReportFixtures.server()).serialized()
        XCTAssertTrue(v2.contains("\"rstdoctor.check/3\""), v2.prefix(80).description)
        let v1 = CheckJSON.render(ReportFixtures.client()).serialized()
            .replacingOccurrences(of: "rstdoctor.check/3", with: "rstdoctor.check/1")
            .replacingOccurrences(of: #""remedies" ?: ?\[[^\]]*\],?"#, with: "", options: .regularExpression)
        XCTAssertFalse(v1.contains("\"remedies\""))
        let a = try Merge.parse(Data(v2.utf8), origin: "server.json"), b = try Merge.parse(Data(v1.utf8), origin: "client.json")
        let md = MarkdownReport.render(Report(hosts: Merge.hosts([a, b]), context: ReportFixtures.context))
        XCTAssertTrue(md.contains("sysctl -w net.ipv4.tcp_abort_on_overflow=0"), "remedies still shown")
        let v4 = v2.replacingOccurrences(of: "rstdoctor.check/3", with: "rstdoctor.check/4")
        XCTAssertThrowsError(try Merge.parse(Data(v4.utf8), origin: "new.json")) { e in
            XCTAssertTrue("\(e)".contains("not rstdoctor.check/3"), "\(e)")
        }
    }

    /// The report shows the remedies made concrete for the run (check JSON `causes[].remedies`), not
    /// causes.yaml's templates, and drops the list's Why column when no reset explains itself.
    func testConcreteRemediesAndNoEmptyWhyColumn() throws {
        let text = CheckJSON.render(ReportFixtures.server()).serialized()
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var causes = try XCTUnwrap(json["causes"] as? [[String: Any]])
        causes[0]["remedies"] = [["text": "Raise the backlog of python3 on port 8095", "change": "ss -Hltnp 'sport = :8095'"]]
        json["causes"] = causes
        json["resets"] = [["source": "trace", "cause": "no-listener", "src": "10.0.0.1", "dst": "10.0.0.2"]]
        let input = try Merge.parse(JSONSerialization.data(withJSONObject: json), origin: "edited.json")
        let r = Report(hosts: [input.report], context: ReportFixtures.context)
        let md = MarkdownReport.render(r)
        XCTAssertTrue(md.contains("Raise the backlog of python3 on port 8095"), md)
        XCTAssertFalse(md.contains("Let the application accept faster"), "the template is replaced by the concrete remedy")
        let each = try XCTUnwrap(md.components(separatedBy: "### Each reset").last)
        XCTAssertFalse(each.contains("| Why |"), "no reset carries an explanation, so the list has no Why column")
    }

    func testNoTimelineWithoutResets() throws {
        var d = ReportFixtures.server()
        d.resets = []
        let html = HTMLReport.render(ReportFixtures.report([d]))
        XCTAssertFalse(html.contains("reset-timeline"))
        XCTAssertTrue(html.contains("No individual reset was captured or traced"))
        XCTAssertTrue(html.contains("probability-chart"))
    }

    func testTimelineWithoutTimesUsesTheOrder() throws {
        var d = ReportFixtures.server()
        d.resets = d.resets.map { var r = $0; r["time"] = nil; return r }
        let svg = try XCTUnwrap(SVGCharts.resetTimeline(ReportFixtures.report([d])))
        XCTAssertTrue(svg.contains("in the order seen (no times)"))
        XCTAssertEqual(svg.components(separatedBy: "class=\"reset ").count - 1, 4 + 3)
    }

    func testMergedReportLinesUpBothSides() throws {
        let (r, _) = try ReportFixtures.merged([("server.json", ReportFixtures.server()), ("client.json", ReportFixtures.client())])
        XCTAssertEqual(r.hosts.map(\.label), ["srv-1 (rstd-srv)", "cli-1 (rstd-cli)"])
        let md = MarkdownReport.render(r)
        // Causes of both hosts, each with a column per host; a cause one host lacks shows a dash.
        XCTAssertTrue(md.contains("| 1 | `accept-queue-overflow` | The accept queue overflows and tcp\\_abort\\_on\\_overflow=1 resets the clients | **93%** | 4% |"), md)
        XCTAssertTrue(md.contains("| `half-open-after-restart` | The peer restarted and forgot the connection \\(half\\-open connection\\) | — | 27% |"))
        // The sysctl that differs is marked; the resets of both sides are interleaved by time.
        XCTAssertTrue(md.contains("| `net.ipv4.tcp_abort_on_overflow` ≠ | `1` | `0` |"))
        let resets = md.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("37994") }
        XCTAssertEqual(resets.count, 2)
        XCTAssertTrue(resets[0].contains("srv\\-1") && resets[0].contains("sent") && resets[1].contains("cli\\-1") && resets[1].contains("received"), resets.joined(separator: "\n"))
        let html = HTMLReport.render(r)
        XCTAssertEqual(html.components(separatedBy: "<rect class=\"bar\"").count - 1, 4 + 3, "one bar per host and cause")
    }

    func testSameHostTwiceIsToldApartByFile() throws {
        let (r, _) = try ReportFixtures.merged([("a.json", ReportFixtures.client()), ("b.json", ReportFixtures.client())])
        XCTAssertEqual(r.hosts.map(\.label), ["cli-1 (rstd-cli) [a.json]", "cli-1 (rstd-cli) [b.json]"])
        let (r2, _) = try ReportFixtures.merged([("x/a.json", ReportFixtures.client()), ("y/a.json", ReportFixtures.client())])
        XCTAssertEqual(Set(r2.hosts.map(\.label)).count, 2)
    }

    func testCheckJSONReadsBackUnchanged() throws {
        let d = ReportFixtures.server()
        let h = HostReport(d)
        XCTAssertEqual(h.hostname, "srv-1")
        XCTAssertEqual(h.port, 8095)
        XCTAssertEqual(h.causes.map(\.id), d.causes.map(\.cause.id))
        XCTAssertEqual(h.causes.first?.forEvidence.first?.facts.first?.value, "6")
        XCTAssertEqual(h.checks.map(\.status), d.checks.map(\.status.rawValue))
        XCTAssertEqual(h.resets.count, 4)
        XCTAssertEqual(h.resets.first?["dport"], .int(37994))
        XCTAssertEqual(h.resets.first?["time"], .double(1_795_290_000.25))
        XCTAssertEqual(h.counters.map(\.name), ["TcpExtEmbryonicRsts", "TcpExtListenDrops", "TcpExtListenOverflows", "TcpOutRsts"])
        XCTAssertEqual(h.sysctls.map(\.0), ["net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow"])
        XCTAssertEqual(h.firewallRules.count, 1)
        XCTAssertEqual(h.answers.map(\.0), ["reset_timing", "under_load"])
    }

    func testReadsTheRealBinarysOutputShape() throws {
        // The documented example of docs/json-schema.md parses (fields the renderer needs are there).
        let doc = try String(contentsOfFile: ReportFixtures.root + "/docs/json-schema.md", encoding: .utf8)
        let json = try XCTUnwrap(doc.components(separatedBy: "```json\n").dropFirst().first?.components(separatedBy: "```").first)
        let input = try Merge.parse(Data(json.replacingOccurrences(of: "\"…\": \"…\"", with: "\"x\": 1").utf8), origin: "schema-doc")
        XCTAssertEqual(input.report.causes.first?.id, "accept-queue-overflow")
        XCTAssertEqual(input.report.causes.first?.probability, 0.93)
        XCTAssertEqual(input.report.port, 8080)
        XCTAssertEqual(input.report.finding("syn-flood")?.probability, 0.82, "the /3 example's finding")
    }

    func testPortFieldsOfFirewallRules() {
        XCTAssertTrue(RawEvidence.portMatches("80,8080", 8080))
        XCTAssertTrue(RawEvidence.portMatches("{ 80, 443 }", 443))
        XCTAssertTrue(RawEvidence.portMatches("8000-8100", 8095))
        XCTAssertTrue(RawEvidence.portMatches("8000:8100", 8100))
        XCTAssertFalse(RawEvidence.portMatches("8000-8100", 8101))
        XCTAssertFalse(RawEvidence.portMatches("18080", 8080))
        XCTAssertFalse(RawEvidence.portMatches("", 8080))
    }
}
