import Foundation
import XCTest

@testable import RSTDCapture

/// Every third-party capture of the corpus: the RSTs found equal tshark's, decoding matches tshark's
/// TCP segment count, and broken files end in a clear error rather than a crash.
final class CaptureCorpusTests: XCTestCase {
    /// Files libpcap refuses to open (tshark reads libpcap__pcap-invalid-version-2, libpcap does not).
    static let unopenable: Set<String> = [
        "libpcap__pcap-invalid-version-1.pcap", "libpcap__pcap-invalid-version-2.pcap",
        "libpcap__pcapng-invalid-vers-1.pcapng", "libpcap__pcapng-invalid-vers-2.pcapng",
        "libpcap__shb-option-too-long.pcapng",
    ]
    /// Files that break part-way: analysed up to the break, with `error` set.
    static let brokenPartWay: Set<String> = [
        "dpkt__truncated_dns_2.pcap", "gopacket__le_test901.pcapng", "ndpi__fuzz-2021-10-13.pcap",
        "suricata-verify__bug-1450-04_tls_DER-incomplete-header.pcap", "suricata-verify__bug-6875-01_fuzz.pcap",
        "suricata-verify__smtp-to-comma_10.7.29.101_49898-178.63.41.150_25.pcap",
    ]

    struct Row: Equatable, CustomStringConvertible {
        var frame: Int, src: String, sport: Int, dst: String, dport: Int
        var description: String { "\(frame) \(src):\(sport) > \(dst):\(dport)" }
    }

    func expected(_ name: String) throws -> [Row] {
        let url = CaptureFixtures.fixtures.appending(path: "tshark/\(name).tsv")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5, let fr = Int(f[0]), let sp = Int(f[2]), let dp = Int(f[4]) else { return nil }
            return Row(frame: fr, src: f[1], sport: sp, dst: f[3], dport: dp)
        }
    }

    func testRSTsEqualTsharksForEveryCorpusCapture() throws {
        let files = try CaptureFixtures.corpusFiles()
        XCTAssertGreaterThanOrEqual(files.count, 80, "the corpus shrank")
        var compared = 0, rsts = 0
        for name in files {
            let want = try expected(name)
            let url = CaptureFixtures.corpus.appending(path: name)
            if Self.unopenable.contains(name) {
                XCTAssertThrowsError(try CaptureFixtures.analyze(url), name) { e in
                    XCTAssertTrue("\(e)".contains("could not read"), "\(name): \(e)")
                }
                XCTAssertEqual(want, [], name)
                continue
            }
            let r = try CaptureFixtures.analyze(url)
            let got = r.resets.map { Row(frame: $0.frame, src: $0.src, sport: $0.sport, dst: $0.dst, dport: $0.dport) }
            XCTAssertEqual(got, want, "\(name): RSTs differ from tshark's")
            XCTAssertEqual(r.rstCount, want.count, name)
            XCTAssertEqual(r.error != nil, Self.brokenPartWay.contains(name), "\(name): error = \(r.error ?? "none")")
            compared += 1
            rsts += got.count
        }
        XCTAssertGreaterThan(compared, 75)
        XCTAssertGreaterThan(rsts, 1400, "the corpus holds over 1400 RSTs (1333 in zeek__llc.pcap alone)")
    }

    /// Decoding depth: as many TCP segments as tshark, except where tshark shows a TCP header we count
    /// as malformed (header length below 20, or an IP length that cuts the TCP header).
    func testTCPSegmentCountsEqualTsharks() throws {
        let text = try String(contentsOf: CaptureFixtures.fixtures.appending(path: "tshark-tcp-counts.tsv"), encoding: .utf8)
        let malformedInTshark: [String: Int] = ["ndpi__reasm_crash_anon.pcapng": 1, "ndpi__fuzz-2006-09-29-28586.pcap": 1]
        var checked = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t").map(String.init)
            guard f.count == 2, let want = Int(f[1]), !Self.unopenable.contains(f[0]) else { continue }
            let r = try CaptureFixtures.analyze(CaptureFixtures.corpus.appending(path: f[0]))
            XCTAssertEqual(r.tcpPackets + (malformedInTshark[f[0]] ?? 0), want, f[0])
            checked += 1
        }
        XCTAssertGreaterThan(checked, 75)
    }

    func testLinkTypesAndTunnelsAreDecoded() throws {
        func r(_ n: String) throws -> CaptureReport { try CaptureFixtures.analyze(CaptureFixtures.corpus.appending(path: n)) }
        XCTAssertEqual(try r("ndpi__vxlan.pcap").tunnels["VXLAN"].map { $0 > 0 }, true)
        XCTAssertEqual(try r("suricata-verify__bug-5437-02.pcap").tunnels["GRE/ERSPAN"].map { $0 > 0 }, true)
        XCTAssertEqual(try r("ndpi__ja3_lots_of_cipher_suites_2_anon.pcap").tunnels["GTP-U"].map { $0 > 0 }, true)
        XCTAssertEqual(try r("zeek__tunnels_4in6.pcap").tunnels["IP-in-IP"].map { $0 > 0 }, true)
        let fddi = try r("zeek__llc.pcap")
        XCTAssertEqual(fddi.linkType, "FDDI")
        XCTAssertEqual(fddi.rstCount, 1333)
        XCTAssertEqual(try r("zeek__nflog-http.pcap").linkType, "NFLOG")
        XCTAssertGreaterThan(try r("zeek__nflog-http.pcap").tcpPackets, 0)
        XCTAssertGreaterThan(try r("zeek__tls_openjdk-25.0.2-zeek.org.pcap").tcpPackets, 0)  // SLL2
        // Several interfaces with different link types: libpcap refuses, the pcapng fallback reads it all.
        let multi = try r("gopacket__be_test100.pcapng")
        XCTAssertNil(multi.error)
        XCTAssertGreaterThan(multi.packets, 1)
        XCTAssertNil(try r("zeek__ldap_gap-data-missing.pcapng").error)
    }

    func testRSTPayloadTextIsShown() throws {
        for name in ["tcpdump__tcp_rst_data.pcap", "tcpdump__tcp_rst_data-trunc.pcap"] {
            let r = try CaptureFixtures.analyze(CaptureFixtures.corpus.appending(path: name))
            let x = try XCTUnwrap(r.resets.first)
            XCTAssertEqual(x.payload?.hasPrefix("BIG-IP: [0x11c5672:3045]"), true, name)
            XCTAssertEqual(x.class, "with-payload-text")
            XCTAssertTrue(CaptureText.render(r).contains("BIG-IP"))
        }
    }
}
