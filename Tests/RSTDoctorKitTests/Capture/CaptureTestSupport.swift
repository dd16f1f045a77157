import Foundation
import XCTest

@testable import RSTDCapture

/// Paths and loaders shared by the capture tests.
enum CaptureFixtures {
    /// Feeds a lab capture's frames (Tests/LabTests/Fixtures/pcap) from `first` on, as a window opening
    /// there sees them, with `change` applied to the decoded segments.
    static func labWindow(_ name: String, from first: UInt64 = 1, options: CaptureOptions = CaptureOptions(maxListedResets: 1000),
                          change: (inout DecodedPacket) -> Void = { _ in }) throws -> CaptureReport {
        let a = CaptureAnalyzer(classes: try CaptureFixtures.classes(), options: options, source: name, linkType: LinkType.ethernet)
        let handle = try PcapHandle.open(file: CaptureLabScenarioTests.dir.appending(path: "\(name).pcap").path)
        defer { handle.close() }
        var decoder = PacketDecoder(linkType: handle.linkType)
        var p = DecodedPacket()
        var frame: UInt64 = 0
        while case .packet(let buf, let time, _) = handle.next() {
            frame += 1
            guard frame >= first else { continue }
            guard decoder.decode(buf, into: &p) == .tcp else { a.count(.notTCP, time: time); continue }
            p.frame = frame
            p.time = time
            change(&p)
            a.feed(p, frame: buf)
        }
        return a.report()
    }

    /// The package root, from this file's path (Tests/RSTDoctorKitTests/Capture/…).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The third-party corpus, copied into the repository (Tests/Fixtures/corpus/MANIFEST.tsv gives origins).
    static let corpus = root.appending(path: "Tests/Fixtures/corpus/pcap")
    static let fixtures = root.appending(path: "Tests/RSTDoctorKitTests/Fixtures/capture")

    static func classes() throws -> CaptureClasses {
        try CaptureClasses.load(path: root.appending(path: "knowledge/capture-classes.yaml").path)
    }

    static func corpusFiles() throws -> [String] {
        guard FileManager.default.fileExists(atPath: corpus.path) else { throw FixtureMissing(path: corpus.path) }
        return try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
    }

    static func analyze(_ url: URL, options: CaptureOptions = CaptureOptions(maxListedResets: 1_000_000)) throws -> CaptureReport {
        try CaptureFile.analyze(path: url.path, classes: classes(), options: options)
    }

    static func lab(_ name: String) throws -> CaptureReport {
        try analyze(fixtures.appending(path: "lab/\(name).pcap"))
    }
}
