import XCTest

@testable import RSTDCore
@testable import RSTDData
@testable import RSTDTrace

final class TraceKnowledgeTests: XCTestCase {
    func testReasonMapNamesExistInThisKernelsFormats() throws {
        let map = try TraceFixtures.reasons()
        let send = try TraceFixtures.format("6.18", "tcp_send_reset")
        let drop = try TraceFixtures.format("6.18", "kfree_skb")
        let states = Set(send.names(in: "state") + ["UNKNOWN"])
        for entry in map.entries {
            for r in entry.reasons ?? [] { XCTAssertTrue(send.names(in: "reason").contains(r), "line \(entry.line): no reason \(r) on 6.18") }
            for s in (entry.states ?? []) + (entry.peerStates ?? []) { XCTAssertTrue(states.contains(s), "line \(entry.line): no state \(s)") }
            for d in entry.drops ?? [] { XCTAssertTrue(drop.names(in: "reason").contains(d), "line \(entry.line): no drop reason \(d)") }
        }
        XCTAssertFalse(map.dropReasons.isEmpty)
        for d in map.dropReasons { XCTAssertNotNil(drop.value(of: d, in: "reason"), "drop_reasons: \(d) unknown to kfree_skb") }
    }

    func testIssueMappings() throws {
        let map = try TraceFixtures.reasons()
        func cause(_ reason: String?, _ state: String, _ dir: ResetEvent.Direction = .sent, drop: String? = nil, peer: String? = nil) -> String? {
            map.classify(ResetEvent(traceTime: 0, time: 0, direction: dir, src: "198.18.0.2", sport: 80, dst: "198.18.0.1",
                                    dport: 5000, state: state, reason: reason, dropReason: drop, peerState: peer)).cause
        }
        XCTAssertEqual(cause("NO_SOCKET", "UNKNOWN", peer: "TCP_SYN_SENT"), "no-listener")
        XCTAssertEqual(cause("NO_SOCKET", "UNKNOWN", peer: "TCP_ESTABLISHED"), "half-open-after-restart")
        XCTAssertEqual(cause("TCP_ABORT_ON_CLOSE", "TCP_CLOSE"), "unread-data-close")
        XCTAssertEqual(cause("TCP_STATE", "TCP_CLOSE"), "application-abort")
        XCTAssertNil(cause("TCP_STATE", "TCP_ESTABLISHED"), "TCP_STATE outside close is not mapped")
        XCTAssertEqual(cause("INVALID_SYN", "TCP_LISTEN", drop: "TCP_LISTEN_OVERFLOW"), "accept-queue-overflow")
        XCTAssertEqual(cause("TCP_INVALID_ACK_SEQUENCE", "TCP_SYN_SENT"), "syn-conflict")
        XCTAssertEqual(cause(nil, "TCP_SYN_SENT", .received), "no-listener")
        XCTAssertNil(cause(nil, "TCP_ESTABLISHED", .received))
        XCTAssertNil(cause("NOT_SPECIFIED", "TCP_ESTABLISHED"))
        XCTAssertNil(cause(nil, "TCP_CLOSE"), "no reason (old kernel): no cause")
    }

    func testLoaderErrorsCarryLines() {
        let bad = "reasons:\n  - reason: NO_SOCKET\n    cause: not-a-cause\n    explain: x\n"
        XCTAssertThrowsError(try TraceReasonMap.load(yaml: bad)) { e in
            let p = e as? KnowledgeProblem
            XCTAssertEqual(p?.line, 3)
            XCTAssertTrue(p?.message.contains("not-a-cause") ?? false)
        }
        XCTAssertThrowsError(try TraceReasonMap.load(yaml: "reasons:\n  - reasn: X\n    explain: x\n"))
        XCTAssertThrowsError(try TraceReasonMap.load(yaml: "reasons:\n  - direction: sideways\n    explain: x\n"))
        XCTAssertThrowsError(try TraceReasonMap.load(yaml: "reasons: []\n"))
        XCTAssertThrowsError(try TraceReasonMap.load(yaml: "{{{"))
    }

