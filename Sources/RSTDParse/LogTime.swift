import Foundation
import RSTDCore

/// Time stamps of log lines → seconds since the epoch, and the period a log is read for.
///
/// Formats (all seen in real logs): ISO 8601 and its relatives at the start of a line
/// (`2026-12-04T21:56:25+0000` journald short-iso, `2026-12-04T21:56:13,674019+00:00` dmesg iso,
/// `2026-12-04 21:56:25,410` Python logging, `2026-12-04T21:56:25.123Z`), nginx's and Go's
/// `2026/12/04 21:56:25`, syslog's `Dec  4 21:56:25` (no year: the latest year that is not in the
/// future), and the common log format's `[04/Dec/2026:21:56:25 +0000]` anywhere in the line
/// (HAProxy, Apache, nginx access logs). A stamp without an offset is local time.
package enum LogTime {
    /// The period a log is read for, written by the collector as an extra output part so that a
    /// saved bundle is judged for the same period.
    package static let periodPart = "rstdoctor:period"

    package static func periodText(since: Double, until: Double) -> String {
        String(format: "since %.3f until %.3f", since, until)
    }

    /// The period of `output` (from its `rstdoctor:period` part), if the collector wrote one.
    package static func period(_ output: RawOutput) -> ClosedRange<Double>? {
        guard let p = output.parts.first(where: { $0.name == periodPart }) else { return nil }
        let w = p.text.split(whereSeparator: { $0 == " " || $0.isNewline })
        guard w.count >= 4, w[0] == "since", w[2] == "until", let s = Double(w[1]), let u = Double(w[3]), s <= u else { return nil }
        return s...u
    }

    /// The parts that are log text (not the period).
    package static func logParts(_ output: RawOutput) -> [RawOutput.Part] {
        output.parts.filter { $0.name != periodPart }
    }

    /// "in the last 1h (since 2026-12-04T21:00:00Z)": how explanations name the period.
    package static func describe(_ p: ClosedRange<Double>) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return "in the \(Seconds.render(p.upperBound - p.lowerBound)) before \(f.string(from: Date(timeIntervalSince1970: p.upperBound)))"
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// The time stamp of a log line, or nil when it has none. `reference` (the end of the period)
    /// chooses the year of syslog stamps.
    package static func parse(_ line: Substring, reference: Double, timeZone: TimeZone = .current) -> Double? {
        let b = Array(line.utf8.prefix(200))
        var i = 0
        while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "[") { i += 1 }
        if let t = isoLike(b, i, timeZone) { return t }
        if let t = syslog(b, i, reference: reference, timeZone) { return t }
        // Common log format, anywhere: `[04/Dec/2026:21:56:25 +0000]` or HAProxy's `[04/Dec/2026:21:56:25.123]`.
        var j = 0
        while j < b.count {
            if b[j] == UInt8(ascii: "["), let t = clf(b, j + 1, timeZone) { return t }
            j += 1
        }
        return nil
    }

    private static func num(_ b: [UInt8], _ i: Int, _ n: Int) -> Int? {
        guard i >= 0, i + n <= b.count else { return nil }
        var v = 0
        for k in i..<(i + n) {
            guard b[k] >= 48, b[k] <= 57 else { return nil }
            v = v * 10 + Int(b[k] - 48)
        }
        return v
    }

    private static func at(_ b: [UInt8], _ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }

    private static func epoch(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, _ frac: Double, offset: Int?, _ tz: TimeZone) -> Double? {
        guard (1970...2200).contains(y), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = offset.flatMap { TimeZone(secondsFromGMT: $0) } ?? tz
        guard let date = cal.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)) else { return nil }
        return date.timeIntervalSince1970 + frac
    }

    /// Fraction (`.123`, `,674019`) and offset (`Z`, `+0000`, `+00:00`, ` +0000`) after HH:MM:SS at `i`.
    private static func tail(_ b: [UInt8], _ i: Int, spaceBeforeOffset: Bool) -> (frac: Double, offset: Int?) {
        var k = i
        var frac = 0.0
        if at(b, k, ".") || at(b, k, ",") {
            k += 1
            var scale = 0.1
            while k < b.count, b[k] >= 48, b[k] <= 57 { frac += Double(b[k] - 48) * scale; scale /= 10; k += 1 }
        }
        if spaceBeforeOffset && at(b, k, " ") { k += 1 }
        if at(b, k, "Z") { return (frac, 0) }
        if at(b, k, "+") || at(b, k, "-") {
            let sign = at(b, k, "-") ? -1 : 1
            if let hh = num(b, k + 1, 2) {
                let mm = num(b, k + 3, 2) ?? (at(b, k + 3, ":") ? num(b, k + 4, 2) : nil) ?? 0
                return (frac, sign * (hh * 3600 + mm * 60))
            }
        }
        return (frac, nil)
    }

    /// `YYYY-MM-DD[T ]HH:MM:SS…` and `YYYY/MM/DD HH:MM:SS`.
    private static func isoLike(_ b: [UInt8], _ i: Int, _ tz: TimeZone) -> Double? {
        guard let y = num(b, i, 4), at(b, i + 4, "-") || at(b, i + 4, "/"), let mo = num(b, i + 5, 2),
              b[i + 4] == b[i + 7], let d = num(b, i + 8, 2), at(b, i + 10, "T") || at(b, i + 10, " "),
              let h = num(b, i + 11, 2), at(b, i + 13, ":"), let mi = num(b, i + 14, 2), at(b, i + 16, ":"),
              let s = num(b, i + 17, 2) else { return nil }
        let (frac, off) = tail(b, i + 19, spaceBeforeOffset: false)
        return epoch(y, mo, d, h, mi, s, frac, offset: off, tz)
    }

    private static func month(_ b: [UInt8], _ i: Int) -> Int? {
        guard i + 3 <= b.count else { return nil }
        let m = String(decoding: b[i..<(i + 3)], as: UTF8.self).lowercased()
        return months.firstIndex(of: m).map { $0 + 1 }
    }

    /// `Dec  4 21:56:25` / `Dec 04 21:56:25.123`.
    private static func syslog(_ b: [UInt8], _ i: Int, reference: Double, _ tz: TimeZone) -> Double? {
        guard let mo = month(b, i), at(b, i + 3, " ") else { return nil }
        var k = i + 4
        if at(b, k, " ") { k += 1 }
        guard let d = num(b, k, 2) ?? num(b, k, 1) else { return nil }
        k += d >= 10 || num(b, k, 2) != nil ? 2 : 1
        guard at(b, k, " "), let h = num(b, k + 1, 2), at(b, k + 3, ":"), let mi = num(b, k + 4, 2), at(b, k + 6, ":"),
              let s = num(b, k + 7, 2) else { return nil }
        let (frac, _) = tail(b, k + 9, spaceBeforeOffset: false)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let year = cal.component(.year, from: Date(timeIntervalSince1970: reference))
        // The latest year that does not put the line more than a day after the reference.
        for y in [year, year - 1] {
            if let t = epoch(y, mo, d, h, mi, s, frac, offset: nil, tz), t <= reference + 86400 { return t }
        }
        return nil
    }

    /// `04/Dec/2026:21:56:25 +0000` / `04/Dec/2026:21:56:25.123` at `i`.
    private static func clf(_ b: [UInt8], _ i: Int, _ tz: TimeZone) -> Double? {
        guard let d = num(b, i, 2), at(b, i + 2, "/"), let mo = month(b, i + 3), at(b, i + 6, "/"), let y = num(b, i + 7, 4),
              at(b, i + 11, ":"), let h = num(b, i + 12, 2), at(b, i + 14, ":"), let mi = num(b, i + 15, 2),
              at(b, i + 17, ":"), let s = num(b, i + 18, 2) else { return nil }
        let (frac, off) = tail(b, i + 20, spaceBeforeOffset: true)
        return epoch(y, mo, d, h, mi, s, frac, offset: off, tz)
    }
}
