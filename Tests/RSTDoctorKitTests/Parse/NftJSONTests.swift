import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class NftJSONTests: XCTestCase {
    func parse(_ text: String) throws -> ParsedFacts { try NftJSONParser.parse(RawOutput(text)) }

    /// The JSON and text listings of the same rulesets (corpus pairs and our own captures): each
    /// rule's `text` should be one of nft's own lines, and the `reject with tcp reset` count must agree.
    func testRuleTextMatchesNftListing() throws {
        var pairs: [(String, String, String)] = []
        for json in try TestFiles.corpusFiles("nft", suffix: ".json") {
            guard let nft = try? TestFiles.corpus(json.replacingOccurrences(of: ".json", with: ".nft")) else { continue }
            pairs.append((json, try TestFiles.corpus(json), nft))
        }
        for name in ["netns-reject", "netns-iptables-nft"] {
            pairs.append((name, try TestFiles.fixture("nft-json", name + ".json"), try TestFiles.fixture("nft-json", name + ".nft")))
        }
        XCTAssertGreaterThanOrEqual(pairs.count, 20)
        var total = 0
        var matched = 0
        for (name, json, nft) in pairs {
            let lines = Set(nft.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
            let facts = try parse(json)
            let rules = facts.records("nft.rules")
            for r in rules {
                total += 1
                if lines.contains(r.string("text") ?? "") { matched += 1 }
            }
            let resetLines = nft.split(separator: "\n").filter { $0.contains("reject with tcp reset") }.count
            // iptables-nft's xt REJECT is `reject with tcp reset` in the listing but opaque in JSON.
            if name != "netns-iptables-nft" {
                XCTAssertEqual(facts.int("nft.reject_tcp_reset"), Int64(resetLines), name)
            }
        }
        XCTAssertGreaterThan(total, 430)
        // nft 1.0.6 (ours) writes tcp flags as `!= syn / syn,ack`, newer nft as `& (syn | ack) != syn`;
        // we follow the newer form, so a few lines of our own captures differ by design.
        XCTAssertGreaterThanOrEqual(Double(matched) / Double(total), 0.95, "\(matched)/\(total)")
    }

    /// Our capture: reject-with-tcp-reset rules, a named set, a jump to a regular chain, conntrack
    /// invalid handling in two chains, a ct timeout policy, NAT.
    func testNamespaceRuleset() throws {
        let facts = try parse(try TestFiles.fixture("nft-json", "netns-reject.json"))
        XCTAssertEqual(facts.int("nft.reject_tcp_reset"), 3)
        XCTAssertEqual(facts.string("nft.ct_invalid_verdict"), "reject", "forward rejects invalid with a reset; input only drops")
        let rules = facts.records("nft.rules")
        XCTAssertEqual(rules.count, 17)
        let blocked = try XCTUnwrap(rules.first { $0.string("saddr") == "@blocked" })
        XCTAssertEqual(blocked.string("dports"), "80,443,8000-8100")
        XCTAssertEqual(blocked.string("verdict"), "reject")
        XCTAssertEqual(blocked.string("reject_type"), "tcp reset")
        XCTAssertEqual(blocked.string("hook"), "input")
        XCTAssertEqual(blocked.string("family"), "inet")
        XCTAssertEqual(blocked.int("handle"), 10)
        let noSyn = try XCTUnwrap(rules.first { $0.string("comment") == "new without SYN" })
        XCTAssertEqual(noSyn.string("tcp_flags"), "tcp flags & (syn | ack) != syn")
        XCTAssertEqual(noSyn.string("ct_state"), "new")
        XCTAssertEqual(noSyn.string("dports"), "8080")
        let invalid = try XCTUnwrap(rules.first { $0.string("comment") == "drop invalid" })
        XCTAssertEqual(invalid.string("verdict"), "drop")
        XCTAssertEqual(invalid.string("text"), "ct state invalid counter packets 0 bytes 0 drop comment \"drop invalid\"")
        XCTAssertEqual(rules.first { $0.int("handle") == 7 }?.string("ct_state"), "established,related")
        // Rules of the regular chain `db` inherit `input` from the base chain that jumps there.
        let db = rules.filter { $0.string("chain") == "db" }
        XCTAssertEqual(db.count, 2)
        XCTAssertTrue(db.allSatisfy { $0.string("hook") == "input" })
        XCTAssertEqual(db.last?.string("reject_type"), "icmpx port-unreachable")
        XCTAssertEqual(rules.first { $0.string("daddr") == "" && $0.string("saddr") == "10.0.0.0/8" }?.string("verdict"), "jump")
        XCTAssertEqual(rules.first { $0.string("chain") == "pre" }?.string("text"), "tcp dport 80 dnat to 10.0.0.2:8080")
        XCTAssertEqual(rules.first { $0.string("chain") == "post" }?.string("verdict"), "masquerade")
        XCTAssertEqual(rules.first { ($0.string("text") ?? "").hasPrefix("tcp flags rst") }?.string("tcp_flags"), "tcp flags rst")
        let timeouts = facts.records("nft.ct_timeout_policies")
        XCTAssertEqual(timeouts.count, 1)
        XCTAssertEqual(timeouts.first?.string("name"), "short-est")
        XCTAssertEqual(timeouts.first?.string("protocol"), "tcp")
        XCTAssertEqual(timeouts.first?.duration("established"), 120)
    }

    func testIptablesNftXtTargets() throws {
        let facts = try parse(try TestFiles.fixture("nft-json", "netns-iptables-nft.json"))
        let rules = facts.records("nft.rules")
        let rejects = rules.filter { $0.string("verdict") == "reject" }
        XCTAssertEqual(rejects.count, 5, "xt REJECT targets count as reject")
        XCTAssertTrue(rejects.allSatisfy { $0.string("reject_type") == "" }, "JSON does not carry xt options")
        XCTAssertEqual(facts.int("nft.reject_tcp_reset"), 0)
        XCTAssertTrue(rules.contains { $0.string("chain") == "LOGDROP" && $0.string("hook") == "forward" })
    }

    func testCorpusSpecifics() throws {
        let vmap = try parse(try TestFiles.corpus("nft/nftables__optimizations__merge_stmts_vmap.json"))
        XCTAssertEqual(vmap.string("nft.ct_invalid_verdict"), "drop", "ct state vmap { invalid : drop, … }")
        XCTAssertTrue(vmap.records("nft.rules").contains { $0.string("dports") == "1,2-3,4" && $0.string("verdict") == "vmap" })

        let merge = try parse(try TestFiles.corpus("nft/nftables__optimizations__merge_reject.json"))
        XCTAssertEqual(merge.int("nft.reject_tcp_reset"), 2)
        // Ports inside concatenations: `meta l4proto . ip daddr . tcp dport { tcp . 172.30.238.117 . 8080, … }`.
        XCTAssertTrue(merge.records("nft.rules").contains { $0.string("dports") == "8080,3306,3306" })

        let reset = try parse(try TestFiles.corpus("nft/nftables__packetpath__tcp_reset.json"))
        let r = reset.records("nft.rules").filter { $0.string("reject_type") == "tcp reset" }
        XCTAssertEqual(r.map { $0.string("daddr") }, ["127.0.0.1", "::1"])
        XCTAssertTrue(r.allSatisfy { $0.string("dports") == "5555" && $0.string("hook") == "input" })

        let empty = try parse(try TestFiles.corpus("nft/insights-core__nft_list_ruleset_empty.json"))
        XCTAssertEqual(empty.records("nft.rules").count, 0)
        XCTAssertEqual(empty.string("nft.ct_invalid_verdict"), "none")

        let doc = try parse(try TestFiles.corpus("nft/insights-core__nft_list_ruleset_doc.json"))
        XCTAssertEqual(doc.records("nft.rules").first?.string("text"), "ip saddr vmap @example_map")
        for file in try TestFiles.corpusFiles("nft", suffix: ".json") {
            XCTAssertNoThrow(try parse(try TestFiles.corpus(file)), file)
        }
    }

    func testMalformed() throws {
        let full = try TestFiles.fixture("nft-json", "netns-reject.json")
        for cut in [0, 1, 100, full.utf8.count / 2, full.utf8.count - 2] {
            let text = String(decoding: Array(full.utf8.prefix(cut)), as: UTF8.self)
            XCTAssertThrowsError(try parse(text), "cut at \(cut)")
        }
        XCTAssertThrowsError(try parse("Error: Could not process rule: Operation not permitted"))
        XCTAssertThrowsError(try parse(#"{"something": []}"#))
        // Wrong types everywhere: no crash, the odd items are skipped or shown raw.
        let odd = try parse(#"{"nftables": [1, "x", {"rule": {"family": 3, "expr": {"a": 1}}}, {"rule": {"chain": "c", "handle": "7", "expr": [{"match": {"left": [], "right": {}}}, {"reject": 5}, {"weird": {"k": [1, [2, [3]]]}}]}}, {"chain": {"hook": 5}}, {"ct timeout": {"policy": []}}]}"#)
        let rules = odd.records("nft.rules")
        XCTAssertEqual(rules.count, 2)
        XCTAssertEqual(rules.last?.int("handle"), 7)
        XCTAssertEqual(rules.last?.string("verdict"), "reject")
        XCTAssertEqual(rules.last?.string("reject_type"), "default")
        // Deep nesting is bounded (Foundation's JSON depth limit or our rendering depth), never a stack overflow.
        let deep = #"{"nftables": [{"rule": {"chain": "c", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": "# + String(repeating: #"{"set": ["#, count: 400) + "1" + String(repeating: "]}", count: 400) + "}}]}}]}"
        _ = try? parse(deep)
    }
}
