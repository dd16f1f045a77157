import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// The guided diagnosis (issue 6): walks the six troubleshooting steps, runs their checks, asks
/// the questions whose answers would change the ranking most, and explains itself. It owns the
/// session state and saves it after every command; the REPL feeds it lines.
package final class Session {
    package let kb: KnowledgeBase
    package internal(set) var state: SessionState
    /// Where the session is saved as it goes.
    package let path: String
    package let hooks: SessionHooks
    package let knowledgeProblems: Int
    let out: SessionOutput
    let style: Style
    let gate: InterruptGate
    var host: HostInfo
    var options = CollectOptions()
    /// With `--from`: the bundle's records; checks are "run" by reading them from it.
    var bundleRecords: [CheckRecord]?
    /// The last question asked, for `why` after it was answered.
    var lastAsked: String?
    var saveWarned = false
    package internal(set) var wantsQuit = false
    /// Whether a new session without a focus asks for it first (on a terminal; a script sets it
    /// with `focus` / `logs` / `netns` lines or the command's options).
    package var asksFocus = false
    /// The journal `history` reads without `--journal` (nil: the one `rstdoctor record` writes for this user).
    package var defaultJournal: String?

    package init(kb: KnowledgeBase, state: SessionState, path: String, output: SessionOutput, style: Style,
                hooks: SessionHooks = SessionHooks(), gate: InterruptGate = InterruptGate(), knowledgeProblems: Int = 0) throws(ValidationError) {
        self.kb = kb
        self.state = state
        self.path = path
        self.out = output
        self.style = style
        self.hooks = hooks
        self.gate = gate
        self.knowledgeProblems = knowledgeProblems
        self.host = HostInfo(hostname: "", kernel: "", netns: "host", port: nil, peer: nil, started: state.created, window: state.target.window, source: "live")
        try adopt(state.target)
        self.state = Self.sanitised(self.state, kb: kb)
    }

    /// A session file may come from another knowledge base or be edited by hand: keep only what
    /// this one can use, so a stale index or id can never crash the walk.
    static func sanitised(_ s: SessionState, kb: KnowledgeBase) -> SessionState {
        var s = s
        if let i = s.step, i < 0 || i >= kb.steps.count { s.step = nil }
        if let p = s.pending, kb.question(p) == nil { s.pending = nil }
        if !(s.target.window > 0 && s.target.window <= 600) { s.target.window = 1 }
        return s
    }

    /// Sets up collection for a target: a bundle, or the live host / namespace.
    func adopt(_ target: SessionState.Target) throws(ValidationError) {
        var o = CollectOptions()
        o.port = target.port.flatMap { UInt16(exactly: $0) }
        o.peer = target.peer
        o.window = target.window
        o.logs = target.logs
        o.units = target.units
        if let n = target.netns { o.target = .named(try Validate.netnsName(n)) }
        if let p = target.pid { o.target = .pid(p) }
        if let dir = target.bundle {
            // The bundle's focus, answers and observed facts count unless the session says otherwise.
            let b = try Bundle.contents(dir)
            var h = b.host
            if let p = target.port { h.port = p } else { o.port = h.port.flatMap { UInt16(exactly: $0) } }
            if let p = target.peer { h.peer = p } else { o.peer = h.peer }
            for (k, v) in b.answers where state.answers[k] == nil && !state.dontKnow.contains(k) { state.answers[k] = v }
            for f in b.facts where !state.facts.contains(where: { $0.key == f.key }) { state.facts.append(StoredFact(f)) }
            bundleRecords = b.records
            host = h
        } else {
            bundleRecords = nil
            host = HostInfo.local(netns: o.target.display, port: target.port, peer: target.peer, window: target.window)
        }
        host.started = state.created
        options = o
        state.host = host
    }

    /// The diagnosis a saved session stands at, without a terminal, the live host or its bundle
    /// (for `rstdoctor report --session FILE`).
    package static func diagnosis(of state: SessionState, kb: KnowledgeBase) -> Diagnosis {
        let s = sanitised(state, kb: kb)
        var host = s.host ?? HostInfo(hostname: "unknown", kernel: "unknown", netns: s.target.netns ?? (s.target.pid.map { "pid \($0)" } ?? "host"),
                                      port: s.target.port, peer: s.target.peer, started: s.created, window: s.target.window, source: "session")
        host.started = s.created
        let port = s.target.port.flatMap { UInt16(exactly: $0) }
        let context = EvidenceBuilder.contextFacts(port: port, peer: s.target.peer, window: host.window, netns: host.netns) + sideFacts(s.target)
        return Pipeline.diagnose(kb: kb, records: s.records, extraFacts: context + s.facts.map(\.fact), host: host, answers: s.answers)
    }

    // MARK: evidence and inference

    /// The inference input: facts of the checks that ran, the run's context, hook facts, answers.
    package func inputFacts(withoutAnswer: String? = nil) -> FactStore {
        var (store, _) = EvidenceBuilder.facts(from: state.records, catalog: kb.catalog)
        for f in contextFacts() { store.add(f) }
        for f in state.facts { store.add(f.fact) }
        for (k, v) in state.answers where k != withoutAnswer {
            store.add(Fact(key: "answer.\(k)", value: .string(v), source: FactSource(check: "answer", origin: "you answered \(k)")))
        }
        return store
    }

    func contextFacts() -> [Fact] {
        // The window the counters really covered (an observe window, maybe cut short), not the one asked for.
        let window = state.records.first { $0.id == "counters" }?.window ?? host.window
        return EvidenceBuilder.contextFacts(port: options.port, peer: options.peer, window: window, netns: host.netns)
            + Self.sideFacts(state.target)
    }

    /// `focus.side`: which side this host is, when the user said so.
    static func sideFacts(_ t: SessionState.Target) -> [Fact] {
        guard let side = t.side else { return [] }
        return [Fact(key: "focus.side", value: .string(side), source: FactSource(check: "options", origin: "you said this host is the \(side)"))]
    }

    package func diagnosis() -> Diagnosis {
        Pipeline.diagnose(kb: kb, records: state.records, extraFacts: contextFacts() + state.facts.map(\.fact), host: host,
                           answers: state.answers, knowledgeProblems: knowledgeProblems)
    }

    var excludedQuestions: Set<String> { Set(state.answers.keys).union(state.dontKnow) }

    // MARK: output

    func say(_ s: String = "") { out.write(s.hasSuffix("\n") ? s : s + "\n") }
    func t(_ s: String) -> String { Sanitize.terminal(s) }

    package func save() {
        state.updated = Date()
        do {
            try state.save(to: path)
        } catch {
            if !saveWarned { say("warning: \(error.message). The session goes on, but is not being saved.") }
            saveWarned = true
        }
    }

    /// What a command may change, cheaply comparable.
    struct Fingerprint: Equatable {
        var answers: [String: String]
        var dontKnow: [String]
        var step: Int?
        var pending: String?
        var finished: Bool
        var stepsDone: [String]
        var records: [String]
        var facts: [StoredFact]
        var created: Date
        var target: SessionState.Target
        var interview: String?
        var observed: [String: String]?
    }

    var fingerprint: Fingerprint {
        Fingerprint(answers: state.answers, dontKnow: state.dontKnow, step: state.step, pending: state.pending, finished: state.finished,
                    stepsDone: state.stepsDone, records: state.records.map { "\($0.id) \($0.status) \($0.durationMs) \($0.samples.count)" },
                    facts: state.facts, created: state.created, target: state.target, interview: state.interview, observed: state.observed)
    }

    /// The prompt shows the focus: `[:8080 peer 198.18.0.7] rstdoctor> `.
    package var prompt: String {
        if state.interview != nil { return "focus> " }
        let focus = focusSummary.isEmpty ? "" : "[\(focusSummary)] "
        return focus + (state.pending != nil ? "answer> " : "rstdoctor> ")
    }

    package var pendingQuestion: Question? { state.pending.flatMap { kb.question($0) } }

    /// What Tab completion needs now.
    package var completionContext: SessionCommands.Context {
        var c = SessionCommands.Context(kb: kb, pending: pendingQuestion, factKeys: diagnosis().facts.keys,
                                        reportFormats: Array(Set(hooks.reportFormats + ["text", "json"])).sorted())
        c.ports = listeningPorts().map { String($0.port) }
        c.namespaces = namespaces()
        c.units = hooks.units?() ?? []
        c.evidence = droppable()
        c.interfaces = interfaces()
        return c
    }

}
