import Foundation
import XCTest

@testable import RSTDRender

/// Markdown and JSON reports against golden files (re-record with RSTDOCTOR_RECORD=1).
final class ReportGoldenTests: XCTestCase {
    func testMarkdownOneHost() throws {
        try ReportFixtures.assertGolden(MarkdownReport.render(ReportFixtures.report([ReportFixtures.server()])), "server.md")
    }

    func testMarkdownMergedClientAndServer() throws {
        let (r, _) = try ReportFixtures.merged([("server.json", ReportFixtures.server()), ("client.json", ReportFixtures.client())])
        try ReportFixtures.assertGolden(MarkdownReport.render(r), "merged.md")
    }

    func testJSONOneHost() throws {
        try ReportFixtures.assertGolden(CheckJSON.render(ReportFixtures.server()).serialized() + "\n", "server.json")
    }

    func testJSONMerged() throws {
        let (_, inputs) = try ReportFixtures.merged([("server.json", ReportFixtures.server()), ("client.json", ReportFixtures.client())])
        try ReportFixtures.assertGolden(Merge.json(inputs).serialized() + "\n", "merged.json")
    }

    func testOpenMetricsOneHost() throws {
        try ReportFixtures.assertGolden(OpenMetrics.render(ReportFixtures.server()), "server.prom")
    }
}
