import Foundation
import XCTest

/// Lines under 140 characters in Sources/ (`.swift-format` says the same; `make format` formats).
/// The files below were longer when the rule came in: each may keep at most that many long lines,
/// so the count only goes down. A new file, or a file not listed, has none.
final class LineLengthTests: XCTestCase {
    static let limit = 140
    static let budget: [String: Int] = [
        "RSTDCapture/CaptureAnalyzer+Judgement.swift": 2,
        "RSTDCapture/CaptureAnalyzer.swift": 3,
        "RSTDCapture/CaptureClasses.swift": 2,
        "RSTDCapture/CaptureFile.swift": 1,
        "RSTDCapture/CaptureText.swift": 5,
        "RSTDCapture/FlowState+Update.swift": 2,
        "RSTDCapture/FlowTable.swift": 1,
        "RSTDCapture/ForwardedCopies.swift": 1,
        "RSTDCapture/LiveCapture.swift": 8,
        "RSTDCapture/PacketDecoder.swift": 2,
        "RSTDCapture/PcapReader.swift": 3,
        "RSTDCapture/PcapngReader.swift": 1,
        "RSTDCapture/RSTExplainer.swift": 6,
        "RSTDCapture/RSTJudge.swift": 3,
        "RSTDCapture/RSTWireCapture.swift": 2,
        "RSTDCollect/Builtins.swift": 4,
        "RSTDCollect/Bundle.swift": 6,
        "RSTDCollect/Collector.swift": 4,
        "RSTDCollect/Evidence.swift": 3,
        "RSTDCollect/HostProbe.swift": 1,
        "RSTDCollect/JournalEvidence.swift": 4,
        "RSTDCollect/MetricsServer.swift": 3,
        "RSTDCollect/Observe.swift": 8,
        "RSTDCollect/RecordSettings.swift": 2,
        "RSTDCollect/Recorder.swift": 5,
        "RSTDCollect/RecorderMetrics.swift": 7,
        "RSTDCollect/TimeWaitJoin.swift": 1,
        "RSTDCollect/WireTraceJoin.swift": 2,
        "RSTDCore/CheckRecord.swift": 1,
        "RSTDCore/HostInfo.swift": 1,
        "RSTDCore/Validate.swift": 7,
        "RSTDData/CheckDefinitionYAML.swift": 1,
        "RSTDData/KnowledgeFiles.swift": 2,
        "RSTDInfer/Diagnosis.swift": 3,
        "RSTDInfer/QuestionChoice.swift": 2,
        "RSTDInteractive/Commands.swift": 13,
        "RSTDInteractive/ReadlineReader.swift": 1,
        "RSTDInteractive/Session.swift": 26,
        "RSTDInteractive/SessionState.swift": 5,
        "RSTDInteractive/SessionText.swift": 7,
        "RSTDJournal/Journal.swift": 5,
        "RSTDJournal/JournalRead.swift": 3,
        "RSTDJournal/JournalWrite.swift": 2,
        "RSTDJournal/JournalWriter.swift": 1,
        "RSTDKnowledge/ExprChecker.swift": 1,
        "RSTDKnowledge/KnowledgeBase.swift": 11,
        "RSTDParse/KernelLog.swift": 1,
        "RSTDParse/LogTime.swift": 1,
        "RSTDParse/NftListing.swift": 1,
        "RSTDParse/NftRuleMeaning.swift": 1,
        "RSTDParse/ProcNetstat.swift": 2,
        "RSTDPipeline/Lint.swift": 5,
        "RSTDPipeline/Pipeline.swift": 3,
        "RSTDRender/CheckJSON.swift": 1,
        "RSTDRender/HTML.swift": 17,
        "RSTDRender/Markdown.swift": 7,
        "RSTDRender/Merge.swift": 2,
        "RSTDRender/OpenMetrics.swift": 6,
        "RSTDRender/RawEvidence.swift": 2,
        "RSTDRender/ReportModel.swift": 4,
        "RSTDRender/SVGCharts.swift": 8,
        "RSTDRender/TextRender.swift": 2,
        "RSTDSystem/CommandRunner.swift": 4,
        "RSTDTrace/NetnsAddresses.swift": 1,
        "RSTDTrace/TraceReasons.swift": 1,
        "RSTDTrace/TraceSession.swift": 4,
        "RSTDTrace/TracefsInstance.swift": 7,
        "RSTDTrace/WatchOutput.swift": 10,
        "rstdoctor-fuzz/Entry.swift": 2,
        "rstdoctor/CaptureCommand.swift": 10,
        "rstdoctor/CheckCommand.swift": 4,
        "rstdoctor/CollectCommand.swift": 1,
        "rstdoctor/DiagnoseCommand.swift": 5,
        "rstdoctor/EvidenceOptions.swift": 6,
        "rstdoctor/KnowledgeCommand.swift": 5,
        "rstdoctor/RSTDoctor.swift": 3,
        "rstdoctor/RecordCommand.swift": 7,
        "rstdoctor/ReportCommand.swift": 8,
        "rstdoctor/SinceOptions.swift": 12,
        "rstdoctor/WatchCommand.swift": 3,
    ]

    func testNoNewLongLines() throws {
        let sources = ArchitectureTests.root.appending(path: "Sources")
        let walker = try XCTUnwrap(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        var over: [String] = []
        for case let url as URL in walker where url.pathExtension == "swift" && url.lastPathComponent != "EmbeddedData.swift" {
            let rel = String(url.path.dropFirst(sources.path.count + 1))
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let long = lines.enumerated().filter { $0.element.count >= Self.limit }.map { $0.offset + 1 }
            let allowed = Self.budget[rel] ?? 0
            if long.count > allowed {
                let at = long.map(String.init).joined(separator: ", ")
                over.append("Sources/\(rel): \(long.count) lines of \(Self.limit)+ characters (allowed \(allowed)), at \(at)")
            }
        }
        XCTAssertEqual(over, [], "wrap these lines (make format)")
    }
}