    private func loadCheck() throws -> CheckDefinition {
        let url = TraceFixtures.packageRoot.appending(path: "checks/kernel-trace.yaml")
        return try CheckDefinition.load(YNode.load(String(contentsOf: url, encoding: .utf8), file: "checks/kernel-trace.yaml"))
    }

    /// The facts the session emits are exactly the declared ones, with the declared types.
    func testDeclaredFactsMatchEmittedFacts() throws {
        let check = try loadCheck()
        XCTAssertEqual(check.action, .builtin("kernel-trace"))
        XCTAssertEqual(check.step, "packet-sniffer")
        XCTAssertTrue(check.needsRoot)
        XCTAssertTrue(check.optIn)
        let declared = Dictionary(uniqueKeysWithValues: check.facts.map { ($0.key, $0) })
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons())
        let events = c.consume(try TraceFixtures.text("trace/lab-6.18.trace"))
        let names = try TraceFixtures.format("6.18", "tcp_send_reset").names(in: "reason")
        let placed = DropPlacer.consume(try TraceFixtures.text("trace/lab-6.18.trace")).placed
        let paws = PawsDropCounts(machine: c.drops["TCP_RFC7323_PAWS"] ?? 0, here: placed.count, whyUnknown: "")
        let facts = TraceSession.facts(events: events, reasonNames: names, reasonReported: true, drops: c.drops, paws: paws,
                                       source: FactSource(check: "kernel-trace"))
        for f in facts {
            let d = try XCTUnwrap(declared[f.key], "\(f.key) is not declared in checks/kernel-trace.yaml")
            XCTAssertEqual(f.value?.type, d.type, f.key)
            if case .records(let rs) = f.value {
                // `time_wait_kept` is added by `check --observe` when it joins the trace with `ss` (TimeWaitJoin.swift).
                let joined: Set<String> = ["time_wait_kept"]
                for r in rs {
                    XCTAssertEqual(Set(r.keys), Set(d.fields.keys).subtracting(joined), "fields of \(f.key)")
                    for (k, v) in r { XCTAssertEqual(v.type, d.fields[k], "\(f.key).\(k)") }
                }
            }
        }
        XCTAssertEqual(Set(facts.map(\.key)), Set(declared.keys), "every declared fact is produced on this kernel")
        let store = FactStore(facts)
        XCTAssertEqual(store.value("trace.sent.TCP_STATE"), .int(3))
        XCTAssertEqual(store.value("trace.sent.NO_SOCKET"), .int(1))
        XCTAssertEqual(store.value("trace.sent.TCP_FLAGS"), .int(0))
        XCTAssertEqual(store.value("trace.netfilter_drops"), .int(2), "the lab's nft rule dropped two bare ACKs")
        XCTAssertEqual(store.value("trace.available"), .bool(true))

