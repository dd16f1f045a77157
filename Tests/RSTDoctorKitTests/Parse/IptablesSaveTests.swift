import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDInfer
@testable import RSTDParse

final class IptablesSaveTests: XCTestCase {
    func parse(_ name: String, _ text: String) throws -> ParsedFacts {
        try IptablesSaveParser.parse(RawOutput(parts: [.init(name: name, text: text)]))
    }

    /// Captured in a namespace (iptables 1.8.9, nf_tables backend).
    func testNamespaceCapture() throws {
        let facts = try parse("iptables-save", try TestFiles.fixture("iptables-save", "netns-iptables-save.txt"))
        let rules = facts.records("iptables.rules")
        XCTAssertEqual(rules.count, 12)
        XCTAssertEqual(facts.int("iptables.reject_tcp_reset"), 2)
        XCTAssertEqual(facts.string("iptables.ct_invalid_verdict"), "drop")
        XCTAssertNil(facts.values["ip6tables.rules"])
        let multi = try XCTUnwrap(rules.first { $0.string("comment") == "block \"bad\" net" })
        XCTAssertEqual(multi.string("table"), "filter")
        XCTAssertEqual(multi.string("chain"), "INPUT")
        XCTAssertEqual(multi.string("dport"), "80,443,9000:9100")
        XCTAssertEqual(multi.string("source"), "198.51.100.0/24")
        XCTAssertEqual(multi.string("proto"), "tcp")
        XCTAssertEqual(multi.string("target"), "REJECT")
        XCTAssertEqual(multi.string("reject_with"), "tcp-reset")
        XCTAssertEqual(multi.string("spec"), #"-s 198.51.100.0/24 -p tcp -m multiport --dports 80,443,9000:9100 -m comment --comment "block \"bad\" net" -j REJECT --reject-with tcp-reset"#)
        let notSyn = try XCTUnwrap(rules.first { ($0.string("spec") ?? "").contains("! --tcp-flags") })
        XCTAssertEqual(notSyn.string("state"), "NEW")
        XCTAssertEqual(notSyn.string("target"), "DROP")
        XCTAssertEqual(rules.first { $0.string("table") == "nat" }?.string("target"), "DNAT")
        XCTAssertEqual(rules.first { $0.string("chain") == "FORWARD" }?.string("destination"), "10.0.0.0/8")
        XCTAssertEqual(rules.first { $0.string("chain") == "FORWARD" }?.string("target"), "LOGDROP")
        XCTAssertEqual(rules.first { $0.string("dport") == "53" }?.string("reject_with"), "icmp-port-unreachable")

        let counters = try parse("iptables-save -c", try TestFiles.fixture("iptables-save", "netns-iptables-save-counters.txt"))
        XCTAssertEqual(counters.records("iptables.rules"), rules, "`-c` counters do not change the rules")
    }

    /// ip6tables-save output is named after the command: `ip6tables.*`.
    func testIp6tablesPrefixFromCommand() throws {
        let facts = try parse("ip6tables-save", try TestFiles.fixture("iptables-save", "netns-ip6tables-save.txt"))
        XCTAssertNil(facts.values["iptables.rules"])
        XCTAssertEqual(facts.records("ip6tables.rules").count, 4)
        XCTAssertEqual(facts.int("ip6tables.reject_tcp_reset"), 1)
        XCTAssertEqual(facts.string("ip6tables.ct_invalid_verdict"), "drop")
        XCTAssertEqual(facts.records("ip6tables.rules").last?.string("reject_with"), "icmp6-adm-prohibited")
        // Both commands in one output keep their facts apart.
        let both = try IptablesSaveParser.parse(RawOutput(parts: [
            .init(name: "iptables-save", text: try TestFiles.fixture("iptables-save", "netns-iptables-save.txt")),
            .init(name: "/usr/sbin/ip6tables-save", text: try TestFiles.fixture("iptables-save", "netns-ip6tables-save.txt")),
        ]))
        XCTAssertEqual(both.records("iptables.rules").count, 12)
        XCTAssertEqual(both.records("ip6tables.rules").count, 4)
    }

    /// Every corpus file parses; rule and tcp-reset counts are those `grep '^-A '` finds.
    func testCorpus() throws {
        let expected: [String: (prefix: String, rules: Int, resets: Int64)] = [
            "insights-core__ip6tables-save_special.txt": ("iptables", 5, 1),
            "insights-core__ip6tables-save_v1.4.21.txt": ("ip6tables", 14, 1),
            "insights-core__iptables-save_v1.4.7.txt": ("iptables", 8, 1),
            "iptables__firewalld-restore__ipt-save-completed.txt": ("iptables", 74, 0),
            "iptables__ipt-restore__ip6tables.dump": ("iptables", 5, 0),
            "iptables__ipt-restore__iptables.dump": ("iptables", 5, 0),
            "iptables__ipt-save__fedora27-ip6tables.txt": ("ip6tables", 63, 0),
            "iptables__ipt-save__fedora27-iptables.txt": ("iptables", 73, 0),
            "iptables__ipt-save__ipt-save-filter.txt": ("iptables", 55, 1),
            "iptables__ipt-save__policy-drop.txt": ("iptables", 1, 0),
            "iptables__ipt-save__wireless.txt": ("iptables", 58, 0),
            "iptables__nft-only_0010-iptables-nft-save.txt": ("iptables", 21, 0),
        ]
        let files = try TestFiles.corpusFiles("iptables")
        XCTAssertEqual(files.count, expected.count)
        for file in files {
            let name = String(file.dropFirst("iptables/".count))
            let want = try XCTUnwrap(expected[name], name)
            let facts = try parse(file, try TestFiles.corpus(file))
            XCTAssertEqual(facts.records("\(want.prefix).rules").count, want.rules, name)
            XCTAssertEqual(facts.int("\(want.prefix).reject_tcp_reset"), want.resets, name)
        }
        let firewalld = try parse("iptables-save", try TestFiles.corpus("iptables/iptables__firewalld-restore__ipt-save-completed.txt"))
        XCTAssertEqual(firewalld.string("iptables.ct_invalid_verdict"), "drop")
        let special = try parse("iptables-save", try TestFiles.corpus("iptables/insights-core__ip6tables-save_special.txt"))
        XCTAssertTrue(special.records("iptables.rules").contains { $0.string("chain") == "DROP" && $0.string("spec") == "" })
        XCTAssertTrue(special.records("iptables.rules").contains { $0.string("target") == "{s_1}" && $0.string("state") == "NEW" })
    }

    func testMalformed() throws {
        XCTAssertThrowsError(try parse("iptables-save", "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)"))
        XCTAssertEqual(try parse("iptables-save", "").records("iptables.rules").count, 0)
        let odd = try parse("iptables-save", "*filter\n-A INPUT -p\n-A INPUT ! \n-A X --comment \"unterminated \\\n[1:2] -A Y -j\n")
        XCTAssertEqual(odd.records("iptables.rules").count, 4)
        XCTAssertEqual(odd.records("iptables.rules")[2].string("comment"), "unterminated \\", "a trailing backslash is kept")
        let full = try TestFiles.fixture("iptables-save", "netns-iptables-save.txt")
        for cut in stride(from: 0, to: full.count, by: 13) { _ = try? parse("iptables-save", String(full.prefix(cut))) }
    }
}

/// kube-proxy's shape (iptables mode): the Service's port is matched in the jump to its chain, the
/// DNAT rules at the end name none. `netns-kube-proxy-shape.rules` (written here in the layout of
/// kube-proxy's proxier: KUBE-SERVICES → KUBE-SVC → KUBE-SEP, and KUBE-NODEPORTS → KUBE-EXT, with
/// lab addresses) was loaded with iptables-restore 1.8.9 (nf_tables) in a lab namespace; the
/// fixtures are that namespace's real `iptables-save` and `nft -j list ruleset`.
final class ChainPathTests: XCTestCase {
    func testKubeProxyDNATInheritsTheJumpsPorts() throws {
        let text = try TestFiles.fixture("iptables-save", "netns-kube-proxy-shape.txt")
        let facts = try IptablesSaveParser.parse(RawOutput(parts: [.init(name: "iptables-save", text: text)]))
        let rules = facts.records("iptables.rules")
        let dnat = rules.filter { $0.string("target") == "DNAT" }
        XCTAssertEqual(dnat.count, 3)
        let web = dnat.filter { ($0.string("chain") ?? "").hasPrefix("KUBE-SEP-WEB") }
        XCTAssertEqual(web.map { $0.string("dport") }, ["", ""], "kube-proxy's DNAT names no port")
        // ClusterIP port 80 (KUBE-SERVICES → KUBE-SVC-WEB) and NodePort 30080 (KUBE-NODEPORTS → KUBE-EXT-WEB → KUBE-SVC-WEB).
        XCTAssertEqual(web.map { $0.string("path_dport") }, ["30080,80", "30080,80"])
        XCTAssertEqual(dnat.first { $0.string("chain") == "KUBE-SEP-DNS1" }?.string("path_dport"), "53")
        // Built-in chains, and a chain reached by a jump without a port match, take any port.
        XCTAssertEqual(rules.first { $0.string("chain") == "PREROUTING" }?.string("path_dport"), "")
        XCTAssertEqual(rules.first { $0.string("chain") == "KUBE-NODEPORTS" }?.string("path_dport"), "")
        // A chain every Service jumps to holds all their ports.
        XCTAssertEqual(rules.first { $0.string("chain") == "KUBE-MARK-MASQ" }?.string("path_dport"), "30080,53,80")
    }

