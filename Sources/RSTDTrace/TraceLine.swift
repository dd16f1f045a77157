import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// One line of tracefs `trace` / `trace_pipe` output, split into its header and its
/// `key=value` body: `python3-14758 [000] ..s1.  387.282963: tcp_send_reset: skbaddr=… reason=NO_SOCKET`.
package struct TraceLine: Sendable, Hashable {
    package var task: String
    package var pid: Int
    package var cpu: Int
    /// Trace-clock seconds (the instance's `trace_clock`; rstdoctor sets `boot`).
    package var timestamp: Double
    package var event: String
    /// Body fields in print order. `reason: X` (kfree_skb's spelling) is read like `reason=X`.
    package var fields: [(key: String, value: String)]

    package subscript(key: String) -> String? { fields.first { $0.key == key }?.value }

    package static func == (a: TraceLine, b: TraceLine) -> Bool {
        a.task == b.task && a.pid == b.pid && a.cpu == b.cpu && a.timestamp == b.timestamp && a.event == b.event
            && a.fields.map(\.key) == b.fields.map(\.key) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    package func hash(into h: inout Hasher) {
        h.combine(task); h.combine(pid); h.combine(timestamp); h.combine(event)
    }

    /// Longest line accepted; tracefs lines of the events we enable are well under 512 bytes.
    package static let maxLength = 4096

    /// Parses one line; nil for comments (`# tracer: nop`), blank lines, lost-event notices
    /// (`CPU:1 [LOST 12 EVENTS]`) and anything malformed. Scans bytes, never Characters or
    /// Foundation: `record` and `watch` read thousands of lines a second.
    package static func parse(_ raw: Substring) -> TraceLine? {
        let u = raw.utf8
        guard u.count <= maxLength else { return nil }
        var lo = u.startIndex, hi = u.endIndex
        while lo < hi, isBlank(u[lo]) { lo = u.index(after: lo) }
        while hi > lo, isBlank(u[u.index(before: hi)]) { hi = u.index(before: hi) }
        guard lo < hi, u[lo] != UInt8(ascii: "#") else { return nil }
        let line = raw[lo..<hi]
        let bytes = line.utf8
        // The header ends at "<timestamp>: <event>: ". A task name may itself contain ": ",
        // so try each occurrence until the text before it reads as a header.
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let next = bytes.index(after: i)
            guard bytes[i] == colon, next < bytes.endIndex, bytes[next] == space else { i = next; continue }
            let after = bytes.index(after: next)
            defer { i = after }
            guard let h = parseHeader(line[..<i]) else { continue }
            let rest = line[after...]
            guard let eventEnd = rest.utf8.firstIndex(of: colon) else { return nil }
            let event = rest[..<eventEnd]
            guard !event.isEmpty, event.utf8.allSatisfy(isWordByte) else { return nil }
            return TraceLine(task: h.task, pid: h.pid, cpu: h.cpu, timestamp: h.timestamp, event: String(event),
                             fields: parseBody(rest[rest.utf8.index(after: eventEnd)...]))
        }
        return nil
    }

    private static let colon = UInt8(ascii: ":"), space = UInt8(ascii: " ")
    private static func isBlank(_ b: UInt8) -> Bool { b == space || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") }
    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }

    /// Space-separated words of `s`, as slices of it (no copies).
    private static func words(_ s: Substring) -> [Substring] {
        var out: [Substring] = []
        var start: Substring.Index?
        var i = s.utf8.startIndex
        while i < s.utf8.endIndex {
            if s.utf8[i] == space {
                if let st = start { out.append(s[st..<i]); start = nil }
            } else if start == nil { start = i }
            i = s.utf8.index(after: i)
        }
        if let st = start { out.append(s[st...]) }
        return out
    }

    /// "TASK-PID [CPU] FLAGS TIMESTAMP" (FLAGS may be missing with some trace_options, and a
    /// "(TGID)" column may follow the task with `record-tgid`).
    static func parseHeader(_ header: Substring) -> (task: String, pid: Int, cpu: Int, timestamp: Double)? {
        let tokens = words(header)
        guard tokens.count >= 3, let ts = Double(tokens[tokens.count - 1]), ts.isFinite, ts >= 0 else { return nil }
        guard let cpuIndex = tokens.lastIndex(where: { $0.hasPrefix("[") && $0.hasSuffix("]") && Int($0.dropFirst().dropLast()) != nil }),
              cpuIndex >= 1, let cpu = Int(tokens[cpuIndex].dropFirst().dropLast()) else { return nil }
        var taskPid = cpuIndex == 1 ? String(tokens[0]) : tokens[..<cpuIndex].joined(separator: " ")
        if taskPid.hasSuffix(")"), let open = taskPid.lastIndex(of: "("),
           taskPid[taskPid.index(after: open)...].dropLast().allSatisfy({ $0 == " " || $0 == "-" || $0.isNumber }) {
            taskPid = taskPid[..<open].trimmingCharacters(in: .whitespaces)
        }
        guard let dash = taskPid.lastIndex(of: "-"), let pid = Int(taskPid[taskPid.index(after: dash)...]) else { return nil }
        return (String(taskPid[..<dash]), pid, cpu, ts)
    }

    /// `k=v k=v` and `k: v` pairs. Values never contain spaces in the events rstdoctor reads.
    static func parseBody(_ body: Substring) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        let tokens = words(body)
        out.reserveCapacity(min(tokens.count, 64))
        var i = 0
        while i < tokens.count, out.count < 64 {
            let t = tokens[i]
            if let eq = t.utf8.firstIndex(of: UInt8(ascii: "=")) {
                out.append((String(t[..<eq]), String(t[t.utf8.index(after: eq)...])))
            } else if t.utf8.last == colon, t.utf8.count > 1, i + 1 < tokens.count,
                      tokens[i + 1].utf8.firstIndex(of: UInt8(ascii: "=")) == nil {
                out.append((String(t.dropLast()), String(tokens[i + 1])))
                i += 1
            }
            i += 1
        }
        return out
    }
}
