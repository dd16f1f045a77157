import Foundation
import XCTest

@testable import RSTDCapture
@testable import RSTDCore
@testable import RSTDData

/// The class knowledge, the facts, the JSON shape, the BPF filter and the memory bound.
final class CaptureModelTests: XCTestCase {
    func testClassesFileDefinesEveryClassWithKnownCauses() throws {
        let c = try CaptureFixtures.classes()
        for k in RSTClass.allCases {
            XCTAssertFalse(c[k].explain.isEmpty, k.rawValue)
            if let cause = c[k].cause { XCTAssertTrue(CauseIDs.all.contains(cause), cause) }
        }
        XCTAssertEqual(c[.synAnswer].cause, "no-listener")
        XCTAssertEqual(c[.challengeAckAnswer].cause, "syn-conflict")
        XCTAssertEqual(c[.injectedMAC].cause, "duplicate-ip")
        XCTAssertNil(c[.afterReset].cause)
    }

    func testEmbeddedClassesEqualTheFile() throws {
        let file = try CaptureFixtures.classes()
        let embedded = try CaptureClasses.embedded()
        XCTAssertEqual(file.byClass, embedded.byClass)
    }

    func testClassesLoaderRejectsMistakes() throws {
        let good = try String(contentsOf: CaptureFixtures.root.appending(path: "knowledge/capture-classes.yaml"), encoding: .utf8)
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "cause: no-listener", with: "cause: no-such-cause"), "not a cause id"),
            (good.replacingOccurrences(of: "id: after-reset", with: "id: after-resett"), "unknown class"),
            (good.replacingOccurrences(of: "{sender} answered {answered}", with: "{sendr} answered {answered}"), "unknown placeholder"),
            (good.replacingOccurrences(of: "id: no-context", with: "id: mid-stream"), "defined twice"),
            ("classes: []\n", "not defined"),
            ("classes: [\n", "not valid YAML"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try CaptureClasses.load(yaml: text)) { e in
                XCTAssertTrue("\(e)".contains(message), "expected '\(message)' in: \(e)")
            }
        }
    }

    func testTemplateRendering() {
        XCTAssertEqual(CaptureClasses.render("{a} and {b}, {c}", ["a": "1", "b": "2"]), "1 and 2, {c}")
        XCTAssertEqual(CaptureClasses.render("open { brace", [:]), "open { brace")
        XCTAssertEqual(CaptureClasses.names(in: "x {a} {b}"), ["a", "b"])
    }

    /// The facts match their declaration in checks/capture.yaml, field by field and type by type.
    func testFactsMatchTheCheckDeclaration() throws {
        let text = try String(contentsOf: CaptureFixtures.root.appending(path: "checks/capture.yaml"), encoding: .utf8)
        let check = try CheckDefinition.load(YNode.load(text, file: "checks/capture.yaml"))
        XCTAssertEqual(check.action, .builtin("capture"))
        XCTAssertEqual(check.step, "packet-sniffer")
        XCTAssertTrue(check.optIn)
        let r = try CaptureFixtures.lab("router-reject")
        let facts = CaptureFacts.facts(r).values
        XCTAssertEqual(Set(facts.keys), Set(check.facts.map(\.key)))
        for d in check.facts {
            let v = try XCTUnwrap(facts[d.key], d.key)
            XCTAssertEqual(v.type, d.type, d.key)
            if case .records(let rows) = v {
                XCTAssertEqual(rows.count, 2)
                // `local`, `stack_sent`, `trace_covered` and `time_wait_kept` are added by `check --observe`, which joins the
                // capture with the host's addresses, the kernel trace and `ss` (Collect/Observe.swift, TimeWaitJoin.swift).
                let joined: Set<String> = ["local", "stack_sent", "trace_covered", "time_wait_kept"]
                for row in rows {
                    XCTAssertEqual(Set(row.keys), Set(d.fields.keys).subtracting(joined))
                    for (k, t) in d.fields where !joined.contains(k) { XCTAssertEqual(row[k]?.type, t, "\(d.key).\(k)") }
                }
            }
        }
        XCTAssertEqual(facts["capture.rst.count"], .int(2))
        if case .records(let rows) = facts["capture.resets"] {
            XCTAssertEqual(rows.first?["cause"], .string("firewall-reset"))
            XCTAssertEqual(rows.first?["ttl_delta"], .int(1))
        }
        XCTAssertEqual(CaptureFacts.store(r).first?.source.check, "capture")
    }

    func testJSONShape() throws {
        let r = try CaptureFixtures.lab("no-listener")
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.json().utf8)) as? [String: Any])
        XCTAssertEqual(obj["schema"] as? String, "rstdoctor.capture/2")
        for k in ["packets", "malformed", "flows", "resets", "resets_by_cause", "conn_states", "not_decoded"] {
            XCTAssertNotNil(obj[k], k)
        }
        let reset = try XCTUnwrap((obj["resets"] as? [[String: Any]])?.first)
        for k in ["frame", "time", "src", "sport", "dst", "dport", "flags", "seq", "ack", "class", "cause", "explain",
                  "sender", "answered", "stateless", "ttl_delta", "idle_before"] {
            XCTAssertNotNil(reset[k], k)
        }
        XCTAssertEqual(reset["frame"] as? Int, 2, "frames are numbered from 1")
        XCTAssertEqual(reset["dport"] as? Int, r.resets.first?.dport)
        // A class without a single cause still has the key, as null.
        let rst = try CaptureFixtures.analyze(CaptureFixtures.corpus.appending(path: "zeek__tcp_single-rst.pcap"))
        XCTAssertTrue(rst.json().contains("\"cause\":null"))
        let back = try JSONDecoder().decode(CaptureReport.self, from: Data(r.json().utf8))
        XCTAssertEqual(back.resets, r.resets)
    }

    func testBPFFilterCompiles() {
        for (port, peer) in [(nil, nil), (UInt16(8080), nil), (nil, "198.18.0.1"), (UInt16(443), "fd00:5253:5444::1")] as [(UInt16?, String?)] {
            let f = BPFFilter.build(port: port, peer: peer)
            XCTAssertNil(BPFFilter.compileError(f), f)
            XCTAssertTrue(f.contains("vlan"), "Ethernet captures match tagged frames too")
            for lt in [LinkType.linuxSLL, LinkType.linuxSLL2, LinkType.raw, LinkType.null] {
                let g = BPFFilter.build(port: port, peer: peer, linkType: lt)
                XCTAssertNil(BPFFilter.compileError(g, linkType: lt), "\(g) on DLT \(lt)")
            }
            if let port { XCTAssertTrue(f.contains("port \(port)")) }
        }
        // Only validated addresses reach the filter.
        XCTAssertFalse(BPFFilter.build(port: nil, peer: "1.2.3.4 or tcp").contains("or tcp"))
        XCTAssertNotNil(BPFFilter.compileError("tcp and port"))
    }

    /// However many connections a capture has, the tracker holds at most `maxFlows`.
    func testTrackedFlowsStayBounded() throws {
        let a = CaptureAnalyzer(classes: try CaptureFixtures.classes(), options: CaptureOptions(maxFlows: 1000, maxListedResets: 10), source: "synthetic", linkType: LinkType.ethernet)
        var p = DecodedPacket()
        let buf = UnsafeRawBufferPointer(start: nil, count: 0)
        var peak = 0
        for i in 0..<50_000 {
            p.frame = UInt64(i + 1)
            p.time = Double(i) * 0.001
            p.src = IPAddress(v4: 0xC612_0001)
            p.dst = IPAddress(v4: 0xC612_0100 &+ UInt32(i % 200))
            p.sport = UInt16(1024 + i % 60000)
            p.dport = 80
            p.flags = i % 7 == 0 ? TCPFlag.rst : TCPFlag.syn
            a.feed(p, frame: buf)
            peak = max(peak, a.trackedFlows)
        }
        XCTAssertLessThanOrEqual(peak, 1000)
        let r = a.report()
        XCTAssertEqual(r.resets.count, 10)
        XCTAssertEqual(r.resetsNotListed, r.rstCount - 10)
        XCTAssertEqual(r.connStates.values.reduce(0, +), r.flows, "every connection is accounted for once, evicted or not")
    }
}