    func testNftListingOfTheSameRules() throws {
        let text = try TestFiles.fixture("nft-json", "netns-kube-proxy-shape.json")
        let facts = try NftJSONParser.parse(RawOutput(parts: [.init(name: "nft -j list ruleset", text: text)]))
        let rules = facts.records("nft.rules")
        let sep = rules.filter { $0.string("chain") == "KUBE-SEP-WEB1" }
        XCTAssertFalse(sep.isEmpty)
        XCTAssertEqual(Set(sep.map { $0.string("path_dports") }), ["30080,80"])
        XCTAssertEqual(rules.first { $0.string("chain") == "KUBE-SERVICES" }?.string("path_dports"), "")
    }

    /// On a Kubernetes node a missing local listener says nothing about a Service's ports (DNAT'd
    /// away), and everything about the others: kube-proxy's DNAT rules no longer excuse every port.
    func testNoListenerOnANodeDependsOnTheServicePorts() throws {
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        let save = try IptablesSaveParser.parse(RawOutput(parts: [.init(name: "iptables-save",
            text: try TestFiles.fixture("iptables-save", "netns-kube-proxy-shape.txt"))]))
        let nft = try NftJSONParser.parse(RawOutput(parts: [.init(name: "nft -j list ruleset",
            text: try TestFiles.fixture("nft-json", "netns-kube-proxy-shape.json"))]))
        func dnatHere(_ port: Int64) -> Bool? {
            var facts = save.values.merging(nft.values) { a, _ in a }
            facts["focus.port"] = .int(port)
            facts["listeners"] = .records([])
            facts["ip6tables.rules"] = .records([])
            return Engine(kb: kb).infer(KnowledgeTestSupport.store(facts)).ruleOutcomes["focus-port-dnat-here"]
        }
        XCTAssertEqual(dnatHere(30080), true, "the NodePort")
        XCTAssertEqual(dnatHere(80), true, "the ClusterIP port")
        XCTAssertEqual(dnatHere(8080), false, "no Service on 8080: a refused connect here is no-listener")
    }

    func testNegatedJumpPortAndLoopsReadAsAny() {
        var paths = ChainPaths([
            .init(chain: "INPUT", target: "A", ports: ["!22"]),
            .init(chain: "B", target: "C", ports: []), .init(chain: "C", target: "B", ports: []),
        ]) { $0 == "INPUT" }
        XCTAssertEqual(paths.ports(of: "A"), "")
        XCTAssertEqual(paths.ports(of: "B"), "")
        XCTAssertEqual(paths.ports(of: "unreached"), "")
    }
}
