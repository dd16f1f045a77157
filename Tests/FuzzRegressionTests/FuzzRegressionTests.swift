import Foundation
import XCTest

import RSTDoctorFuzz

/// Replays, in every `make test`, each input that once crashed, hung or over-allocated a fuzz target
/// (Tests/Fixtures/fuzz/<target>/, kept when `make fuzz` found it and the bug was fixed), and a few
/// thousand deterministic mutations of small real inputs, so a regression fails here before anyone
/// runs the fuzzer again. A crash takes the test process down: the failing input is the last one
/// named in the output.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Fixtures/fuzz")

    func testEveryFixtureDirectoryNamesATarget() throws {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path)) ?? []
        for d in dirs where !d.hasPrefix(".") && d != "README.md" {
            XCTAssertNotNil(FuzzTargets.target(d), "Tests/Fixtures/fuzz/\(d) is not a fuzz target: one of \(FuzzTargets.all.map(\.name))")
        }
    }

    func testRegressionInputsStillRun() throws {
        var ran = 0
        var targets = Set<String>()
        for (name, body) in FuzzTargets.all {
            let dir = Self.fixtures.appendingPathComponent(name)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            for f in files {
                let data = try Data(contentsOf: dir.appendingPathComponent(f))
                print("fuzz regression \(name)/\(f)")
                body([UInt8](data))
                ran += 1
                targets.insert(name)
            }
        }
        print("fuzz regressions replayed: \(ran) for \(targets.sorted())")
        // An empty or misplaced folder would make this test pass while replaying nothing.
        XCTAssertGreaterThanOrEqual(targets.count, 5, "Tests/Fixtures/fuzz holds inputs for only \(targets.sorted())")
        XCTAssertGreaterThanOrEqual(ran, 10, "Tests/Fixtures/fuzz holds only \(ran) inputs")
    }

    /// Seeds every target with a real input shape (a short capture, parser output, an expression, a
    /// knowledge file) and runs byte flips, truncations and splices of it with a fixed PRNG seed.
    func testDeterministicMutationsDoNotCrash() throws {
        let seeds: [String: [UInt8]] = [
            "packet": [0] + frame(step: 0, Self.synEthernet) + frame(step: 1, Self.synEthernet) + frame(step: 255, Self.synEthernet),
            "ss": [0] + Array("ESTAB 0 0 198.18.0.1:8080 198.18.0.2:40000 users:((\"x\",pid=1,fd=3)) timer:(keepalive,1min,0) ino:1 sk:1 <->\n".utf8),
            "nft-json": Array(#"{"nftables":[{"rule":{"family":"inet","table":"t","chain":"c","handle":3,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":8080}},{"reject":{"type":"tcp reset"}}]}}]}"#.utf8),
            "iptables-save": Array("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset\nCOMMIT\n".utf8),
            "kernel-log": Array("2026-11-21T19:56:24+0000 vm kernel: TCP: request_sock_TCP: Possible SYN flooding on port 198.18.0.1:8181. Sending cookies.\n".utf8),
            "trace-line": [0] + Array("<idle>-0 [001] ..s1. 387.282963: tcp_send_reset: skbaddr=0x1 skaddr=0x0 src=198.18.1.2:8080 dest=198.18.1.1:40000 state=TCP_CLOSE reason=NO_SOCKET\n".utf8),
            "expression": Array("any(sockets.list, state == \"ESTAB\" && recv_q > 0) || sysctl.net.ipv4.tcp_abort_on_overflow == 1".utf8),
            "knowledge-yaml": [0] + Array("id: x\ntitle: y\nrun: [\"ss\", \"-H\"]\nfacts:\n  a.b: int\n".utf8),
            "host-parsers": [0] + Array("net.ipv4.tcp_abort_on_overflow = 1\n".utf8),
            "capture-file": Self.pcap(Self.synEthernet),
        ]
        var rng = SplitMix(seed: 0x5253_5444)
        var runs = 0
        for (name, body) in FuzzTargets.all {
            let seed = try XCTUnwrap(seeds[name], "no seed for the fuzz target \(name): add one here")
            body(seed)
            for _ in 0..<(name == "knowledge-yaml" ? 20 : 300) {
                body(mutate(seed, &rng))
                runs += 1
            }
        }
        XCTAssertGreaterThan(runs, 2000)
    }

    // MARK: - Inputs

    /// A TCP SYN 198.18.0.2:40000 → 198.18.0.1:8080 in an Ethernet frame.
    static let synEthernet: [UInt8] = {
        var f: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]
        f += [0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1]
        f += [0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]
        return f
    }()

    func frame(step: UInt8, _ f: [UInt8]) -> [UInt8] { [step, UInt8(f.count & 0xff), UInt8(f.count >> 8)] + f }

    /// A classic little-endian pcap file (Ethernet) holding `f` twice.
    static func pcap(_ f: [UInt8]) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var out = le32(0xa1b2_c3d4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(1)
        for i in 0..<2 { out += le32(1_700_000_000 + UInt32(i)) + le32(0) + le32(UInt32(f.count)) + le32(UInt32(f.count)) + f }
        return out
    }

    func mutate(_ s: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var b = s
        for _ in 0..<(1 + Int(rng.next() % 8)) {
            switch rng.next() % 5 {
            case 0 where !b.isEmpty: b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
            case 1 where !b.isEmpty: b.removeLast(Int(rng.next() % UInt64(b.count)))
            case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(b.count + 1)))
            case 3 where b.count > 1:
                let i = Int(rng.next() % UInt64(b.count)), n = Int(rng.next() % UInt64(b.count - i))
                b.insert(contentsOf: b[i..<i + n], at: Int(rng.next() % UInt64(b.count + 1)))
            default: b.append(contentsOf: [0xff, 0x00, 0x7f, 0x80][Int(rng.next() % 4)...])
            }
        }
        return b
    }
}

/// A small deterministic PRNG (SplitMix64), so a failing mutation reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
