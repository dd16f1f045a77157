import Foundation
import RSTDInfer
import RSTDCore

/// One host's diagnosis as reports show it. It is always read from check JSON (rstdoctor.check/3, /2 or /1),
/// so a live run, a saved `check --format json` and `report --merge` render through one path.
package struct HostReport: Sendable {
    /// A fired rule, with the facts it read.
    package struct EvidenceItem: Sendable {
        package var rule: String
        package var weight: Double
        package var explain: String
        /// (fact, value, source) in key order.
        package var facts: [(key: String, value: String, source: String)]
    }

    /// A cause with its probability and evidence.
    package struct CauseItem: Sendable {
        package var id: String
        package var title: String
        package var probability: Double
        package var forEvidence: [EvidenceItem]
        package var against: [EvidenceItem]
        package var unknown: [(key: String, reason: String)]
        /// The remedies made concrete for this host's run (check JSON `causes[].remedies`).
        package var remedies: [RemedyItem] = []
    }

    /// A remedy as shown: what to do, the change to consider (never applied), how to verify it.
    package struct RemedyItem: Sendable, Equatable {
        package var text: String
        package var change: String?
        package var verify: String?
    }

    /// A check and what became of it.
    package struct CheckItem: Sendable {
        package var id: String
        package var step: String
        package var title: String
        package var status: String
        package var reason: String
        package var fix: String?
        package var durationMs: Int

        /// What the report says beside the check: its reason, or why it is a finding.
        package var note: String {
            status == "finding" && reason.isEmpty ? "its facts support a cause above" : reason
        }
    }

    /// A reset-related counter: its absolute value and its change over the window.
    package struct Counter: Sendable {
        package var name: String
        package var value: Int64?
        package var delta: Int64?
    }

    package var hostname = ""
    package var kernel = ""
    package var netns = ""
    package var port: Int?
    package var peer: String?
    package var started = ""
    package var window: Double = 0
    package var source = ""
    /// The causes of resets, highest first.
    package var causes: [CauseItem] = []
    /// Causes that make no RST (check JSON `findings[]`; moved out of `causes[]` of /1 and /2 files).
    package var findings: [CauseItem] = []
    package var checks: [CheckItem] = []
    package var resets: [Record] = []
    package var answers: [(String, String)] = []
    package var notSeen: [(String, String)] = []
    package var counters: [Counter] = []
    package var sysctls: [(String, String)] = []
    package var firewallRules: [Record] = []
    /// Where this host's data came from (a file name for --merge, empty for a live run).
    package var origin = ""
    /// A name given when lining hosts up (set by Merge when two hosts would read the same).
    package var name: String?

    package init() {}

    /// A name for the host that tells two sides apart even when their hostnames are equal.
    package var label: String {
        if let n = name { return n }
        var l = hostname.isEmpty ? "?" : hostname
        if netns != "host" && !netns.isEmpty { l += " (\(netns))" }
        return l
    }

    /// Which of a host's two lists an id is looked up in: the causes of resets or the findings.
    package typealias List = KeyPath<HostReport, [CauseItem]>

    package func cause(_ id: String) -> CauseItem? { item(id, in: \.causes) }
    package func finding(_ id: String) -> CauseItem? { item(id, in: \.findings) }
    package func item(_ id: String, in list: List) -> CauseItem? { self[keyPath: list].first { $0.id == id } }

    /// Builds the report of a live (or bundle) diagnosis through its check JSON.
    package init(_ d: Diagnosis) {
        // Reading back what we just wrote cannot fail on shape; fall back to an empty report if it ever did.
        self = (try? HostReport(json: CheckJSON.render(d))) ?? HostReport()
    }

    /// Reads check JSON (rstdoctor.check/3, /2 or /1). Unknown fields are ignored; missing ones stay empty.
    package init(json j: JSON) throws(ValidationError) {
        guard case .object = j else { throw ValidationError("not a JSON object") }
        let schema = j["schema"]?.stringValue ?? ""
        guard CheckJSON.readable.contains(schema) else {
            throw ValidationError("schema is '\(Sanitize.line(String(schema.prefix(80))))', not \(CheckJSON.schema): give the output of `rstdoctor check --format json` or `rstdoctor report --format json`")
        }
        let h = j["host"]
        hostname = h?["hostname"]?.stringValue ?? ""
        kernel = h?["kernel"]?.stringValue ?? ""
        netns = h?["netns"]?.stringValue ?? ""
        port = h?["focus"]?["port"]?.intValue.map { Int(clamping: $0) }
        peer = h?["focus"]?["peer"]?.stringValue
        started = h?["started"]?.stringValue ?? ""
        window = h?["window_seconds"]?.doubleValue ?? 0
        source = h?["source"]?.stringValue ?? ""
        (causes, findings) = Self.causeItems(j, schema: schema)
        for c in (j["checks"]?.arrayValue ?? []).prefix(10_000) {
            checks.append(CheckItem(id: c["id"]?.stringValue ?? "?", step: c["step"]?.stringValue ?? "", title: c["title"]?.stringValue ?? "",
                                    status: c["status"]?.stringValue ?? "", reason: c["reason"]?.stringValue ?? "",
                                    fix: c["fix"]?.stringValue, durationMs: Int(clamping: c["duration_ms"]?.intValue ?? 0)))
        }
        resets = (j["resets"]?.arrayValue ?? []).prefix(100_000).map(\.record)
        answers = (j["answers"]?.objectValue ?? []).map { ($0.0, $0.1.scalarText) }
        notSeen = (j["not_seen"]?.arrayValue ?? []).map { ($0["fact"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "") }
        let ev = j["evidence"]
        counters = (ev?["counters"]?.arrayValue ?? []).map { Counter(name: $0["name"]?.stringValue ?? "", value: $0["value"]?.intValue, delta: $0["delta"]?.intValue) }
        sysctls = (ev?["sysctls"]?.objectValue ?? []).map { ($0.0, $0.1.scalarText) }
        firewallRules = (ev?["firewall_rules"]?.arrayValue ?? []).map(\.record)
    }
}

/// A report: one host, or several lined up (client and server of one connection, or a fleet).
package struct Report: Sendable {
    package var hosts: [HostReport]
    package var context: ReportContext

    package init(hosts: [HostReport], context: ReportContext) {
        self.hosts = hosts
        self.context = context
    }

    /// Causes shown in detail: likely or contending (≥ 15 %) on some host, or the top one of each host.
    package var detailedCauses: [String] {
        var ids: [String] = []
        for h in hosts {
            for (i, c) in h.causes.enumerated() where (i == 0 || c.probability >= 0.15) && !ids.contains(c.id) { ids.append(c.id) }
        }
        return ids.sorted { maxProbability($0) > maxProbability($1) }
    }

    /// Every cause id of any host, highest probability (on any host) first.
    package var allCauses: [String] { Self.ranked(hosts.map { $0.causes.map(\.id) }) { maxProbability($0) } }

    /// The ids of every host's list, each once, highest probability first (ties in order of appearance).
    static func ranked(_ lists: [[String]], by probability: (String) -> Double) -> [String] {
        var ids: [String] = []
        for list in lists { for id in list where !ids.contains(id) { ids.append(id) } }
        return ids.enumerated().sorted { a, b in
            let pa = probability(a.element), pb = probability(b.element)
            return pa != pb ? pa > pb : a.offset < b.offset
        }.map(\.element)
    }

    /// An id's highest probability on any host, in the causes of resets (default) or the findings.
    package func maxProbability(_ id: String, in list: HostReport.List = \.causes) -> Double {
        hosts.compactMap { $0.item(id, in: list)?.probability }.max() ?? 0
    }

    package func title(_ id: String, in list: HostReport.List = \.causes) -> String {
        hosts.lazy.compactMap { $0.item(id, in: list)?.title }.first ?? ""
    }

    /// Causes to give remedies for: the likely ones; if none is likely, the contending ones (≥ 15 %).
    package var remedyCauses: (ids: [String], likely: Bool) {
        let likely = allCauses.filter { maxProbability($0) >= Diagnosis.likely }
        if !likely.isEmpty { return (likely, true) }
        return (allCauses.filter { maxProbability($0) >= 0.15 }, false)
    }

    /// Step ids in the knowledge base's order, then any step a check names that the knowledge base lacks.
    package var stepIDs: [String] {
        var ids = context.steps.map(\.id)
        for h in hosts { for c in h.checks where !ids.contains(c.step) { ids.append(c.step) } }
        return ids
    }

    package func stepInfo(_ id: String) -> ReportContext.StepInfo {
        context.steps.first { $0.id == id } ?? .init(id: id, title: id, purpose: "")
    }

    /// The answers given on any host for the questions of one step: (question text, [(host, answer text)]).
    package func answers(step: String) -> [(question: String, byHost: [(String, String)])] {
        var keys: [String] = []
        for h in hosts { for (k, _) in h.answers where !keys.contains(k) { keys.append(k) } }
        var out: [(question: String, byHost: [(String, String)])] = []
        for k in keys.sorted() {
            let q = context.questions[k]
            // Answers to questions the knowledge base does not know are shown under application logs.
            guard (q?.step ?? "application-logs") == step else { continue }
            let by = hosts.compactMap { h in h.answers.first { $0.0 == k }.map { (h.label, q?.answers[$0.1] ?? $0.1) } }
            out.append((q?.text ?? k, by))
        }
        return out
    }

    /// How one answer reads, escaped for the format: said once when every host gave the same,
    /// else each host's answer (named when there are several hosts).
    package func given(_ byHost: [(String, String)], escape: (String) -> String) -> String {
        let multi = hosts.count > 1
        if byHost.count == hosts.count && Set(byHost.map(\.1)).count == 1 {
            return escape(byHost.first?.1 ?? "") + (multi ? " (all hosts)" : "")
        }
        return byHost.map { multi ? "\(escape($0.1)) (\(escape($0.0)))" : escape($0.1) }.joined(separator: "; ")
    }

    /// Every reset of every host, with its host, in time order (records without a time last, in input order).
    package var resets: [(host: String, record: Record)] {
        var all: [(host: String, record: Record, n: Int)] = []
        var n = 0
        for h in hosts {
            for r in h.resets { all.append((h.label, r, n)); n += 1 }
        }
        all.sort { a, b in
            switch (ResetView.time(a.record), ResetView.time(b.record)) {
            case (let x?, let y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.n < b.n
            }
        }
        return all.map { ($0.host, $0.record) }
    }
}

/// How a reset record reads, whatever produced it (capture or kernel trace).
package enum ResetView {
    static func string(_ r: Record, _ k: String) -> String? {
        guard let v = r[k] else { return nil }
        if case .string(let s) = v { return s.isEmpty ? nil : s }
        return v.display
    }

    package static func time(_ r: Record) -> Double? { r["time"]?.number.flatMap { $0.isFinite ? $0 : nil } }
    package static func source(_ r: Record) -> String { string(r, "source") ?? "" }
    package static func cause(_ r: Record) -> String { string(r, "cause") ?? "unclassified" }

    /// `sent` / `received` from the trace; from a capture, whether this host or the peer sent it.
    package static func direction(_ r: Record) -> String {
        if let d = string(r, "direction") { return d }
        switch string(r, "sender") {
        case "local"?: return "sent"
        case "remote"?, "peer"?: return "received"
        case let s?: return s
        case nil: return "unknown"
        }
    }

    package static func endpoint(_ r: Record, _ addr: String, _ port: String) -> String {
        guard let a = string(r, addr) else { return "" }
        let p = string(r, port).map { ":\($0)" } ?? ""
        return a.contains(":") && !p.isEmpty ? "[\(a)]\(p)" : a + p
    }

    /// The most specific classification: class for captures, reason for traces.
    package static func detail(_ r: Record) -> String {
        [string(r, "class"), string(r, "reason"), string(r, "drop").map { "drop \($0)" }, string(r, "flags"),
         (string(r, "process") ?? string(r, "task")).map { "process \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    package static func explain(_ r: Record) -> String { string(r, "explain") ?? "" }

    /// The service side's port of a reset: the focus port when it is one of the two, the server's when
    /// the capture knows the roles, else the lower (the other is usually a client's ephemeral port).
    package static func servicePort(_ r: Record, focus: Int?) -> Int? {
        let sp = string(r, "sport").flatMap { Int($0) } ?? 0, dp = string(r, "dport").flatMap { Int($0) } ?? 0
        if let f = focus, f > 0, sp == f || dp == f { return f }
        switch string(r, "sender") {
        case "server"? where sp > 0: return sp
        case "client"? where dp > 0: return dp
        default: return [sp, dp].filter { $0 > 0 }.min()
        }
    }

    package static func timeText(_ r: Record) -> String {
        guard let t = time(r) else { return "" }
        // Unix times show as UTC clock time with milliseconds; small numbers are offsets into a capture.
        if t > 1e9 {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
            return f.string(from: Date(timeIntervalSince1970: t)) + "Z"
        }
        return String(format: "%.6f s", t)
    }
}

/// Decoding any JSON into the ordered JSON value (object keys sorted: JSONDecoder does not keep order).
extension JSON: Decodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    package init(from decoder: any Decoder) throws {
        if let o = try? decoder.container(keyedBy: Key.self) {
            var pairs: [(String, JSON)] = []
            for k in o.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                pairs.append((k.stringValue, try o.decode(JSON.self, forKey: k)))
            }
            self = .object(pairs)
            return
        }
        if var a = try? decoder.unkeyedContainer() {
            var items: [JSON] = []
            while !a.isAtEnd { items.append(try a.decode(JSON.self)) }
            self = .array(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o.first { $0.0 == key }?.1 }
        return nil
    }

    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    var objectValue: [(String, JSON)]? { if case .object(let o) = self { return o }; return nil }

    var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.isFinite && abs(d) < 9e18: return Int64(d)
        default: return nil
        }
    }

    var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        case .double(let d): return d
        default: return nil
        }
    }

    /// A scalar as text (how facts and answers are shown).
    var scalarText: String {
        switch self {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .double(let d): return FactValue.double(d).display
        case .string(let s): return s
        case .array(let a): return "\(a.count) items"
        case .object: return "{…}"
        }
    }

    /// An object of scalars as a record (nested values are dropped: records hold scalars only).
    var record: Record {
        var r: Record = [:]
        for (k, v) in objectValue ?? [] {
            switch v {
            case .bool(let b): r[k] = .bool(b)
            case .int(let i): r[k] = .int(i)
            case .uint(let u): r[k] = .uint(u)
            case .double(let d): r[k] = .double(d)
            case .string(let s): r[k] = .string(s)
            default: break
            }
        }
        return r
    }
}
