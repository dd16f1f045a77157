import Foundation
import XCTest

@testable import RSTDTrace

/// Paths of the package and its kernel-trace fixtures, found from this file's location.
enum TraceFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir = packageRoot.appending(path: "Tests/Fixtures/KernelTrace")

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: dir.appending(path: relative), encoding: .utf8)
    }

    static func format(_ kernel: String, _ event: String) throws -> EventFormat {
        try EventFormat.parse(try text("format-\(kernel)/\(event).format"))
    }

    static func reasons() throws -> TraceReasonMap {
        let url = packageRoot.appending(path: "knowledge/trace-reasons.yaml")
        return try TraceReasonMap.load(yaml: String(contentsOf: url, encoding: .utf8))
    }
}
