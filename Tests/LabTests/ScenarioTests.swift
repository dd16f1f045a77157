import Foundation
import XCTest

/// Runs rstdoctor against every lab scenario: `check --observe` started before the fault and a
/// plain `check` after it, both `--netns NS --port P --peer ADDR --format json`, and asserts the
/// ranking (see `Verdict`).
///
/// Until the rules of a cause exist, its scenario is listed in `pending`: the assertions still run,
/// a miss is printed as a known gap instead of failing, and a pass FAILS the test with a request to
/// remove the id from `pending` — like XCTExpectFailure (which swift-corelibs-xctest lacks), so the
/// list can only shrink. The integrator empties it as the rules land.
final class ScenarioTests: LabTestCase {
    /// Known gaps (see Tests/LabTests/README.md and the issue note). None today: the conntrack INVALID
    /// scenarios left it when the capture learned to tie a RST to a connection under other addresses
    /// (knowledge/capture-classes.yaml: untranslated-answer, after-untranslated-reset, beyond-window-answer).
    ///
    /// paws-active: `--observe` passes (paws-timestamps 0.75); the plain check after the fact sees only
    /// PAWSActive 1 in the counters' history, which no rule reads (`paws-share` needs more than 10),
    /// so half-open-after-restart's 0.04 ranks above paws-timestamps' 0.02.
    static let pending: Set<String> = ["paws-active"]

    func diagnose(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let lab, let s = Catalog.named(id) else { return XCTFail("no scenario \(id)", file: file, line: line) }
        let (ev, observe, plain) = try Diagnose.run(s, in: lab, binary: binary)
        // The fault must have happened, or the diagnosis means nothing.
        for f in s.verify(ev) { XCTFail("\(id): the fault did not happen as staged: \(f)", file: file, line: line) }
        var problems: [String] = []
        Self.dump(id, [observe, plain])
        for d in [observe, plain] {
            print("\(id) [\(d.mode)] exit \(d.status.map(String.init) ?? "timeout"): \(d.top3)")
            if d.mode == "plain" && !s.visibleAfterTheFact {
                print("\(id) [plain]: not judged — this cause leaves nothing in host state after the fact; asserted with --observe")
                continue
            }
            problems += Verdict.judge(d, expected: s.expectedCause, tolerated: s.tolerated, indistinct: s.indistinct, findings: s.findings)
            for f in s.findings { print("\(id) [\(d.mode)] finding \(f): \(d.finding(f).map { String(format: "%.2f", $0) } ?? "absent")") }
            problems += FindingGaps.check(d, of: s)
        }
        if Self.pending.contains(id) {
            if problems.isEmpty {
                XCTFail("\(id) now passes: remove it from ScenarioTests.pending so it stays passing", file: file, line: line)
            } else {
                for p in problems { print("KNOWN GAP \(id): \(p)") }
            }
        } else {
            for p in problems { XCTFail("\(id): \(p)", file: file, line: line) }
        }
    }

    /// With RSTD_LAB_DUMP=DIR, each run's JSON (stdout) and stderr are written to
    /// DIR/<scenario>.<mode>.json / .stderr, to see the rules that fired and the reset records.
    static func dump(_ id: String, _ runs: [Diagnosis]) {
        guard let dir = ProcessInfo.processInfo.environment["RSTD_LAB_DUMP"], !dir.isEmpty else { return }
        let base = URL(fileURLWithPath: dir)
        try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        for d in runs {
            try? d.stdout.write(to: base.appendingPathComponent("\(id).\(d.mode).json"), atomically: true, encoding: .utf8)
            try? d.stderr.write(to: base.appendingPathComponent("\(id).\(d.mode).stderr"), atomically: true, encoding: .utf8)
        }
    }

    func testControl() throws { try diagnose("control") }
    func testNoListener() throws { try diagnose("no-listener") }
    func testNoListenerV6() throws { try diagnose("no-listener-v6") }
    func testSynConflict() throws { try diagnose("syn-conflict") }
    func testAcceptQueueOverflow() throws { try diagnose("accept-queue-overflow") }
    func testAcceptQueueOverflowAbort0() throws { try diagnose("accept-queue-overflow-abort0") }
    func testHalfOpenServiceDown() throws { try diagnose("half-open-after-restart-down") }
    func testHalfOpenServiceUp() throws { try diagnose("half-open-after-restart-up") }
    func testFirewallResetServer() throws { try diagnose("firewall-reset-server") }
    func testFirewallResetRouter() throws { try diagnose("firewall-reset-router") }
    func testFirewallResetRouterV6() throws { try diagnose("firewall-reset-router-v6") }
    func testFirewallResetRouterClient() throws { try diagnose("firewall-reset-router-client") }
    func testFirewallResetRouterV6Client() throws { try diagnose("firewall-reset-router-v6-client") }
    func testFirewallResetServerClient() throws { try diagnose("firewall-reset-server-client") }
    func testTimeWaitAssassination() throws { try diagnose("time-wait-assassination") }
    func testTimeWaitRFC1337() throws { try diagnose("time-wait-rfc1337") }
    func testApplicationAbort() throws { try diagnose("application-abort") }
    func testApplicationAbortV6() throws { try diagnose("application-abort-v6") }
    func testIdleTimeout() throws { try diagnose("idle-timeout") }
    func testUnreadDataClose() throws { try diagnose("unread-data-close") }
    func testUnreadDataCloseV6() throws { try diagnose("unread-data-close-v6") }
    func testDuplicateIP() throws { try diagnose("duplicate-ip") }
    func testBusyPast() throws { try diagnose("busy-past") }
    func testContainerHostNoListener() throws { try diagnose("container-host-no-listener") }
    func testConntrackInvalidDNAT() throws { try diagnose("conntrack-invalid-dnat") }
    func testConntrackInvalidDNATV6() throws { try diagnose("conntrack-invalid-dnat-v6") }
    func testConntrackInvalidDNATLiberal() throws { try diagnose("conntrack-invalid-dnat-liberal") }
    func testConntrackInvalidDNATDropped() throws { try diagnose("conntrack-invalid-dnat-dropped") }
    func testConntrackInvalidDNATFromBackend() throws { try diagnose("conntrack-invalid-dnat-from-backend") }
    func testConntrackInvalidDNATFromClient() throws { try diagnose("conntrack-invalid-dnat-from-client") }
    func testConntrackTableFullStandIn() throws { try diagnose("conntrack-table-full-standin") }
    func testSynFloodCookies() throws { try diagnose("syn-flood-cookies") }
    func testSynFloodDrop() throws { try diagnose("syn-flood-drop") }
    func testSynFloodCookiesV6() throws { try diagnose("syn-flood-cookies-v6") }
    func testSynFloodDropV6() throws { try diagnose("syn-flood-drop-v6") }
    func testPawsEstab() throws { try diagnose("paws-estab") }
    func testPawsActive() throws { try diagnose("paws-active") }
}
