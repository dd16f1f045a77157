import Foundation
import XCTest

/// Stages every scenario on the real kernel and checks, without rstdoctor, that the fault really
/// happened as RST-SIGNALS.md describes (what the application saw, counters, packets, tracepoints).
/// With RSTD_LAB_SAVE_PCAP=1 the captures are written to Fixtures/pcap/<scenario>.pcap.
final class VerifyTests: XCTestCase {
    private var lab: Lab?

    override func setUpWithError() throws {
        if let reason = Lab.unavailableReason() { throw XCTSkip(reason) }
        lab = try Lab()
    }

    override func tearDown() {
        lab?.teardown()
        lab = nil
    }

    func stage(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let lab, let s = Catalog.named(id) else { return XCTFail("no scenario \(id)", file: file, line: line) }
        var pcap: URL? = nil
        if ProcessInfo.processInfo.environment["RSTD_LAB_SAVE_PCAP"] == "1" {
            let dir = Lab.packageRoot.appendingPathComponent("Tests/LabTests/Fixtures/pcap")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            pcap = dir.appendingPathComponent("\(id).pcap")
        }
        let started = Date()
        let ev = try Runner.run(s, in: lab, pcap: pcap)
        print(ev.report(id))
        let failures = s.verify(ev)
        for f in failures { XCTFail("\(id): \(f)", file: file, line: line) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "\(id) took longer than the 30 s a scenario may take", file: file, line: line)
    }

    func testControl() throws { try stage("control") }
    func testNoListener() throws { try stage("no-listener") }
    func testNoListenerV6() throws { try stage("no-listener-v6") }
    func testSynConflict() throws { try stage("syn-conflict") }
    func testAcceptQueueOverflow() throws { try stage("accept-queue-overflow") }
    func testAcceptQueueOverflowAbort0() throws { try stage("accept-queue-overflow-abort0") }
    func testHalfOpenServiceDown() throws { try stage("half-open-after-restart-down") }
    func testHalfOpenServiceUp() throws { try stage("half-open-after-restart-up") }
    func testFirewallResetServer() throws { try stage("firewall-reset-server") }
    func testFirewallResetRouter() throws { try stage("firewall-reset-router") }
    func testFirewallResetRouterV6() throws { try stage("firewall-reset-router-v6") }
    func testFirewallResetRouterClient() throws { try stage("firewall-reset-router-client") }
    func testFirewallResetRouterV6Client() throws { try stage("firewall-reset-router-v6-client") }
    func testFirewallResetServerClient() throws { try stage("firewall-reset-server-client") }
    func testTimeWaitAssassination() throws { try stage("time-wait-assassination") }
    func testTimeWaitRFC1337() throws { try stage("time-wait-rfc1337") }
    func testApplicationAbort() throws { try stage("application-abort") }
    func testApplicationAbortV6() throws { try stage("application-abort-v6") }
    func testIdleTimeout() throws { try stage("idle-timeout") }
    func testUnreadDataClose() throws { try stage("unread-data-close") }
    func testUnreadDataCloseV6() throws { try stage("unread-data-close-v6") }
    func testDuplicateIP() throws { try stage("duplicate-ip") }
    func testBusyPast() throws { try stage("busy-past") }
    func testContainerHostNoListener() throws { try stage("container-host-no-listener") }
    func testConntrackInvalidDNAT() throws { try stage("conntrack-invalid-dnat") }
    func testConntrackInvalidDNATV6() throws { try stage("conntrack-invalid-dnat-v6") }
    func testConntrackInvalidDNATLiberal() throws { try stage("conntrack-invalid-dnat-liberal") }
    func testConntrackInvalidDNATDropped() throws { try stage("conntrack-invalid-dnat-dropped") }
    func testConntrackInvalidDNATFromBackend() throws { try stage("conntrack-invalid-dnat-from-backend") }
    func testConntrackInvalidDNATFromClient() throws { try stage("conntrack-invalid-dnat-from-client") }
    func testConntrackTableFullStandIn() throws { try stage("conntrack-table-full-standin") }
    func testSynFloodCookies() throws { try stage("syn-flood-cookies") }
    func testSynFloodDrop() throws { try stage("syn-flood-drop") }
    func testSynFloodCookiesV6() throws { try stage("syn-flood-cookies-v6") }
    func testSynFloodDropV6() throws { try stage("syn-flood-drop-v6") }
    func testPawsEstab() throws { try stage("paws-estab") }
    func testPawsActive() throws { try stage("paws-active") }
}

/// Every scenario of the catalogue is staged by exactly one test of `VerifyTests`, and ids are unique.
/// Kept apart from `VerifyTests` so it runs where the lab cannot (no root, no namespaces).
final class VerifyCoverageTests: XCTestCase {
    func testCatalogueIsCovered() throws {
        let ids = Catalog.all.map(\.id)
        XCTAssertEqual(Set(ids).count, ids.count, "duplicate scenario ids")
        // The staged ids, read from the tests' own source: `try stage("ID")`, one test each.
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let staged = source.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("func test"), let open = line.range(of: "try stage(\""),
                  let close = line[open.upperBound...].firstIndex(of: "\"") else { return nil }
            return String(line[open.upperBound..<close])
        }
        XCTAssertGreaterThan(staged.count, 0, "no `try stage(\"ID\")` test found in \(#filePath)")
        for id in Set(staged) where staged.filter({ $0 == id }).count > 1 { XCTFail("scenario \(id) is staged by several tests") }
        for id in ids where !staged.contains(id) { XCTFail("scenario \(id) of the catalogue has no test in VerifyTests") }
        for id in staged where Catalog.named(id) == nil { XCTFail("VerifyTests stages \(id), which is not in the catalogue") }
    }
}