        let off = TraceSession.unavailableFacts(TraceUnavailable("not root", fix: "sudo"))
        XCTAssertEqual(FactStore(off).value("trace.available"), .bool(false))
        XCTAssertEqual(FactStore(off)["trace.sent"]?.unknownReason, "not root")
    }

    /// The check's `sample` (real trace lines) gives its `expect`.
    func testCheckSampleGivesExpect() throws {
        let check = try loadCheck()
        let sample = try XCTUnwrap(check.sample)
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons())
        let events = c.consume(sample)
        let store = FactStore(TraceSession.facts(events: events, reasonNames: [], reasonReported: true, source: FactSource(check: "kernel-trace")))
        XCTAssertFalse(check.expect.isEmpty)
        for (key, want, line) in check.expect {
            let got: FactValue?
            if let open = key.firstIndex(of: "["), let close = key.firstIndex(of: "]"),
               let index = Int(key[key.index(after: open)..<close]) {
                let list = String(key[..<open])
                let field = String(key[key.index(close, offsetBy: 2)...])
                if case .records(let rs)? = store.value(list), index < rs.count { got = rs[index][field] } else { got = nil }
            } else {
                got = store.value(key)
            }
            XCTAssertEqual(got, want, "expect \(key) (checks/kernel-trace.yaml:\(line))")
        }
    }

    func testNetnsAddresses() throws {
        let addrs = try NetnsAddresses.parse(try TraceFixtures.text("ip-j-addr-netns.json"))
        XCTAssertTrue(addrs.contains("198.18.0.2"))
        XCTAssertFalse(addrs.contains("127.0.0.1"))
        XCTAssertFalse(addrs.contains("::1"))
        XCTAssertThrowsError(try NetnsAddresses.parse("not json"))
        XCTAssertEqual(try NetnsAddresses.parse("[{\"addr_info\":[{\"local\":\"$(reboot)\"}]}]"), [])
    }

    /// A namespace with no address but loopback (`ip -j addr` of a fresh namespace with `lo` up) has
    /// an empty set of addresses, and that places none of the machine's resets in it: only listener
    /// RSTs (a wildcard address, placed by their port) stay. No restriction is `addresses: nil`.
    func testLoopbackOnlyNamespacePlacesNothing() throws {
        let none = try NetnsAddresses.parse(try TraceFixtures.text("ip-j-addr-loopback-only.json"))
        XCTAssertEqual(none, [])
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons())
        let events = c.consume(try TraceFixtures.text("trace/lab-6.18.trace"))
        XCTAssertGreaterThan(events.count, 3)
        let bare = TraceFilter(addresses: none)
        XCTAssertFalse(bare.isEmpty)
        XCTAssertEqual(events.filter(bare.matches).count, events.filter { $0.listener && TraceAddress.isWildcard($0.src) }.count,
                       "a bare namespace keeps only unplaceable listener RSTs")
        XCTAssertFalse(events.filter { !$0.listener }.contains(where: bare.isHere))
        XCTAssertEqual(events.filter(TraceFilter(addresses: nil).matches).count, events.count)
        XCTAssertTrue(TraceFilter().isEmpty)
    }

    func testWatchOutput() throws {
        var c = ResetCorrelator(reasons: try TraceFixtures.reasons())
        let events = c.consume(try TraceFixtures.text("trace/lab-6.18.trace"))
        let line = WatchOutput.line(events[0])
        XCTAssertTrue(line.contains("sent"))
        XCTAssertTrue(line.contains("198.18.0.2:9 > 198.18.0.1:42374"))
        XCTAssertTrue(line.contains("UNKNOWN NO_SOCKET"))
        XCTAssertTrue(line.hasSuffix("-> no-listener"))
        let summary = WatchOutput.summaryText(events, seconds: 10)
        XCTAssertTrue(summary.contains("6 resets in 10s (6 sent, 0 received)"), summary)
        XCTAssertTrue(summary.contains("5 of the sent resets were received by another network namespace of this machine"), summary)
        XCTAssertTrue(summary.contains("accept-queue-overflow"))
        let json = try JSONSerialization.jsonObject(with: Data(WatchOutput.jsonLine(try XCTUnwrap(events.first { $0.reason == "INVALID_SYN" })).utf8)) as? [String: Any]
        XCTAssertEqual(json?["reason"] as? String, "INVALID_SYN")
        XCTAssertEqual(json?["drop_reason"] as? String, "TCP_LISTEN_OVERFLOW")
        XCTAssertEqual(json?["schema"] as? String, WatchOutput.schema)
        let sum = try JSONSerialization.jsonObject(with: Data(WatchOutput.jsonSummary(events, seconds: 1, reasonReported: true, notes: [], filter: TraceFilter(port: 8095)).utf8)) as? [String: Any]
        XCTAssertEqual(sum?["resets"] as? Int, 6, "one RST sent and received on this machine is one reset")
        XCTAssertEqual((sum?["focus"] as? [String: Any])?["port"] as? Int, 8095)
        // Host-derived text never reaches the terminal raw.
        var evil = events[0]
        evil.src = "1.2.3.4\u{1b}]0;pwned\u{07}"
        evil.explain = "\u{1b}[2J"
        XCTAssertFalse(WatchOutput.line(evil).unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 })
        evil.cause = "no-listener"
        XCTAssertFalse(WatchOutput.summaryText([evil], seconds: 1).unicodeScalars.contains { $0.value == 0x1b })
    }
}
