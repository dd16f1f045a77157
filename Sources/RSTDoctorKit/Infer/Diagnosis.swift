import Foundation

/// Who and where a diagnosis is about.
public struct HostInfo: Sendable, Codable {
    public var hostname: String
    public var kernel: String
    public var netns: String
    public var port: Int?
    public var peer: String?
    public var started: Date
    public var window: Double
    public var source: String

    public init(hostname: String, kernel: String, netns: String, port: Int?, peer: String?, started: Date, window: Double, source: String) {
        self.hostname = hostname
        self.kernel = kernel
        self.netns = netns
        self.port = port
        self.peer = peer
        self.started = started
        self.window = window
        self.source = source
    }

    /// This machine's name and kernel release.
    public static func local(netns: String, port: Int?, peer: String?, window: Double) -> HostInfo {
        var u = utsname()
        uname(&u)
        func str<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return HostInfo(hostname: str(u.nodename), kernel: str(u.release), netns: netns, port: port, peer: peer, started: Date(), window: window, source: "live")
    }
}

/// A check as reported: its status after inference (`finding` when a rule for a cause used its facts).
public struct CheckReport: Sendable {
    public var id: String
    public var title: String
    public var step: String
    public var status: CheckStatus
    public var reason: String
    public var fix: String?
    public var durationMs: Int
}

/// The ranked diagnosis every renderer reads.
public struct Diagnosis: Sendable {
    public var host: HostInfo
    public var causes: [CauseResult]
    public var checks: [CheckReport]
    public var facts: FactStore
    /// Per-RST findings from captures and kernel traces (records of `capture.resets` and `trace.resets`).
    public var resets: [Record]
    public var answers: [String: String]
    public var knowledgeProblems: Int

    /// Causes at or above this probability are "likely" (exit code 1).
    public static let likely = 0.5

    public var likelyCauses: [CauseResult] { causes.filter { $0.probability >= Self.likely } }
}

/// The whole pipeline after collection: facts → inference → diagnosis.
public enum Diagnoser {
    public static func diagnose(kb: KnowledgeBase, records: [CheckRecord], extraFacts: [Fact], host: HostInfo,
                                answers: [String: String], knowledgeProblems: Int = 0) -> Diagnosis {
        var (store, recs) = EvidenceBuilder.facts(from: records, kb: kb)
        for f in extraFacts { store.add(f) }
        for (k, v) in answers { store.add(Fact(key: "answer.\(k)", value: .string(v), source: FactSource(check: "answer", origin: "--answer \(k)"))) }
        let out = Engine(kb: kb).infer(store)

        // A check has a finding when a fired rule pointing at a cause read its facts (directly or
        // through derived facts, whose source names the checks behind them).
        var findingChecks = Set<String>()
        for r in kb.rules where r.causeID != nil && r.weight > 0 && out.ruleOutcomes[r.id] == true {
            for read in r.reads {
                guard let f = out.facts[read], f.isKnown else { continue }
                findingChecks.formUnion(f.source.checks)
            }
        }
        var reports: [CheckReport] = []
        for rec in recs {
            guard let def = kb.check(rec.id) else { continue }
            var status = rec.status
            if status == .ok && findingChecks.contains(rec.id) { status = .finding }
            reports.append(CheckReport(id: rec.id, title: def.title, step: def.step, status: status, reason: rec.reason, fix: rec.fix, durationMs: rec.durationMs))
        }
        var resets: [Record] = []
        for key in ["capture.resets", "trace.resets"] {
            if case .records(let r)? = out.facts.value(key) {
                resets += r.map { var x = $0; x["source"] = .string(key.hasPrefix("capture") ? "capture" : "trace"); return x }
            }
        }
        return Diagnosis(host: host, causes: out.causes, checks: reports, facts: out.facts, resets: resets, answers: answers, knowledgeProblems: knowledgeProblems)
    }
}
