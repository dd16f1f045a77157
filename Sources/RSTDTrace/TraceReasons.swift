import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// knowledge/trace-reasons.yaml: which cause a (reason, state, direction, drop reason) points to.
/// Knowledge, not code: the mapping and its explanations live in YAML, loaded from text.
package struct TraceReasonMap: Sendable {
    /// One `reasons:` entry; nil conditions match anything.
    package struct Entry: Sendable, Hashable {
        package var direction: ResetEvent.Direction?
        package var reasons: [String]?
        package var states: [String]?
        package var drops: [String]?
        package var listener: Bool?
        package var peerStates: [String]?
        package var cause: String?
        package var explain: String
        package var line: Int
    }

    package var entries: [Entry]
    /// skb:kfree_skb reasons worth joining to a RST (builds the tracefs filter).
    package var dropReasons: [String]

    /// The cause ids of the knowledge base (a public interface, see DESIGN §5).
    package static let causeIDs: Set<String> = [
        "no-listener", "syn-conflict", "accept-queue-overflow", "half-open-after-restart", "firewall-reset",
        "time-wait-assassination", "application-abort", "idle-timeout", "unread-data-close", "duplicate-ip",
        "conntrack-invalid", "conntrack-table-full", "orphan-memory-pressure", "syn-flood", "paws-timestamps",
    ]

    package init(entries: [Entry], dropReasons: [String]) {
        self.entries = entries
        self.dropReasons = dropReasons
    }

    /// Loads the YAML text; errors carry the file and line (what `knowledge lint` prints).
    package static func load(yaml text: String, file: String = "knowledge/trace-reasons.yaml") throws(KnowledgeProblem) -> TraceReasonMap {
        let doc = try YNode.load(text, file: file)
        try doc.allowOnly(["reasons", "drop_reasons"])
        let drops = try doc.strings("drop_reasons")
        guard let list = doc["reasons"]?.sequence, !list.isEmpty else {
            throw doc.problem("`reasons` must be a non-empty list of entries")
        }
        var entries: [Entry] = []
        for item in list {
            try item.allowOnly(["direction", "reason", "state", "drop", "listener", "peer_state", "cause", "explain"])
            var direction: ResetEvent.Direction?
            if let d = try item.optionalString("direction") {
                guard let dir = ResetEvent.Direction(rawValue: d) else { throw item["direction"]!.problem("`direction` must be sent or received") }
                direction = dir
            }
            func list(_ key: String) throws(KnowledgeProblem) -> [String]? {
                guard let v = item[key], !v.isNull else { return nil }
                let values = try item.strings(key)
                guard !values.isEmpty else { throw v.problem("`\(key)` must not be empty") }
                return values
            }
            var cause: String?
            if let c = try item.optionalString("cause"), !c.isEmpty, c != "null" {
                guard causeIDs.contains(c) else {
                    throw item["cause"]!.problem("unknown cause `\(c)` (known: \(causeIDs.sorted().joined(separator: ", ")))")
                }
                cause = c
            }
            let explain = try item.string("explain")
            entries.append(Entry(direction: direction, reasons: try list("reason"), states: try list("state"),
                                 drops: try list("drop"), listener: try item.bool("listener"),
                                 peerStates: try list("peer_state"), cause: cause,
                                 explain: explain.replacingOccurrences(of: "\n", with: " "), line: item.line))
        }
        return TraceReasonMap(entries: entries, dropReasons: drops)
    }

    /// The first entry that matches the event, or nil ("no cause mapped").
    package func match(_ e: ResetEvent) -> Entry? {
        entries.first { entry in
            if let d = entry.direction, d != e.direction { return false }
            if let r = entry.reasons, !r.contains(e.reason ?? "") { return false }
            if let s = entry.states, !s.contains(e.state) { return false }
            if let d = entry.drops, !d.contains(e.dropReason ?? "") { return false }
            if let l = entry.listener, l != e.listener { return false }
            if let p = entry.peerStates, !p.contains(e.peerState ?? "") { return false }
            return true
        }
    }

    /// Fills `cause` and `explain` from the matching entry, with `{sport}`-style placeholders filled.
    package func classify(_ e: ResetEvent) -> ResetEvent {
        var out = e
        guard let entry = match(e) else { return out }
        out.cause = entry.cause
        out.explain = Self.fill(entry.explain) { key in
            switch key {
            case "src": e.src
            case "sport": String(e.sport)
            case "dst": e.dst
            case "dport": String(e.dport)
            case "state": e.state
            case "reason": e.reason ?? ""
            case "drop": e.dropReason ?? ""
            default: nil
            }
        }
        return out
    }

    /// `{name}` placeholders filled by `value(name)`; unknown names stay as written. One pass over
    /// the bytes (classify runs for every traced RST: `record` sees thousands a second).
    static func fill(_ template: String, _ value: (Substring) -> String?) -> String {
        guard template.utf8.contains(UInt8(ascii: "{")) else { return template }
        var out = ""
        var rest = Substring(template)
        while let open = rest.utf8.firstIndex(of: UInt8(ascii: "{")) {
            out += rest[..<open]
            let afterOpen = rest.utf8.index(after: open)
            guard let close = rest[afterOpen...].utf8.firstIndex(of: UInt8(ascii: "}")) else {
                rest = rest[open...]
                break
            }
            if let v = value(rest[afterOpen..<close]) { out += v } else { out += rest[open...close] }
            rest = rest[rest.utf8.index(after: close)...]
        }
        out += rest
        return out
    }
}

extension TraceReasonMap {
    /// The copy of knowledge/trace-reasons.yaml embedded in the binary at build time.
    package static func bundled() throws(KnowledgeProblem) -> TraceReasonMap {
        let file = "knowledge/trace-reasons.yaml"
        guard let text = KnowledgeFiles.embeddedFile(file) else {
            throw KnowledgeProblem(file: file, line: 1, "not embedded in this build")
        }
        return try load(yaml: text, file: file)
    }
}
