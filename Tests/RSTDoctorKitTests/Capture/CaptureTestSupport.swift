import Foundation
import XCTest

@testable import RSTDCapture

/// Paths and loaders shared by the capture tests.
enum CaptureFixtures {
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
