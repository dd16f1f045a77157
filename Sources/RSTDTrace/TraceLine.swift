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
    /// (`CPU:1 [LOST 12 EVENTS]`) and anything malformed.
    package static func parse(_ raw: Substring) -> TraceLine? {
        guard raw.utf8.count <= maxLength else { return nil }
        let line = raw.trimmingCharacters(in: .whitespaces)
        guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
        // The header ends at "<timestamp>: <event>: ". A task name may itself contain ": ",
        // so try each occurrence until the text before it reads as a header.
        var searchFrom = line.startIndex
        while let sep = line.range(of: ": ", range: searchFrom..<line.endIndex) {
            searchFrom = sep.upperBound
            guard let h = parseHeader(line[..<sep.lowerBound]) else { continue }
            let rest = line[sep.upperBound...]
            guard let eventEnd = rest.firstIndex(of: ":") else { return nil }
            let event = String(rest[..<eventEnd])
            guard !event.isEmpty, event.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            return TraceLine(task: h.task, pid: h.pid, cpu: h.cpu, timestamp: h.timestamp, event: event,
                             fields: parseBody(rest[rest.index(after: eventEnd)...]))
        }
        return nil
    }

    /// "TASK-PID [CPU] FLAGS TIMESTAMP" (FLAGS may be missing with some trace_options, and a
    /// "(TGID)" column may follow the task with `record-tgid`).
    static func parseHeader(_ header: Substring) -> (task: String, pid: Int, cpu: Int, timestamp: Double)? {
        let tokens = header.split(separator: " ", omittingEmptySubsequences: true)
        guard tokens.count >= 3, let ts = Double(tokens[tokens.count - 1]), ts.isFinite, ts >= 0 else { return nil }
        guard let cpuIndex = tokens.lastIndex(where: { $0.hasPrefix("[") && $0.hasSuffix("]") && Int($0.dropFirst().dropLast()) != nil }),
              cpuIndex >= 1, let cpu = Int(tokens[cpuIndex].dropFirst().dropLast()) else { return nil }
        var taskPid = tokens[..<cpuIndex].joined(separator: " ")
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
        let tokens = body.split(separator: " ", omittingEmptySubsequences: true)
        var i = 0
        while i < tokens.count, out.count < 64 {
            let t = tokens[i]
            if let eq = t.firstIndex(of: "=") {
                out.append((String(t[..<eq]), String(t[t.index(after: eq)...])))
            } else if t.hasSuffix(":"), t.count > 1, i + 1 < tokens.count, !tokens[i + 1].contains("=") {
                out.append((String(t.dropLast()), String(tokens[i + 1])))
                i += 1
            }
            i += 1
        }
        return out
    }
}
