import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDData
@testable import RSTDParse

/// Every checks/*.yaml: loads, names a registered parser, and its `sample` yields its `expect`
/// values with the types its `facts` declare. (The integrator's suite does the same for all
/// checks; this keeps the parsers' own checks honest on this branch.)
final class CheckSamplesTests: XCTestCase {
    static let steps: Set<String> = ["packet-sniffer", "application-logs", "firewall", "network-config", "server-load", "tcp-parameters"]

    func checks() throws -> [(file: String, def: CheckDefinition)] {
        let dir = TestFiles.packageRoot.appending(path: "checks")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        return try names.map { name in
            let text = try String(contentsOf: dir.appending(path: name), encoding: .utf8)
            do {
                return (name, try CheckDefinition.load(try YNode.load(text, file: name)))
            } catch {
                XCTFail("\(error)")
                throw error
            }
        }
    }

    /// `key`, `key[i].field`, `key.count` (record-list length) — a fact of that exact name wins.
    func resolve(_ path: String, in facts: ParsedFacts) -> FactValue? {
        if let v = facts.values[path] { return v }
        if path.hasSuffix(".count"), case .records(let r)? = facts.values[String(path.dropLast(6))] { return .int(Int64(r.count)) }
        guard let open = path.lastIndex(of: "["), let close = path.lastIndex(of: "]"), open < close,
              let i = Int(path[path.index(after: open)..<close]) else { return nil }
        let key = String(path[..<open])
        let field = String(path[path.index(after: close)...].dropFirst())
        guard case .records(let r)? = facts.values[key], i >= 0, i < r.count else { return nil }
        return r[i][field]
    }

    func same(_ a: FactValue, _ b: FactValue) -> Bool {
        if let x = a.number, let y = b.number { return abs(x - y) < 1e-9 }
        if case .string(let s) = b { return a.display == s }
        return a == b
    }

    func testEveryCheck() throws {
        let all = try checks()
        XCTAssertGreaterThanOrEqual(all.count, 13)
        for (file, def) in all {
            XCTAssertEqual(def.id + ".yaml", file)
            XCTAssertTrue(Self.steps.contains(def.step), "\(file): step \(def.step)")
            XCTAssertFalse(def.description.isEmpty, file)
            XCTAssertNotNil(def.fix, file)
            // Builtins fed by capture / tracing have no text parser: their facts are tested with their modules.
            guard let parserID = def.parser else { continue }
            let parser = try XCTUnwrap(Parsers.parser(id: parserID), "\(file): unknown parser \(parserID)")
            let sample = try XCTUnwrap(def.sample, file)
            let facts = try parser.parse(RawOutput(sample))
            XCTAssertGreaterThanOrEqual(def.expect.count, 3, file)
            for (path, want, line) in def.expect {
                guard let got = resolve(path, in: facts) else { XCTFail("\(file):\(line): \(path) not yielded"); continue }
                XCTAssertTrue(same(got, want), "\(file):\(line): \(path) = \(got.display), expected \(want.display)")
            }
            let declared = Dictionary(def.facts.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            for (key, value) in facts.values {
                // The counters check declares the counters rules use; the parser yields all of them.
                if def.id == "counters" && key.hasPrefix("nstat.") && declared[key] == nil { continue }
                guard let d = declared[key] else { XCTFail("\(file): yields undeclared fact \(key)"); continue }
                XCTAssertEqual(value.type, d.type, "\(file): \(key)")
                if case .records(let records) = value {
                    for r in records {
                        for (f, v) in r {
                            XCTAssertEqual(d.fields[f], v.type, "\(file): \(key).\(f)")
                        }
                    }
                }
            }
        }
    }
}
