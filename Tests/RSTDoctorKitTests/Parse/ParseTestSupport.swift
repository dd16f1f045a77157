import Foundation
import XCTest

@testable import RSTDCore

/// Paths and small accessors shared by the parser tests.
enum TestFiles {
    /// The package root, found from this file's path (Tests/RSTDoctorKitTests/Parse/…).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The third-party corpus, copied into the repository (Tests/Fixtures/corpus/MANIFEST.tsv gives origins).
    static let corpus: URL = packageRoot.appending(path: "Tests/Fixtures/corpus")

    static func corpus(_ relative: String) throws -> String {
        let url = corpus.appending(path: relative)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureMissing(path: url.path)
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func corpusFiles(_ dir: String, suffix: String = "") throws -> [String] {
        let url = corpus.appending(path: dir)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else {
            throw FixtureMissing(path: url.path)
        }
        return names.filter { $0.hasSuffix(suffix) }.sorted().map { "\(dir)/\($0)" }
    }

    /// A fixture captured on the development machine: Tests/RSTDoctorKitTests/Fixtures/<parser>/<name>.
    static func fixture(_ parser: String, _ name: String) throws -> String {
        let url = packageRoot.appending(path: "Tests/RSTDoctorKitTests/Fixtures/\(parser)/\(name)")
        let data = try XCTUnwrap(FileManager.default.contents(atPath: url.path), "missing fixture \(url.path)")
        return String(decoding: data, as: UTF8.self)
    }
}

extension ParsedFacts {
    func int(_ key: String) -> Int64? {
        if case .int(let v)? = values[key] { return v }
        return nil
    }

    func string(_ key: String) -> String? {
        if case .string(let v)? = values[key] { return v }
        return nil
    }

    func records(_ key: String) -> [Record] {
        if case .records(let r)? = values[key] { return r }
        return []
    }
}

extension Dictionary where Key == String, Value == FactValue {
    func int(_ key: String) -> Int64? {
        if case .int(let v)? = self[key] { return v }
        return nil
    }

    func string(_ key: String) -> String? {
        if case .string(let v)? = self[key] { return v }
        return nil
    }

    func bool(_ key: String) -> Bool? {
        if case .bool(let v)? = self[key] { return v }
        return nil
    }

    func duration(_ key: String) -> Double? {
        if case .duration(let v)? = self[key] { return v }
        return nil
    }
}

/// A fixture the repository should hold is missing: a failure, never a skip.
struct FixtureMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "fixture missing: \(path) (Tests/Fixtures/corpus is part of the repository)" }
}
