import Foundation
import XCTest

@testable import RSTDCapture

/// The lab captures cut where an `--observe` window starts: the capture begins after the
/// connection was set up (or closed), so a RST must be judged with only the packets after that.
final class CaptureWindowTests: XCTestCase {
    static let dir = CaptureLabScenarioTests.dir

    /// Analyzes `name`'s frames from `first` on (numbered as in the file), as a capture started then.
    func analyze(_ name: String, from first: UInt64) throws -> CaptureReport {
        try CaptureFixtures.labWindow(name, from: first, options: CaptureOptions())
    }

    /// TIME-WAIT assassination seen from a window that starts after the close (RST-SIGNALS.md 6): the
    /// server's old segment (13), the TIME-WAIT socket's ACK acknowledging beyond it (14, ack 9 > 8),
    /// the server's stateless RST to that ACK (15). Not a half-open connection: the ACK shows the
    /// client had that segment and the server's FIN already.
    func testOldDuplicateIntoTimeWaitWithoutTheClose() throws {
        for (name, first, rst) in [("time-wait-assassination", UInt64(13), 15), ("time-wait-rfc1337", 12, 14)] {
            let r = try analyze(name, from: first)
            XCTAssertEqual(r.resets.map(\.frame), [rst], name)
            guard let x = r.resets.first else { continue }
            XCTAssertEqual(x.class, "old-duplicate-ack", name)
            XCTAssertEqual(x.causes, ["time-wait-assassination", "half-open-after-restart"], name)
            XCTAssertEqual(x.answered, "ACK", name)
            XCTAssertEqual(x.answeredFrame, rst - 1, name)
            for m in ["duplicate", "TIME-WAIT", "tcp_rfc1337", "frame \(rst - 2)"] {
                XCTAssertTrue(x.explain.contains(m), "\(name): explanation lacks \"\(m)\": \(x.explain)")
            }
        }
    }

    /// A half-open connection seen from a window that starts after the exchange: the client's data
    /// answered by a stateless RST stays half-open (the server sent nothing just before).
    func testHalfOpenWithoutTheHandshakeStaysHalfOpen() throws {
        for name in ["half-open-after-restart-down", "half-open-after-restart-up"] {
            let r = try analyze(name, from: 9)
            XCTAssertEqual(r.resets.map(\.class), ["stateless-unknown-flow"], name)
        }
    }

    /// The whole captures keep their classes (the close is seen: into-time-wait).
    func testWholeCapturesUnchanged() throws {
        XCTAssertEqual(try analyze("time-wait-assassination", from: 1).resets.map(\.class), ["into-time-wait"])
        XCTAssertEqual(try analyze("time-wait-rfc1337", from: 1).resets.map(\.class), ["into-time-wait"])
    }
}
