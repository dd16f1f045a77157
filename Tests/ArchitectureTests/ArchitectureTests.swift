import Foundation
import XCTest

/// The architecture as a checked fact: Package.swift's target dependencies equal the table in
/// docs/architecture.md, and no source file imports a module its target may not import — not even a
/// dependency's dependency, which SwiftPM itself lets through.
final class ArchitectureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Target → the package's own modules it lists (products of other packages left out).
    static func packageEdges() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appending(path: "Package.swift"), encoding: .utf8)
        var out: [String: Set<String>] = [:]
        // `.target(name: "X", dependencies: [ ... ])`, possibly over several lines.
        let target = try NSRegularExpression(pattern: #"\.target\(name: "(RSTD\w+)"(?:, dependencies: \[([^\]]*)\])?"#)
        for m in target.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(m.range(at: 1), in: text)!])
            var deps = Set<String>()
            if let r = Range(m.range(at: 2), in: text) {
                let quoted = try NSRegularExpression(pattern: #""(\w+)""#)
                let list = String(text[r])
                for q in quoted.matches(in: list, range: NSRange(list.startIndex..., in: list)) {
                    deps.insert(String(list[Range(q.range(at: 1), in: list)!]))
                }
            }
            out[name] = deps
        }
        return out
    }

    /// The table under `<!-- edges -->` in docs/architecture.md.
    static func documentedEdges() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appending(path: "docs/architecture.md"), encoding: .utf8)
        guard let start = text.range(of: "<!-- edges") else { return [:] }
        var out: [String: Set<String>] = [:]
        for line in text[start.upperBound...].split(separator: "\n").dropFirst() {
            guard line.hasPrefix("|") else { if !out.isEmpty { break } else { continue } }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3, cells[1].hasPrefix("RSTD") else { continue }
            out[cells[1]] = cells[2] == "—" ? [] : Set(cells[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return out
    }

    func testPackageMatchesTheDocumentedArchitecture() throws {
        let package = try Self.packageEdges()
        let docs = try Self.documentedEdges()
        XCTAssertGreaterThanOrEqual(package.count, 10, "Package.swift was not read: \(package.keys.sorted())")
        XCTAssertEqual(Set(package.keys), Set(docs.keys), "targets in Package.swift vs docs/architecture.md")
        for (t, deps) in package.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(deps, docs[t] ?? [], "\(t): Package.swift lists \(deps.sorted()), docs/architecture.md \((docs[t] ?? []).sorted())")
        }
    }

    /// Every `import RSTD…` / `import C…` of a stage's sources is one of its documented edges.
    func testNoSourceImportsAForbiddenStage() throws {
        let docs = try Self.documentedEdges()
        let fm = FileManager.default
        var checked = 0
        for (target, allowed) in docs {
            let dir = Self.root.appending(path: "Sources/\(target)")
            for file in try fm.contentsOfDirectory(atPath: dir.path) where file.hasSuffix(".swift") {
                let text = try String(contentsOf: dir.appending(path: file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let i = words.firstIndex(of: "import"), i + 1 < words.count else { continue }
                    let module = String(words[i + 1])
                    guard module.hasPrefix("RSTD") || ["CPcap", "CReadline", "CNetns"].contains(module) else { continue }
                    checked += 1
                    XCTAssertTrue(allowed.contains(module), "Sources/\(target)/\(file) imports \(module), which \(target) may not (docs/architecture.md)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 50, "no imports were checked")
    }
}
