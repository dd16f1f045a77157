import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDData
@testable import RSTDKnowledge

/// What the engine, question-choice and session tests share: the package root, the fixture knowledge
/// of the session tests, loading a knowledge directory that must load cleanly, and a fact store.
enum KnowledgeTestSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    /// A small knowledge base made for the session and question-choice tests.
    static let sessionFixtures = root + "/Tests/Fixtures/session"

    /// The knowledge in `dir` (holding checks/ and knowledge/); fails the test on any load problem.
    static func load(_ dir: String, file: StaticString = #filePath, line: UInt = #line) throws -> KnowledgeBase {
        let (kb, problems) = KnowledgeBase.load(try KnowledgeFiles.directory(dir))
        XCTAssertEqual(problems.map(\.description), [], file: file, line: line)
        return kb
    }

    /// A store holding `facts`, each from check "test".
    static func store(_ facts: [String: FactValue]) -> FactStore {
        var s = FactStore()
        for (k, v) in facts { s.add(k, v, source: FactSource(check: "test")) }
        return s
    }
}
