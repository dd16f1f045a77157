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
    /// The event's name as a slice of the line (`event` as a String).
    package var eventName: Substring
    /// Body fields in print order, as slices of the line: no string is made for a field nobody reads.
    /// `reason: X` (kfree_skb's spelling) is read like `reason=X`.
    package var body: [(key: Substring, value: Substring)]
    /// Process, softirq, hard interrupt or NMI (from the header's flags): whether `task` means anything.
    package var context: Context = .unknown

    package var event: String { String(eventName) }
    package var fields: [(key: String, value: String)] { body.map { (String($0.key), String($0.value)) } }

    package init(task: String, pid: Int, cpu: Int, timestamp: Double, event: String, fields: [(key: String, value: String)],
                 context: Context = .unknown) {
        self.init(task: task, pid: pid, cpu: cpu, timestamp: timestamp, eventName: Substring(event),
                  body: fields.map { (Substring($0.key), Substring($0.value)) }, context: context)
    }

    init(task: String, pid: Int, cpu: Int, timestamp: Double, eventName: Substring, body: [(key: Substring, value: Substring)],
         context: Context) {
        self.task = task
        self.pid = pid
        self.cpu = cpu
        self.timestamp = timestamp
        self.eventName = eventName
        self.body = body
        self.context = context
    }

    package subscript(key: String) -> String? {
        for f in body where f.key == key { return String(f.value) }
        return nil
    }

    package static func == (a: TraceLine, b: TraceLine) -> Bool {
        a.task == b.task && a.pid == b.pid && a.cpu == b.cpu && a.timestamp == b.timestamp && a.eventName == b.eventName
            && a.context == b.context && a.body.map(\.key) == b.body.map(\.key) && a.body.map(\.value) == b.body.map(\.value)
    }

    package func hash(into h: inout Hasher) {
        h.combine(task); h.combine(pid); h.combine(timestamp); h.combine(eventName)
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
            return TraceLine(task: h.task, pid: h.pid, cpu: h.cpu, timestamp: h.timestamp, eventName: event,
                             body: parseBody(rest[rest.utf8.index(after: eventEnd)...]), context: h.context)
        }
        return nil
    }

    private static let colon = UInt8(ascii: ":"), space = UInt8(ascii: " ")
    private static func isBlank(_ b: UInt8) -> Bool { b == space || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") }
    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }

    /// The context the kernel was in when it logged the event, from the header's flags (`..s1.`: the
    /// third character is `s` in a softirq, `h`/`H` in a hard interrupt, `z`/`Z` in an NMI, `.` in a
    /// process's own context, e.g. its system call). Only in process context is the task the one the
    /// event is about; in an interrupt it is whoever happened to be running (`<idle>`, any process).
    package enum Context: String, Sendable, Hashable, Codable {
        case process, softirq, hardirq, nmi, unknown

        static func of(flags: Substring) -> Context {
            let u = flags.utf8
            guard u.count >= 4, u.count <= 6 else { return .unknown }
            switch u[u.index(u.startIndex, offsetBy: 2)] {
            case UInt8(ascii: "."): return .process
            case UInt8(ascii: "s"): return .softirq
            case UInt8(ascii: "h"), UInt8(ascii: "H"): return .hardirq
            case UInt8(ascii: "z"), UInt8(ascii: "Z"): return .nmi
            default: return .unknown
            }
        }
    }

    /// "TASK-PID [CPU] FLAGS TIMESTAMP" (FLAGS may be missing with some trace_options, and a
    /// "(TGID)" column may follow the task with `record-tgid`). Scanned from the end, in place.
    static func parseHeader(_ header: Substring) -> (task: String, pid: Int, cpu: Int, timestamp: Double, context: Context)? {
        let u = header.utf8
        var end = u.endIndex
        /// The word ending at `end` (after skipping spaces before it), moving `end` to its start.
        func previousWord() -> Substring? {
            while end > u.startIndex, u[u.index(before: end)] == space { end = u.index(before: end) }
            guard end > u.startIndex else { return nil }
            var start = end
            while start > u.startIndex, u[u.index(before: start)] != space { start = u.index(before: start) }
            defer { end = start }
            return header[start..<end]
        }
        guard let tsWord = previousWord(), let ts = Double(tsWord), ts.isFinite, ts >= 0 else { return nil }
        var flags: [Substring] = []
        var cpu: Int?
        while let w = previousWord() {
            if w.utf8.first == UInt8(ascii: "["), w.utf8.last == UInt8(ascii: "]"), let n = Int(w.dropFirst().dropLast()) {
                cpu = n
                break
            }
            flags.append(w)
        }
        guard let cpu else { return nil }
        while end > u.startIndex, u[u.index(before: end)] == space { end = u.index(before: end) }
        var start = u.startIndex
        while start < end, u[start] == space { start = u.index(after: start) }
        guard start < end else { return nil }
        var taskPid = header[start..<end]
        if taskPid.utf8.contains(space), taskPid.contains("  ") {
            taskPid = Substring(taskPid.split(separator: " ").joined(separator: " "))
        }
        if taskPid.utf8.last == UInt8(ascii: ")"), let open = taskPid.lastIndex(of: "("),
           taskPid[taskPid.index(after: open)...].dropLast().allSatisfy({ $0 == " " || $0 == "-" || $0.isNumber }) {
            taskPid = Substring(taskPid[..<open].trimmingCharacters(in: .whitespaces))
        }
        guard let dash = taskPid.utf8.lastIndex(of: UInt8(ascii: "-")), let pid = Int(taskPid[taskPid.utf8.index(after: dash)...]) else {
            return nil
        }
        let context = flags.count == 1 ? Context.of(flags: flags[0]) : .unknown
        return (String(taskPid[..<dash]), pid, cpu, ts, context)
    }

    /// `k=v k=v` and `k: v` pairs. Values never contain spaces in the events rstdoctor reads.
    static func parseBody(_ body: Substring) -> [(key: Substring, value: Substring)] {
        var out: [(key: Substring, value: Substring)] = []
        out.reserveCapacity(12)
        let u = body.utf8
        var i = u.startIndex
        var colonKey: Substring?  // a `k:` word waiting for its value
        while i < u.endIndex, out.count < 64 {
            guard u[i] != space else { i = u.index(after: i); continue }
            var j = i
            var eq: Substring.UTF8View.Index?
            while j < u.endIndex, u[j] != space {
                if eq == nil, u[j] == UInt8(ascii: "=") { eq = j }
                j = u.index(after: j)
            }
            let word = body[i..<j]
            if let eq {
                out.append((word[..<eq], word[u.index(after: eq)...]))
                colonKey = nil
            } else if let k = colonKey {
                out.append((k, word))
                colonKey = nil
            } else if word.utf8.last == colon, word.utf8.count > 1 {
                colonKey = word.dropLast()
            }
            i = j
        }
        return out
    }
}
