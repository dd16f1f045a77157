import Foundation
import XCTest

@testable import RSTDCapture

/// The decoder's fast path (PacketDecoder+Fast.swift) must decode every frame it takes exactly as the
/// general path does, and leave every frame it declines untouched: both are held to that on every
/// frame of the repository's captures (tunnels, VLANs, fragments, extension headers, cut frames…) and
/// on frames made to sit at the edges of what the fast path takes.
final class PacketDecoderFastPathTests: XCTestCase {
    private struct Tally { var taken = 0, declined = 0, declinedTCP = 0 }

    /// Decodes `frame` both ways from the same earlier packet (fields a frame does not write keep the
    /// earlier packet's values, so that state is part of the comparison) and compares every field.
    private func compare(_ frame: UnsafeRawBufferPointer, linkType: Int32, after earlier: DecodedPacket,
                         _ tally: inout Tally, _ what: @autoclosure () -> String) -> DecodedPacket {
        var general = earlier
        var generalDecoder = PacketDecoder(linkType: linkType)
        let outcome = generalDecoder.decodeGeneral(frame, into: &general)
        var whole = earlier
        var decoder = PacketDecoder(linkType: linkType)
        XCTAssertEqual(decoder.decode(frame, into: &whole), outcome, what())
        XCTAssertEqual(decoder.undecoded, generalDecoder.undecoded, what())
        XCTAssertEqual(String(describing: whole), String(describing: general), what())
        guard linkType == LinkType.ethernet else { return general }
        var fast = earlier
        if PacketDecoder.ethernetTCP(frame, &fast) {
            tally.taken += 1
            XCTAssertEqual(outcome, .tcp, what())
            XCTAssertEqual(String(describing: fast), String(describing: general), what())
        } else {
            tally.declined += 1
            if outcome == .tcp { tally.declinedTCP += 1 }
            XCTAssertEqual(String(describing: fast), String(describing: earlier), "declined, yet written: " + what())
        }
        return general
    }

    func testFastPathAgreesWithGeneralPathOnEveryFixtureFrame() throws {
        let dirs = [CaptureFixtures.corpus, CaptureFixtures.fixtures.appending(path: "lab"), CaptureLabScenarioTests.dir]
        var tally = Tally()
        var files = 0
        for dir in dirs {
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            for name in names where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
                // Files libpcap refuses (bad versions, damaged headers) are the readers' tests' business.
                guard let handle = try? PcapHandle.open(file: dir.appending(path: name).path) else { continue }
                defer { handle.close() }
                files += 1
                var p = DecodedPacket()
                var frame = 0
                while case .packet(let buf, _, _) = handle.next() {
                    frame += 1
                    p = compare(buf, linkType: handle.linkType, after: p, &tally, "\(name) frame \(frame)")
                }
            }
        }
        XCTAssertGreaterThan(files, 80)
        // Both ways taken: common frames by the fast path, VLAN, QinQ, tunnels, IPv4 options and IPv6
        // extension headers carrying TCP by the general path alone.
        XCTAssertGreaterThan(tally.taken, 1000)
        XCTAssertGreaterThan(tally.declinedTCP, 10)
    }

    /// Ethernet/IPv4/TCP with timestamps, then changed at each place the fast path checks.
    func testFramesAtTheEdgesOfTheFastPath() {
        func v4(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
            f += [0x45, 0, 0, 56, 0, 7, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]
            f += [0x04, 0xD2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0x14, 1, 0, 0, 0, 0, 0]
            f += [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 0x61, 0x62, 0x63, 0x64]
            change(&f)
            return f
        }
        func v6(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xDD]
            f += [0x60, 0x01, 0x23, 0x45, 0, 24, 6, 64] + [UInt8](repeating: 0x20, count: 16) + [UInt8](repeating: 0x30, count: 16)
            f += [0x04, 0xD2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x04, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
            change(&f)
            return f
        }
        let frames: [(String, [UInt8])] = [
            ("v4 timestamps", v4 { _ in }),
            ("v4 TSO total 0", v4 { $0[16] = 0; $0[17] = 0 }),
            ("v4 total below the header", v4 { $0[17] = 19 }),
            ("v4 total cutting the TCP header", v4 { $0[17] = 39 }),
            ("v4 total cutting the options", v4 { $0[17] = 50 }),
            ("v4 total cutting the payload", v4 { $0[17] = 54 }),
            ("v4 total beyond the frame", v4 { $0[16] = 5 }),
            ("v4 more fragments, offset 0", v4 { $0[20] = 0x20 }),
            ("v4 fragment", v4 { $0[21] = 1 }),
            ("v4 options", v4 { $0[14] = 0x46 }),
            ("v4 not TCP", v4 { $0[23] = 17 }),
            ("v4 version 5", v4 { $0[14] = 0x55 }),
            ("v4 data offset 4", v4 { $0[46] = 0x40 }),
            ("v4 data offset 5", v4 { $0[46] = 0x50 }),
            ("v4 data offset 15", v4 { $0[46] = 0xF0 }),
            ("v4 flags with AE and reserved bits", v4 { $0[46] = 0x8F; $0[47] = 0xFF }),
            ("v4 timestamp option moved", v4 { $0[54] = 8; $0[55] = 10; $0[64] = 1; $0[65] = 1 }),
            ("v4 SYN options", v4 { $0[54...65] = [3, 3, 7, 4, 2, 2, 4, 5, 0xB4, 1, 1, 0] }),
            ("v4 end of options", v4 { $0[54] = 0 }),
            ("v4 cut in the options", v4 { $0.removeLast(10) }),
            ("v4 cut in the TCP header", v4 { $0.removeLast(30) }),
            ("v4 VLAN", v4 { $0.insert(contentsOf: [0x81, 0x00, 0, 5], at: 12) }),
            ("v6", v6 { _ in }),
            ("v6 jumbogram", v6 { $0[18] = 0; $0[19] = 0 }),
            ("v6 payload length cutting the TCP header", v6 { $0[19] = 10 }),
            ("v6 payload length beyond the frame", v6 { $0[18] = 1 }),
            ("v6 hop-by-hop", v6 { $0[20] = 0 }),
            ("v6 version 4", v6 { $0[14] = 0x40 }),
            ("v6 cut", v6 { $0.removeLast(8) }),
            ("runt", Array(v4 { _ in }.prefix(53))),
        ]
        var tally = Tally()
        // Earlier packets with every field set, so that a field one path writes and the other does not shows.
        var earlier = DecodedPacket()
        earlier.tsVal = 77
        earlier.tsEcr = 78
        earlier.wscale = 5
        earlier.tunnel = .gre
        earlier.ifindex = 3
        earlier.hasOptions = true
        earlier.payloadLength = 999
        for (what, bytes) in frames {
            bytes.withUnsafeBytes { buf in
                _ = compare(buf, linkType: LinkType.ethernet, after: earlier, &tally, what)
            }
        }
        XCTAssertEqual(tally.taken, 16)
        XCTAssertEqual(tally.declined, 14)
    }
}
