import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class ProcNetstatTests: XCTestCase {
    func parts(_ fixtures: [(String, String)]) throws -> RawOutput {
        RawOutput(parts: try fixtures.map { .init(name: $0.0, text: try TestFiles.fixture("proc-netstat", $0.1)) })
    }

    /// Every counter `nstat -asz` printed in the same namespace must come out with the same name and value.
    func testMatchesNstatInNamespace() throws {
        let facts = try ProcNetstatParser.parse(try parts([
            ("/proc/net/netstat", "netns-netstat.txt"), ("/proc/net/snmp", "netns-snmp.txt"), ("/proc/net/snmp6", "netns-snmp6.txt"),
        ]))
        let nstat = try TestFiles.fixture("proc-netstat", "netns-nstat-asz.txt")
        var compared = 0
        for line in nstat.split(separator: "\n") where !line.hasPrefix("#") {
            let w = line.split(separator: " ", omittingEmptySubsequences: true)
            guard w.count >= 2, let v = Int64(w[1]) else { continue }
            XCTAssertEqual(facts.int("nstat.\(w[0])"), v, String(w[0]))
            compared += 1
        }
        XCTAssertGreaterThan(compared, 300)
        // The scenario: 3 refused connects, one abort on close with unread data, one SO_LINGER 0, 8 overflows.
        XCTAssertEqual(facts.int("nstat.TcpAttemptFails"), 3)
        XCTAssertEqual(facts.int("nstat.TcpExtListenOverflows"), 8)
        XCTAssertEqual(facts.int("nstat.TcpExtTCPAbortOnClose"), 1)
        XCTAssertEqual(facts.int("nstat.TcpExtTCPAbortOnData"), 1)
        XCTAssertEqual(facts.int("nstat.IpExtInOctets"), 2337)
        XCTAssertEqual(facts.int("nstat.Ip6InReceives"), 21)
        XCTAssertEqual(facts.int("nstat.MPTcpExtMPCapableSYNRX"), 0)
        // Linux 6.18 has PAWSTimewait, not the old PAWSPassive; every declared counter is known here.
        XCTAssertNotNil(facts.values["nstat.TcpExtPAWSTimewait"])
        XCTAssertTrue(facts.unknown.isEmpty, "\(facts.unknown)")
    }

    func testHost() throws {
        let facts = try ProcNetstatParser.parse(try parts([("/proc/net/netstat", "host-netstat.txt"), ("/proc/net/snmp", "host-snmp.txt")]))
        XCTAssertEqual(facts.int("nstat.TcpRtoAlgorithm"), 1)
        XCTAssertEqual(facts.int("nstat.TcpMaxConn"), -1)
        XCTAssertNotNil(facts.int("nstat.TcpExtTCPSynRetrans"))
        XCTAssertNil(facts.values["nstat.Ip6InReceives"])
    }

    func testCorpusFiles() throws {
        for file in try TestFiles.corpusFiles("proc") where file.contains("netstat") || file.contains("snmp") {
            let text = try TestFiles.corpus(file)
            if file.contains("netstat_-s") {
                // `netstat -s` prose is another format: it must be refused, not misread.
                XCTAssertThrowsError(try ProcNetstatParser.parse(RawOutput(text)), file)
                continue
            }
            let facts = try ProcNetstatParser.parse(RawOutput(parts: [.init(name: file, text: text)]))
            XCTAssertFalse(facts.values.isEmpty && facts.unknown.isEmpty, file)
        }
        let snmp = try ProcNetstatParser.parse(RawOutput(try TestFiles.corpus("proc/insights-core__proc_net_snmp_doc.txt")))
        XCTAssertEqual(snmp.int("nstat.TcpOutRsts"), 234)
        XCTAssertEqual(snmp.int("nstat.TcpEstabResets"), 6)
        XCTAssertEqual(snmp.int("nstat.UdpIgnoredMulti"), 3565)
        let netstat = try ProcNetstatParser.parse(RawOutput(try TestFiles.corpus("proc/node_exporter__proc_net_netstat")))
        XCTAssertNotNil(netstat.int("nstat.TcpExtListenOverflows"))
        // An older kernel without PAWSTimewait but with PAWSPassive: not reported as unknown.
        XCTAssertNotNil(netstat.int("nstat.TcpExtPAWSPassive"))
        XCTAssertNil(netstat.unknown["nstat.TcpExtPAWSTimewait"])
        let odd = try ProcNetstatParser.parse(RawOutput(try TestFiles.corpus("proc/insights-core__proc_net_snmp6_odd.txt")))
        XCTAssertEqual(odd.int("nstat.Ip6InReceives"), 757)
        XCTAssertEqual(odd.int("nstat.Icmp6InType134"), 62)
        XCTAssertNil(odd.values["nstat.Ip6InDiscards"], "a name without a value is not a zero")
    }

    /// The header lacks SyncookiesSent but the values do not: pairing by position would shift every
    /// TcpExt value by one, so the section is unknown, and IpExt (also one short) too.
    func testMissingKeySectionIsUnknown() throws {
        let text = try TestFiles.corpus("proc/insights-core__proc_net_netstat_missing_key.txt")
        let alone = try ProcNetstatParser.parse(RawOutput(parts: [.init(name: "/proc/net/netstat", text: text)]))
        XCTAssertTrue(alone.values.isEmpty)
        XCTAssertEqual(alone.unknown.count, 112 + 17)
        XCTAssertTrue(alone.unknown["nstat.TcpExtSyncookiesRecv"]?.contains("112 names but the value line has 113") == true)
        // With a good snmp part alongside, the snmp counters survive and TcpExt is unknown with the reason.
        let snmp = try TestFiles.corpus("proc/insights-core__proc_net_snmp.txt")
        let facts = try ProcNetstatParser.parse(RawOutput(parts: [.init(name: "/proc/net/netstat", text: text), .init(name: "/proc/net/snmp", text: snmp)]))
        XCTAssertNil(facts.values["nstat.TcpExtListenOverflows"])
        XCTAssertTrue(facts.unknown["nstat.TcpExtListenOverflows"]?.contains("cannot be trusted") == true)
        XCTAssertNotNil(facts.int("nstat.TcpOutRsts"))
        let mismatch = try ProcNetstatParser.parse(RawOutput(try TestFiles.corpus("proc/insights-core__proc_net_netstat_mismatch.txt")))
        XCTAssertEqual(mismatch.int("nstat.TcpExtSyncookiesSent"), 10)
        XCTAssertEqual(mismatch.int("nstat.IpExtInNoRoutes"), 100)
    }

    func testTruncatedAndGarbage() throws {
        let full = try TestFiles.fixture("proc-netstat", "netns-netstat.txt")
        // Cut in the middle of the TcpExt value line: that section is refused, nothing crashes.
        let cut = String(full.prefix(full.count / 3 + 900))
        _ = try? ProcNetstatParser.parse(RawOutput(cut))
        let short = try ProcNetstatParser.parse(RawOutput("TcpExt: A B\nTcpExt: 1\n"))
        XCTAssertTrue(short.values.isEmpty)
        XCTAssertNotNil(short.unknown["nstat.TcpExtA"])
        XCTAssertThrowsError(try ProcNetstatParser.parse(RawOutput("\u{0}\u{1}binary\u{ff}")))
        XCTAssertTrue(try ProcNetstatParser.parse(RawOutput("")).values.isEmpty)
        let big = try ProcNetstatParser.parse(RawOutput("Tcp: InSegs OutSegs\nTcp: 18446744073709551615 5\n"))
        XCTAssertEqual(big.values["nstat.TcpInSegs"], .uint(18_446_744_073_709_551_615), "u64 counters stay exact, not saturated")
    }
}
