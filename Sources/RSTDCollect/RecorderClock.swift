import Foundation
import RSTDCore

/// The recorder's two clocks: wall time (Unix seconds) to file events, and boot time (CLOCK_BOOTTIME:
/// monotonic, counting in suspend) for every interval and window. A seam, so a test can jump the wall
/// clock without touching the host's.
package protocol RecorderClock: Sendable {
    /// CLOCK_REALTIME, seconds since the Unix epoch: may jump (NTP step, `date -s`, a VM resumed).
    func wall() -> Double
    /// CLOCK_BOOTTIME, seconds since boot: never jumps; the trace's own clock (`trace_clock=boot`).
    func boot() -> Double
}

package struct SystemRecorderClock: RecorderClock {
    package init() {}
    package func wall() -> Double { Self.read(CLOCK_REALTIME) }
    package func boot() -> Double { Self.read(CLOCK_BOOTTIME) }
    static func read(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Notices the wall clock jumping: the offset wall − boot is constant while nobody sets the clock
/// (NTP slews it by microseconds per second), so a change of more than `threshold` is a step.
/// Events are filed by boot time + the offset of the moment they are filed, so those before a jump
/// keep their time and those after it get the new one; the jump itself is noted in the journal.
package struct ClockJumpDetector: Sendable {
    package var threshold: Double = 1
    package private(set) var offset: Double?

    package init(threshold: Double = 1) { self.threshold = threshold }

    /// The jump in seconds (positive: forward) since the last call, or nil.
    package mutating func check(wall: Double, boot: Double) -> Double? {
        let now = wall - boot
        defer { offset = now }
        guard let before = offset, abs(now - before) > threshold else { return nil }
        return now - before
    }

    /// The journal's note for a jump of `delta` seconds.
    package static func text(_ delta: Double, at wall: Double) -> String {
        let f = ISO8601DateFormatter()
        let when = f.string(from: Date(timeIntervalSince1970: wall))
        let amount = Seconds.render(abs(delta).rounded())
        return "the wall clock jumped \(delta > 0 ? "forward" : "back") by \(amount) (now \(when)): "
            + "resets before the jump keep the old time, those after it carry the new one; "
            + "the recorder's windows run on the boot clock and were not affected"
    }
}
