import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDData
@testable import RSTDInfer
@testable import RSTDKnowledge
@testable import RSTDPipeline

/// The knowledge base in this repository: it loads without problems, every check's sample parses to
/// its `expect`, every rule's examples behave as stated, and the built-in copy equals the files.
final class KnowledgeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testRepositoryKnowledgeLintsClean() throws {
        let files = try KnowledgeFiles.directory(Self.root)
        let problems = Lint.run(files)
        XCTAssertEqual(problems.map(\.description), [], "knowledge lint found problems")
    }

    func testEmbeddedCopyMatchesFiles() throws {
        let files = try KnowledgeFiles.directory(Self.root)
        let embedded = KnowledgeFiles.embedded
        XCTAssertEqual(Set(files.files.keys), Set(embedded.files.keys))
        for (k, v) in files.files { XCTAssertEqual(embedded.files[k], v, "\(k) differs from the built-in copy: rebuild") }
    }

    func testEmbeddedVersionMatchesFile() throws {
        let file = try String(contentsOfFile: Self.root + "/VERSION", encoding: .utf8)
        XCTAssertEqual(BuildVersion.current, file.split(separator: "\n").first.map(String.init), "VERSION changed: run `make embed`")
    }

    func testEveryDesignCauseIsPresent() throws {
        let (kb, _) = KnowledgeBase.load(try KnowledgeFiles.directory(Self.root))
        let ids = Set(kb.causes.map(\.id))
        for id in ["no-listener", "syn-conflict", "accept-queue-overflow", "half-open-after-restart", "firewall-reset",
                   "time-wait-assassination", "application-abort", "idle-timeout", "unread-data-close", "duplicate-ip"] {
            XCTAssertTrue(ids.contains(id), "cause \(id) missing")
        }
        XCTAssertEqual(kb.steps.map(\.id), ["packet-sniffer", "application-logs", "firewall", "network-config", "server-load", "tcp-parameters"])
    }

    func testLintReportsBrokenKnowledgeWithFileAndLine() throws {
        var files = try KnowledgeFiles.directory(Self.root)
        files.files["knowledge/rules/no-listener/broken.yaml"] = """
        id: broken
        cause: no-listener
        when: "nstat.TcpOutRst > 0 && "
        weight: 1
        explain: "x"
        """
        files.files["knowledge/rules/derived/cycle-a.yaml"] = """
        id: cycle-a
        derive: x.a
        when: "x.b"
        examples:
          fires: [{x.b: true}]
          not_fires: [{x.b: false}]
        """
        files.files["knowledge/rules/derived/cycle-b.yaml"] = """
        id: cycle-b
        derive: x.b
        when: "x.a"
        examples:
          fires: [{x.a: true}]
          not_fires: [{x.a: false}]
        """
        files.files["knowledge/rules/no-listener/typo.yaml"] = """
        id: typo
        cause: no-listener
        when: "nstat.TcpOutRstz > 0"
        weight: 1
        explain: "x"
        examples:
          fires: [{nstat.TcpOutRsts: 1}]
          not_fires: [{nstat.TcpOutRsts: 0}]
        """
        files.files["knowledge/rules/no-listener/wrongtype.yaml"] = """
        id: wrongtype
        cause: no-listener
        when: "focus.peer > 3"
        weight: 1
        explain: "x"
        examples:
          fires: [{focus.peer: "a"}]
          not_fires: [{focus.peer: "b"}]
        """
        let problems = Lint.run(files).map(\.description)
        XCTAssertTrue(problems.contains { $0.hasPrefix("knowledge/rules/no-listener/broken.yaml:3:") && $0.contains("ends too early") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("cycle between derived facts") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("knowledge/rules/no-listener/typo.yaml:3:") && $0.contains("unknown fact `nstat.TcpOutRstz`") && $0.contains("did you mean") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("knowledge/rules/no-listener/wrongtype.yaml:3:") && $0.contains("cannot order") }, "\(problems)")
        // The broken rule has no examples either: both of its problems are reported at once.
        XCTAssertTrue(problems.contains { $0.hasPrefix("knowledge/rules/no-listener/broken.yaml:") && $0.contains("`examples`") }, "\(problems)")
    }

    func testDuplicateIdsAndMissingExamplesAreReported() throws {
        var files = try KnowledgeFiles.directory(Self.root)
        let some = try XCTUnwrap(files.files.keys.first { $0.hasPrefix("knowledge/rules/no-listener/") })
        let text = try XCTUnwrap(files.files[some])
        files.files["knowledge/rules/no-listener/copy.yaml"] = text
        files.files["knowledge/rules/firewall-reset/no-examples.yaml"] = """
        id: no-examples
        cause: firewall-reset
        when: "firewall.reset_rules"
        weight: 1
        explain: "x"
        """
        let problems = Lint.run(files).map(\.description)
        XCTAssertTrue(problems.contains { $0.contains("duplicate rule id") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("no-examples.yaml") && $0.contains("`examples`") }, "\(problems)")
    }

    func testWrongExampleIsCaught() throws {
        var files = try KnowledgeFiles.directory(Self.root)
        files.files["knowledge/rules/no-listener/liar.yaml"] = """
        id: liar
        cause: no-listener
        when: "applog.refused > 10"
        weight: 1
        explain: "x"
        examples:
          fires: [{applog.refused: 3}]
          not_fires: [{applog.refused: 30}]
        """
        let problems = Lint.run(files).map(\.description)
        XCTAssertTrue(problems.contains { $0.contains("liar.yaml") && $0.contains("fires example 1: the rule does not fire") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("liar.yaml") && $0.contains("not_fires example 1: the rule fires") }, "\(problems)")
    }

    func testTemplatesExpandPerCauseWithTheirFileAndLine() throws {
        let (kb, problems) = KnowledgeBase.load(try KnowledgeFiles.directory(Self.root))
        XCTAssertEqual(problems.map(\.description), [])
        let expanded = kb.rules.filter { $0.file == "knowledge/rules/templates.yaml" }
        XCTAssertEqual(expanded.count, 33)
        let rule = try XCTUnwrap(kb.rules.first { $0.id == "trace-shows-application-abort" })
        XCTAssertEqual(rule.file, "knowledge/rules/templates.yaml")
        XCTAssertEqual(rule.causeID, "application-abort")
        XCTAssertEqual(rule.weight, 3.5)
        XCTAssertGreaterThan(rule.line, 1)
        XCTAssertEqual(rule.examplesFire.count, 1)
        // Causes that keep a rule file of their own for a template (`except:`).
        XCTAssertEqual(kb.rules.first { $0.id == "trace-shows-no-listener" }?.file, "knowledge/rules/no-listener/trace-shows-no-listener.yaml")
        XCTAssertEqual(kb.rules.first { $0.id == "capture-shows-no-time-wait-assassination" }?.file,
                       "knowledge/rules/time-wait-assassination/capture-shows-no-time-wait-assassination.yaml")
    }

    func testTemplateProblemsAreReported() throws {
        var files = try KnowledgeFiles.directory(Self.root)
        files.files["knowledge/rules/templates.yaml"] = """
        causes:
          no-such-cause: {signature: "x"}
          no-listener: {except: [nothing-like-this]}
        templates:
          - id: t-$cause
            cause: $cause
            when: 'any(capture.resets, cause == "$cause")'
            weight: 1
            explain: "$signature"
            examples: {fires: [{capture.resets: [{cause: "$cause"}]}], not_fires: [{capture.resets: []}]}
        """
        let problems = KnowledgeBase.load(files).1.map(\.description)
        XCTAssertTrue(problems.contains { $0.hasPrefix("knowledge/rules/templates.yaml:2:") && $0.contains("unknown cause `no-such-cause`") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("knowledge/rules/templates.yaml:5:") && $0.contains("`$signature` has no value") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("`except` names `nothing-like-this`") }, "\(problems)")
    }

    func testCombinedListIsReadThroughItsSources() throws {
        let (kb, _) = KnowledgeBase.load(try KnowledgeFiles.directory(Self.root))
        let rule = try XCTUnwrap(kb.rules.first { $0.id == "firewall-reset-rules" })
        XCTAssertEqual(rule.reads, ["nft.rules", "iptables.rules", "ip6tables.rules"])
        XCTAssertThrowsError(try ExprChecker.compile("count(firewall.rules) > 0 && known(firewall.rules)", scope: kb.exprScope)) {
            XCTAssertTrue("\($0)".contains("combines nft.rules"), "\($0)")
        }
        XCTAssertThrowsError(try ExprChecker.compile("max(firewall.rules, 1) > 0", scope: kb.exprScope))
        // nft lists a reset rule, iptables could not be read: still true (Kleene), as with the sources named.
        var store = FactStore()
        store.add("nft.rules", .records([["reject_type": .string("tcp reset"), "ct_state": .string(""), "tcp_flags": .string("")]]),
                  source: FactSource(check: "nft-ruleset"))
        let out = Engine(kb: kb).infer(store)
        XCTAssertEqual(out.ruleOutcomes["firewall-reset-rules"], true)
        XCTAssertNil(out.ruleOutcomes["firewall-resets-untracked"], "unknown: iptables was not read")
    }
}
