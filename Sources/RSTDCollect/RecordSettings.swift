import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDJournal
import RSTDData
import RSTDSystem
import RSTDCore

/// Defaults and validation of `record` / `check --since` values.
package enum RecordSettings {
    /// `/var/lib/rstdoctor/journal.db` as root, `$XDG_STATE_HOME/rstdoctor/journal.db`
    /// (or `~/.local/state/rstdoctor/journal.db`) otherwise.
    package static func defaultJournal(isRoot: Bool = geteuid() == 0, env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if isRoot { return "/var/lib/rstdoctor/journal.db" }
        if let x = env["XDG_STATE_HOME"], x.hasPrefix("/") { return x + "/rstdoctor/journal.db" }
        let home = env["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
        return home + "/.local/state/rstdoctor/journal.db"
    }

    /// `256MiB`, `1GiB`, `500MB`, `64k`, or plain bytes; between 1 MiB and 1 TiB.
    package static func size(_ text: String) throws(ValidationError) -> Int64 {
        let s = text.trimmingCharacters(in: .whitespaces)
        let digits = s.prefix { $0.isNumber || $0 == "." }
        let unit = s.dropFirst(digits.count).lowercased()
        let scale: Double? = switch unit {
        case "", "b": 1
        case "k", "kb": 1e3
        case "kib": 1024
        case "m", "mb": 1e6
        case "mib": 1_048_576
        case "g", "gb": 1e9
        case "gib": 1_073_741_824
        case "t", "tb": 1e12
        case "tib": 1_099_511_627_776
        default: nil
        }
        guard let n = Double(digits), let scale, n.isFinite else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not a size: write it like 256MiB, 1GiB or 500MB")
        }
        let bytes = n * scale
        guard bytes >= 1_048_576, bytes <= 1_099_511_627_776 else {
            throw ValidationError("--max-size must be between 1MiB and 1TiB (got \(Sanitize.terminal(text)))")
        }
        return Int64(bytes)
    }

    /// `--until`: a Unix time, an ISO 8601 time (`2026-12-04T10:00:00Z`, local when no zone), or a
    /// duration ago (`30m` = thirty minutes ago).
    package static func time(_ text: String, now: Date = Date()) throws(ValidationError) -> Date {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let unix = Double(t), unix > 1_000_000_000, unix.isFinite { return Date(timeIntervalSince1970: unix) }
        if let ago = Seconds.parse(t) { return now.addingTimeInterval(-ago) }
        let iso = ISO8601DateFormatter()
        if let d = iso.date(from: t) { return d }
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = .current
            f.dateFormat = format
            if let d = f.date(from: t) { return d }
        }
        throw ValidationError("'\(Sanitize.terminal(text))' is not a time: give 2026-12-04T10:00:00Z, '2026-12-04 10:00', a Unix time, or a duration ago like 30m")
    }

    /// `--metrics ADDR`: `HOST:PORT` or `[V6]:PORT` with a numeric host (no names: nothing to resolve).
    package static func listenAddress(_ text: String) throws(ValidationError) -> (host: String, port: UInt16) {
        var host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ValidationError("--metrics takes HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464") }
            port = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            throw ValidationError("--metrics takes HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464")
        }
        if host.isEmpty { host = "0.0.0.0" }
        let addr = try Validate.address(String(host))
        let p = try Validate.port(String(port))
        return (addr, p)
    }
}
