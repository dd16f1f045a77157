import Foundation
import XCTest

/// The acceptance rule applied to rstdoctor's JSON; needs no root and no lab.
final class VerdictTests: XCTestCase {
    func d(_ json: String, status: Int32? = 1, mode: String = "observe") -> Diagnosis {
        Diagnosis(mode: mode, argv: [], status: status, stdout: json, stderr: "")
    }

    /// A plain check after the fault has only state now and history: first is enough, but nothing
    /// else may reach 0.5.
    func testPlainModeNeedsFirstButNoThreshold() {
        let weak = d(#"{"causes":[{"id":"application-abort","probability":0.2},{"id":"no-listener","probability":0.05}]}"#, mode: "plain")
        XCTAssertEqual(Verdict.judge(weak, expected: "application-abort", tolerated: []), [])
        let wrong = d(#"{"causes":[{"id":"no-listener","probability":0.3},{"id":"application-abort","probability":0.2}]}"#, mode: "plain")
        XCTAssertEqual(Verdict.judge(wrong, expected: "application-abort", tolerated: []).count, 1)
        let half = d(#"{"causes":[{"id":"application-abort","probability":0.9},{"id":"no-listener","probability":0.5}]}"#, mode: "plain")
        XCTAssertEqual(Verdict.judge(half, expected: "application-abort", tolerated: []).count, 1, "0.5 is already confidently wrong")
    }

    func testExpectedCauseMustRankFirstWithSeventyPercent() {
        let good = d(#"{"schema":"rstdoctor.check/1","causes":[{"id":"no-listener","probability":0.3},{"id":"accept-queue-overflow","probability":0.93}]}"#)
        XCTAssertEqual(Verdict.judge(good, expected: "accept-queue-overflow", tolerated: []), [])
        XCTAssertEqual(good.top, RankedCause(id: "accept-queue-overflow", probability: 0.93))
        let weak = d(#"{"causes":[{"id":"accept-queue-overflow","probability":0.69}]}"#)
        XCTAssertEqual(Verdict.judge(weak, expected: "accept-queue-overflow", tolerated: []).count, 1)
        let wrong = d(#"{"causes":[{"id":"no-listener","probability":0.9},{"id":"accept-queue-overflow","probability":0.8}]}"#)
        XCTAssertEqual(Verdict.judge(wrong, expected: "accept-queue-overflow", tolerated: []).count, 2, "wrong first, and an unrelated cause above 0.5")
    }

    func testUnrelatedCauseAboveHalfFails() {
        let x = d(#"{"causes":[{"id":"firewall-reset","probability":0.95},{"id":"idle-timeout","probability":0.51}]}"#)
        XCTAssertEqual(Verdict.judge(x, expected: "firewall-reset", tolerated: []).count, 1)
        XCTAssertEqual(Verdict.judge(x, expected: "firewall-reset", tolerated: ["idle-timeout"]), [])
    }

    func testControlNeedsExitZeroAndNothingAboveThirtyPercent() {
        let quiet = d(#"{"causes":[{"id":"no-listener","probability":0.05}]}"#, status: 0)
        XCTAssertEqual(Verdict.judge(quiet, expected: nil, tolerated: []), [])
        let exit1 = d(#"{"causes":[{"id":"no-listener","probability":0.05}]}"#, status: 1)
        XCTAssertEqual(Verdict.judge(exit1, expected: nil, tolerated: []).count, 1)
        let noisy = d(#"{"causes":[{"id":"no-listener","probability":0.31}]}"#, status: 0)
        XCTAssertEqual(Verdict.judge(noisy, expected: nil, tolerated: []).count, 1)
        // A contrast tolerates its own cause and does not require exit 0.
        let contrast = d(#"{"causes":[{"id":"accept-queue-overflow","probability":0.8}]}"#, status: 1)
        XCTAssertEqual(Verdict.judge(contrast, expected: nil, tolerated: ["accept-queue-overflow"]), [])
    }

    /// Findings (rstdoctor.check/3 `findings[]`: causes that make no RST) are never judged as causes;
    /// a scenario's finding ranked among the causes (an old binary) is a problem, and with findings
    /// named, no cause of resets may reach 0.3.
    func testFindingsAreNotCausesOfResets() {
        let seen = d(#"{"causes":[{"id":"no-listener","probability":0.05}],"#
                     + #""findings":[{"id":"conntrack-table-full","probability":0.97}]}"#, status: 0)
        XCTAssertEqual(seen.finding("conntrack-table-full"), 0.97)
        XCTAssertNil(seen.finding("syn-flood"))
        XCTAssertNil(d(#"{"causes":[]}"#).finding("syn-flood"), "no findings array: nil")
        XCTAssertEqual(Verdict.judge(seen, expected: nil, tolerated: [], findings: ["conntrack-table-full"]), [])
        let ranked = d(#"{"causes":[{"id":"conntrack-table-full","probability":0.2}]}"#, status: 0)
        XCTAssertEqual(Verdict.judge(ranked, expected: nil, tolerated: [], findings: ["conntrack-table-full"]).count, 1)
        let edge = d(#"{"causes":[{"id":"idle-timeout","probability":0.3}]}"#, status: 0)
        XCTAssertEqual(Verdict.judge(edge, expected: nil, tolerated: []), [], "a plain control allows 0.3 itself")
        XCTAssertEqual(Verdict.judge(edge, expected: nil, tolerated: [], findings: ["conntrack-table-full"]).count, 1,
                       "≥ 0.3 with findings")
    }

    func testIndistinctCausesOnTopInAnyOrderAndSaidSo() {
        let both: Set<String> = ["firewall-reset", "no-listener"]
        let said = d(#"{"causes":[{"id":"no-listener","probability":0.6},{"id":"firewall-reset","probability":0.4}],"x":"cannot tell"}"#)
        XCTAssertEqual(Verdict.judge(said, expected: "firewall-reset", tolerated: [], indistinct: both), [])
        let silent = d(#"{"causes":[{"id":"firewall-reset","probability":0.6},{"id":"no-listener","probability":0.4}]}"#)
        XCTAssertEqual(Verdict.judge(silent, expected: "firewall-reset", tolerated: [], indistinct: both).count, 1, "must say so")
        let third = d(#"{"causes":[{"id":"firewall-reset","probability":0.6},{"id":"half-open-after-restart","probability":0.5},{"id":"no-listener","probability":0.4}],"x":"cannot tell"}"#)
        XCTAssertEqual(Verdict.judge(third, expected: "firewall-reset", tolerated: [], indistinct: both).count, 2, "another cause between them, at 0.5")
        let faint = d(#"{"causes":[{"id":"firewall-reset","probability":0.9},{"id":"no-listener","probability":0.1}],"x":"cannot tell"}"#)
        XCTAssertEqual(Verdict.judge(faint, expected: "firewall-reset", tolerated: [], indistinct: both).count, 1, "0.1 is no contender")
    }

    func testOutputThatIsNotTheJSONFails() {
        for bad in ["", "Error: Unknown option '--netns'", #"{"causes":"x"}"#, #"{"causes":[{"id":"a"}]}"#, "[1,2"] {
            XCTAssertNil(d(bad).causes, bad)
            XCTAssertEqual(Verdict.judge(d(bad), expected: "no-listener", tolerated: []).count, 1, bad)
            XCTAssertEqual(Verdict.judge(d(bad), expected: nil, tolerated: []).count, 1, bad)
        }
    }
}
