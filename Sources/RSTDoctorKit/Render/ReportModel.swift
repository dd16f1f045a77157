import Foundation

/// One host's diagnosis as reports show it. It is always read from check JSON (rstdoctor.check/1),
/// so a live run, a saved `check --format json` and `report --merge` render through one path.
public struct HostReport: Sendable {
    /// A fired rule, with the facts it read.
    public struct EvidenceItem: Sendable {
        public var rule: String
        public var weight: Double
        public var explain: String
        /// (fact, value, source) in key order.
        public var facts: [(key: String, value: String, source: String)]
    }

    /// A cause with its probability and evidence.
    public struct CauseItem: Sendable {
        public var id: String
        public var title: String
        public var probability: Double
        public var forEvidence: [EvidenceItem]
        public var against: [EvidenceItem]
        public var unknown: [(key: String, reason: String)]
    }

    /// A check and what became of it.
    public struct CheckItem: Sendable {
        public var id: String
        public var step: String
        public var title: String
        public var status: String
        public var reason: String
        public var fix: String?
        public var durationMs: Int

        /// What the report says beside the check: its reason, or why it is a finding.
        public var note: String {
            status == "finding" && reason.isEmpty ? "its facts support a cause above" : reason
        }
    }

    /// A reset-related counter: its absolute value and its change over the window.
    public struct Counter: Sendable {
        public var name: String
        public var value: Int64?
        public var delta: Int64?
    }

    public var hostname = ""
    public var kernel = ""
    public var netns = ""
    public var port: Int?
    public var peer: String?
    public var started = ""
    public var window: Double = 0
    public var source = ""
    public var causes: [CauseItem] = []
    public var checks: [CheckItem] = []
    public var resets: [Record] = []
    public var answers: [(String, String)] = []
    public var notSeen: [(String, String)] = []
    public var counters: [Counter] = []
    public var sysctls: [(String, String)] = []
    public var firewallRules: [Record] = []
    /// Where this host's data came from (a file name for --merge, empty for a live run).
    public var origin = ""
    /// A name given when lining hosts up (set by Merge when two hosts would read the same).
    public var name: String?

    public init() {}

    /// A name for the host that tells two sides apart even when their hostnames are equal.
    public var label: String {
        if let n = name { return n }
        var l = hostname.isEmpty ? "?" : hostname
        if netns != "host" && !netns.isEmpty { l += " (\(netns))" }
        return l
    }

    public func cause(_ id: String) -> CauseItem? { causes.first { $0.id == id } }

    /// Builds the report of a live (or bundle) diagnosis through its check JSON.
    public init(_ d: Diagnosis) {
        // Reading back what we just wrote cannot fail on shape; fall back to an empty report if it ever did.
        self = (try? HostReport(json: CheckJSON.render(d))) ?? HostReport()
    }

    /// Reads check JSON (rstdoctor.check/1). Unknown fields are ignored; missing ones stay empty.
    public init(json j: JSON) throws(ValidationError) {
        guard case .object = j else { throw ValidationError("not a JSON object") }
        let schema = j["schema"]?.stringValue ?? ""
        guard schema == CheckJSON.schema else {
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
        func evidence(_ e: JSON) -> EvidenceItem {
            let facts = e["facts"]?.objectValue ?? []
            let sources = e["sources"]
            return EvidenceItem(rule: e["rule"]?.stringValue ?? "", weight: e["weight"]?.doubleValue ?? 0,
                                explain: e["explain"]?.stringValue ?? "",
                                facts: facts.map { (key: $0.0, value: $0.1.scalarText, source: sources?[$0.0]?.stringValue ?? "") })
        }
        for c in (j["causes"]?.arrayValue ?? []).prefix(10_000) {
            let reasons = c["unknown_reasons"]
            let unknown = (c["unknown"]?.arrayValue ?? []).compactMap(\.stringValue).map { (key: $0, reason: reasons?[$0]?.stringValue ?? "") }
            causes.append(CauseItem(id: c["id"]?.stringValue ?? "?", title: c["title"]?.stringValue ?? "",
                                    probability: min(1, max(0, c["probability"]?.doubleValue ?? 0)),
                                    forEvidence: (c["for"]?.arrayValue ?? []).map(evidence),
                                    against: (c["against"]?.arrayValue ?? []).map(evidence), unknown: unknown))
        }
        causes.sort { $0.probability != $1.probability ? $0.probability > $1.probability : $0.id < $1.id }
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

/// What reports take from the knowledge base: steps, remedies and the text of questions and answers.
public struct ReportContext: Sendable {
    /// A troubleshooting step.
    public struct StepInfo: Sendable {
        public var id: String
        public var title: String
        public var purpose: String
    }

    public var steps: [StepInfo] = []
    public var remedies: [String: [Cause.Remedy]] = [:]
    /// Question id → (step, question text, answer id → answer text).
    public var questions: [String: (step: String, text: String, answers: [String: String])] = [:]

    public init() {}

    public init(kb: KnowledgeBase) {
        steps = kb.steps.map { StepInfo(id: $0.id, title: $0.title, purpose: $0.purpose) }
        for c in kb.causes { remedies[c.id] = c.remedies }
        for q in kb.questions {
            questions[q.id] = (q.step, q.text, Dictionary(q.answers.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}

/// A report: one host, or several lined up (client and server of one connection, or a fleet).
public struct Report: Sendable {
    public var hosts: [HostReport]
    public var context: ReportContext

    public init(hosts: [HostReport], context: ReportContext) {
        self.hosts = hosts
        self.context = context
    }

    /// Causes shown in detail: likely or contending (≥ 15 %) on some host, or the top one of each host.
    public var detailedCauses: [String] {
        var ids: [String] = []
        for h in hosts {
            for (i, c) in h.causes.enumerated() where (i == 0 || c.probability >= 0.15) && !ids.contains(c.id) { ids.append(c.id) }
        }
        return ids.sorted { maxProbability($0) > maxProbability($1) }
    }

    /// Every cause id of any host, highest probability (on any host) first.
    public var allCauses: [String] {
        var ids: [String] = []
        for h in hosts { for c in h.causes where !ids.contains(c.id) { ids.append(c.id) } }
        return ids.enumerated().sorted { a, b in
            let pa = maxProbability(a.element), pb = maxProbability(b.element)
            return pa != pb ? pa > pb : a.offset < b.offset
        }.map(\.element)
    }

    public func maxProbability(_ id: String) -> Double { hosts.compactMap { $0.cause(id)?.probability }.max() ?? 0 }

    public func title(_ id: String) -> String { hosts.lazy.compactMap { $0.cause(id)?.title }.first ?? "" }

    /// Causes to give remedies for: the likely ones; if none is likely, the contending ones (≥ 15 %).
    public var remedyCauses: (ids: [String], likely: Bool) {
        let likely = allCauses.filter { maxProbability($0) >= Diagnosis.likely }
        if !likely.isEmpty { return (likely, true) }
        return (allCauses.filter { maxProbability($0) >= 0.15 }, false)
    }

    /// Step ids in the knowledge base's order, then any step a check names that the knowledge base lacks.
    public var stepIDs: [String] {
        var ids = context.steps.map(\.id)
        for h in hosts { for c in h.checks where !ids.contains(c.step) { ids.append(c.step) } }
        return ids
    }

    public func stepInfo(_ id: String) -> ReportContext.StepInfo {
        context.steps.first { $0.id == id } ?? .init(id: id, title: id, purpose: "")
    }

    /// The answers given on any host for the questions of one step: (question text, [(host, answer text)]).
    public func answers(step: String) -> [(question: String, byHost: [(String, String)])] {
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
    public func given(_ byHost: [(String, String)], escape: (String) -> String) -> String {
        let multi = hosts.count > 1
        if byHost.count == hosts.count && Set(byHost.map(\.1)).count == 1 {
            return escape(byHost.first?.1 ?? "") + (multi ? " (all hosts)" : "")
        }
        return byHost.map { multi ? "\(escape($0.1)) (\(escape($0.0)))" : escape($0.1) }.joined(separator: "; ")
    }

    /// Every reset of every host, with its host, in time order (records without a time last, in input order).
    public var resets: [(host: String, record: Record)] {
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
public enum ResetView {
    static func string(_ r: Record, _ k: String) -> String? {
        guard let v = r[k] else { return nil }
        if case .string(let s) = v { return s.isEmpty ? nil : s }
        return v.display
    }

    public static func time(_ r: Record) -> Double? { r["time"]?.number.flatMap { $0.isFinite ? $0 : nil } }
    public static func source(_ r: Record) -> String { string(r, "source") ?? "" }
    public static func cause(_ r: Record) -> String { string(r, "cause") ?? "unclassified" }

    /// `sent` / `received` from the trace; from a capture, whether this host or the peer sent it.
    public static func direction(_ r: Record) -> String {
        if let d = string(r, "direction") { return d }
        switch string(r, "sender") {
        case "local"?: return "sent"
        case "remote"?, "peer"?: return "received"
        case let s?: return s
        case nil: return "unknown"
        }
    }

    public static func endpoint(_ r: Record, _ addr: String, _ port: String) -> String {
        guard let a = string(r, addr) else { return "" }
        let p = string(r, port).map { ":\($0)" } ?? ""
        return a.contains(":") && !p.isEmpty ? "[\(a)]\(p)" : a + p
    }

    /// The most specific classification: class for captures, reason for traces.
    public static func detail(_ r: Record) -> String {
        [string(r, "class"), string(r, "reason"), string(r, "drop").map { "drop \($0)" }, string(r, "flags"),
         (string(r, "process") ?? string(r, "task")).map { "process \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    public static func explain(_ r: Record) -> String { string(r, "explain") ?? "" }

    public static func timeText(_ r: Record) -> String {
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

    public init(from decoder: any Decoder) throws {
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
