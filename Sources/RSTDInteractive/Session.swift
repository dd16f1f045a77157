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
    package private(set) var state: SessionState
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
    package private(set) var wantsQuit = false

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
            var (records, h) = try Bundle.read(dir)
            h.port = target.port
            h.peer = target.peer
            bundleRecords = records
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
        let context = EvidenceBuilder.contextFacts(port: port, peer: s.target.peer, window: host.window, netns: host.netns)
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
        EvidenceBuilder.contextFacts(port: options.port, peer: options.peer, window: host.window, netns: host.netns)
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
    }

    var fingerprint: Fingerprint {
        Fingerprint(answers: state.answers, dontKnow: state.dontKnow, step: state.step, pending: state.pending, finished: state.finished,
                    stepsDone: state.stepsDone, records: state.records.map { "\($0.id) \($0.status) \($0.durationMs) \($0.samples.count)" },
                    facts: state.facts, created: state.created)
    }

    package var prompt: String { state.pending != nil ? "answer> " : "rstdoctor> " }

    package var pendingQuestion: Question? { state.pending.flatMap { kb.question($0) } }

    /// What Tab completion needs now.
    package var completionContext: SessionCommands.Context {
        SessionCommands.Context(kb: kb, pending: pendingQuestion, factKeys: diagnosis().facts.keys,
                                reportFormats: Array(Set(hooks.reportFormats + ["text", "json"])).sorted())
    }

    // MARK: start, resume, end

    func banner() {
        var focus: [String] = []
        if let p = host.port { focus.append("port \(p)") }
        if let p = host.peer { focus.append("peer \(t(p))") }
        say(style.bold("rstdoctor") + " — guided diagnosis of TCP resets")
        var where_ = "\(t(host.hostname)) (Linux \(t(host.kernel))), network namespace \(t(host.netns)), "
        where_ += focus.isEmpty ? "whole host" : "focus \(focus.joined(separator: ", "))"
        where_ += host.source == "live" ? "" : "; reading \(t(host.source))"
        say(SessionText.wrap(where_, indent: 0))
        if knowledgeProblems > 0 {
            say(style.yellow("warning: the knowledge base has \(knowledgeProblems) problem(s); `rstdoctor knowledge lint` lists them"))
        }
    }

    /// A new session: quick checks first, the ranking, then an invitation to walk the steps.
    package func start(notice: String? = nil) async {
        banner()
        if let notice { say(SessionText.wrap(t(notice), indent: 0)) }
        say(SessionText.wrap("I'll go through the \(kb.steps.count) troubleshooting steps with you: for each I say what it is for, run its checks, show what they found, and ask only the questions whose answer could change the ranking. `help` lists the commands; Ctrl-D quits; the session is saved as it goes.", indent: 0))
        save()
        let quick = kb.checks.filter { $0.quick && !$0.optIn }
        say()
        if quick.isEmpty {
            say("No quick checks in this knowledge base; each step runs its own.")
        } else {
            say("Quick checks first:")
            await runAndShow(quick, movers: false)
        }
        say()
        say(SessionText.ranking(diagnosis(), style: style))
        invite()
    }

    /// Continues a saved session where it stopped.
    package func resume(from file: String) async {
        banner()
        let stepText = state.step.flatMap { $0 < kb.steps.count ? "at step \($0 + 1) (\(t(kb.steps[$0].title)))" : nil } ?? "before the first step"
        say("Resumed the session saved in \(t(file)): \(state.records.count) checks ran, \(state.answers.count) answers, \(stepText).")
        say()
        say(SessionText.ranking(diagnosis(), style: style))
        if let q = pendingQuestion { ask(q) } else { invite() }
    }

    func invite() {
        guard state.pending == nil else { return }
        if state.finished {
            say("The walk through the steps is done. `rank`, `how CAUSE`, `report FILE`, or `quit`.")
            return
        }
        let nextIndex = (state.step ?? -1) + 1
        if nextIndex < kb.steps.count {
            let s = kb.steps[nextIndex]
            say("Type `next` (or press Enter) for step \(nextIndex + 1): \(t(s.title)) — \(t(s.purpose)).")
        } else {
            say("Type `next` (or press Enter) for the conclusion.")
        }
    }

    /// The closing words; returns the exit code (1 when a cause is likely, as `check`).
    package func end() -> Int32 {
        save()
        let d = diagnosis()
        if let top = d.likelyCauses.first {
            say("Most likely: \(t(top.cause.id)) (\(SessionText.pctShort(top.probability))).")
        } else {
            say("No cause is likely from what was seen so far.")
        }
        say("Session saved to \(t(path)): `rstdoctor diagnose --resume` continues it.")
        return d.likelyCauses.isEmpty ? 0 : 1
    }

    // MARK: commands

    /// Handles one line typed at the prompt.
    package func handle(_ line: String) async {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty { state.remember(command: trimmed) }
        // Raw outputs can be large: rewrite the file only when the command changed something
        // (the typed history alone waits for the next change or the end; readline keeps it too).
        let before = fingerprint
        defer { if fingerprint != before { save() } }
        if let q = pendingQuestion, let choice = Self.parseAnswer(trimmed, q) {
            await answer(q, choice, continueFlow: true)
            return
        }
        if trimmed.isEmpty {
            if let q = pendingQuestion {
                say("Waiting for an answer to “\(t(q.text))”: 1–\(q.answers.count + 1), or an answer id. `why` says why I ask; `next` skips it.")
            } else if !state.finished {
                await next()
            } else {
                invite()
            }
            return
        }
        let words = SessionCommands.words(trimmed)
        guard let first = words.first else { return }
        guard let spec = SessionCommands.spec(first.lowercased()) else {
            if let q = pendingQuestion {
                say("“\(t(first))” is neither an answer nor a command. Answer “\(t(q.text))” with 1–\(q.answers.count + 1), an answer id (\(q.answers.map { t($0.id) }.joined(separator: ", "))) or d for don't know; `why` says why I ask.")
            } else {
                let near = SessionCommands.nearest(first).map { " Did you mean `\($0)`?" } ?? ""
                say("Unknown command `\(t(first))`.\(near) `help` lists the commands.")
            }
            return
        }
        let args = Array(words.dropFirst())
        switch spec.name {
        case "help": say(SessionCommands.help(args.first))
        case "next": await next()
        case "step": await step(args.first)
        case "run": await run(args)
        case "ask": askCommand(args.first)
        case "answer": await answerCommand(args)
        case "rank": say(SessionText.ranking(diagnosis(), style: style, all: args.first == "all"))
        case "why": why(args.first)
        case "how": how(args.first)
        case "facts": say(SessionText.facts(diagnosis(), filter: args.isEmpty ? nil : args.joined(separator: " "), style: style))
        case "observe": await observe(args.first)
        case "capture": await capture(args.first)
        case "report": report(args)
        case "save": saveCommand(args.first)
        case "load": await load(args.first)
        case "quit": wantsQuit = true
        default: say("`\(spec.name)` is not implemented.")
        }
    }

    /// An answer typed at a pending question: a number, an answer id, or "don't know".
    package enum AnswerChoice: Equatable, Sendable {
        case answer(String)
        case dontKnow
    }

    package static func parseAnswer(_ text: String, _ q: Question) -> AnswerChoice? {
        let s = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !s.isEmpty else { return nil }
        if let n = Int(s) {
            if n >= 1 && n <= q.answers.count { return .answer(q.answers[n - 1].id) }
            if n == q.answers.count + 1 { return .dontKnow }
            return nil
        }
        if ["d", "dk", "dont-know", "dont know", "don't know", "dontknow", "idk", "unknown"].contains(s) { return .dontKnow }
        if let a = q.answers.first(where: { $0.id.lowercased() == s }) { return .answer(a.id) }
        return nil
    }

    // MARK: the walk

    func next() async {
        if let q = state.pending {
            say("Skipping the question `\(t(q))` for now (`ask \(t(q))` brings it back).")
            state.pending = nil
        }
        let i = (state.step ?? -1) + 1
        if i < kb.steps.count && !state.finished {
            await enterStep(i)
        } else {
            conclude()
        }
    }

    /// Runs a step: what it is for, its checks, what they found, then its questions.
    func enterStep(_ i: Int) async {
        guard i >= 0, i < kb.steps.count else { return }
        state.step = i
        state.finished = false
        state.pending = nil
        let s = kb.steps[i]
        say()
        say(style.bold("Step \(i + 1) of \(kb.steps.count): \(t(s.title))") + " — \(t(s.purpose))")
        if !s.guidance.isEmpty { say(SessionText.wrap(t(s.guidance), indent: 2)) }
        let defs = kb.checks.filter { $0.step == s.id }
        let ran = Set(state.records.map(\.id))
        let toRun = defs.filter { !ran.contains($0.id) }
        say()
        if defs.isEmpty {
            var note = "  No check belongs to this step in this knowledge base."
            if s.id == "packet-sniffer" { note += " `observe 10s` watches live while the resets happen; `capture FILE` reads a capture." }
            say(note)
        } else {
            let already = defs.filter { ran.contains($0.id) }.map(\.id)
            if !toRun.isEmpty { await runAndShow(toRun, alsoShow: already) }
            else {
                say(SessionText.checkResults(already, diagnosis(), style: style), terminator: "")
                say(SessionText.found(Set(already), diagnosis(), kb: kb, style: style), terminator: "")
            }
            if !already.isEmpty { say(style.dim("  (\(already.joined(separator: ", ")) ran before; `run \(s.id)` runs them again)")) }
        }
        askNextOrConclude()
    }

    func say(_ s: String, terminator: String) { out.write(s + terminator) }

    /// After a step's checks or an answer: the next question worth asking, or the step's end.
    func askNextOrConclude() {
        guard state.pending == nil else { return }
        guard let i = state.step else {
            invite()
            return
        }
        if state.finished || i >= kb.steps.count {
            conclude()
            return
        }
        let s = kb.steps[i]
        if let sc = QuestionChoice.next(kb: kb, facts: inputFacts(), excluding: excludedQuestions, steps: [s.id]) {
            ask(sc.question)
            return
        }
        let open = kb.questions.filter { $0.step == s.id && !excludedQuestions.contains($0.id) }
        if !open.isEmpty {
            say(noUsefulQuestion(open.map(\.id), scope: "this step's"))
        }
        if !state.stepsDone.contains(s.id) { state.stepsDone.append(s.id) }
        if i + 1 < kb.steps.count {
            say("Step \(i + 1) done. `next` (or Enter) goes on to step \(i + 2): \(t(kb.steps[i + 1].title)).")
        } else {
            say("That was the last of the \(kb.steps.count) steps.")
            conclude()
        }
    }

    func noUsefulQuestion(_ ids: [String], scope: String) -> String {
        let d = diagnosis()
        let top = d.causes.first.map { "\(t($0.cause.id)), \(SessionText.pctShort($0.probability))" } ?? "none"
        return SessionText.wrap("No answer to \(scope) open question\(ids.count == 1 ? "" : "s") (\(ids.map(t).joined(separator: ", "))) could change the top of the ranking (\(top)), so I won't ask \(ids.count == 1 ? "it" : "them"); `ask ID` asks anyway.", indent: 0)
    }

    /// After the last step: one more sweep for questions that could still change the top, then the verdict.
    func conclude() {
        state.finished = true
        state.step = kb.steps.isEmpty ? nil : kb.steps.count - 1
        if let sc = QuestionChoice.next(kb: kb, facts: inputFacts(), excluding: excludedQuestions) {
            say("Before concluding: a question from the \(t(kb.step(sc.question.step)?.title ?? sc.question.step)) step could still change the top of the ranking.")
            ask(sc.question)
            return
        }
        verdict()
    }

    func verdict() {
        let d = diagnosis()
        say()
        say("No open question could change the top of the ranking, so I stop asking.")
        say(SessionText.ranking(d, style: style))
        if let top = d.likelyCauses.first {
            say(style.bold("Conclusion:") + " most likely \(t(top.cause.id)) — \(t(top.cause.title)) (\(SessionText.pctShort(top.probability))).")
            for r in top.cause.remedies.prefix(2) {
                say(SessionText.wrap("• " + t(r.text), indent: 2))
                if let c = r.change { say("      change: " + style.cyan(t(c))) }
                if let v = r.verify { say("      verify: " + t(v)) }
            }
            say("`how \(t(top.cause.id))` shows the chain of evidence; `report FILE` writes it all up (remedies are shown, never applied).")
        } else {
            let lead = d.causes.first.map { "\(t($0.cause.id)) at \(SessionText.pctShort($0.probability))" } ?? "none"
            say(style.bold("Conclusion:") + " no cause is likely from what could be seen (the leader is \(lead)).")
            let unseen = d.checks.filter { $0.status == .skipped || $0.status == .failed }
            if !unseen.isEmpty { say("\(unseen.count) check\(unseen.count == 1 ? "" : "s") could not run (\(unseen.map { t($0.id) }.joined(separator: ", "))): fixing that may show more.") }
            say("While the resets happen, `observe 30s` watches them live; `capture FILE` reads a capture taken elsewhere.")
        }
    }

    func ask(_ q: Question) {
        state.pending = q.id
        lastAsked = q.id
        say()
        say(style.bold("Question") + " (\(t(kb.step(q.step)?.title ?? q.step))): " + style.bold(t(q.text)))
        if !q.help.isEmpty { say(style.dim(SessionText.wrap(t(q.help), indent: 2))) }
        for (i, a) in q.answers.enumerated() { say("   \(i + 1)) \(t(a.text))") }
        say("   \(q.answers.count + 1)) Don't know")
        say(style.dim("  Type a number or an answer id (\(q.answers.map { t($0.id) }.joined(separator: ", "))); `why` says why I ask."))
    }

    func answer(_ q: Question, _ choice: AnswerChoice, continueFlow: Bool) async {
        let before = diagnosis()
        switch choice {
        case .dontKnow:
            state.answers.removeValue(forKey: q.id)
            if !state.dontKnow.contains(q.id) { state.dontKnow.append(q.id) }
            say("Noted: you don't know (\(t(q.id))); I won't ask it again.")
        case .answer(let a):
            let text = q.answers.first { $0.id == a }?.text ?? a
            if let old = state.answers[q.id], old != a {
                say("Changed \(t(q.id)): \(t(old)) → \(t(a)) (\(t(text))).")
            } else {
                say("Noted: \(t(q.id)) = \(t(a)) (\(t(text))).")
            }
            state.answers[q.id] = a
            state.dontKnow.removeAll { $0 == q.id }
        }
        let wasPending = state.pending == q.id
        if wasPending { state.pending = nil }
        save()
        say(SessionText.movers(from: before, to: diagnosis(), style: style), terminator: "")
        if continueFlow && wasPending { askNextOrConclude() }
    }

    func answerCommand(_ args: [String]) async {
        guard args.count >= 2 else {
            say("usage: answer <question> <answer> — e.g. `answer reset_timing after-idle`. Questions: \(kb.questions.map { t($0.id) }.joined(separator: ", ")).")
            return
        }
        guard let q = question(args[0]) else { return }
        let text = args.dropFirst().joined(separator: " ")
        guard let choice = Self.parseAnswer(text, q) else {
            say("“\(t(text))” is not an answer to \(t(q.id)) (\(t(q.text))). Answers: \(q.answers.map { t($0.id) }.joined(separator: ", ")), or dont-know.")
            return
        }
        await answer(q, choice, continueFlow: q.id == state.pending)
    }

    /// Looks a question up, or says what exists.
    func question(_ id: String) -> Question? {
        if let q = kb.question(id) { return q }
        let near = DidYouMean.hint(id, in: kb.questions.map(\.id))
        say("There is no question `\(t(id))`.\(near) Questions: \(kb.questions.map { t($0.id) }.joined(separator: ", ")).")
        return nil
    }

    func askCommand(_ id: String?) {
        if let id {
            guard let q = question(id) else { return }
            if let a = state.answers[q.id] { say("You answered \(t(q.id)) = \(t(a)); a new answer replaces it.") }
            state.dontKnow.removeAll { $0 == q.id }
            ask(q)
            return
        }
        let ranked = QuestionChoice.rank(kb: kb, facts: inputFacts(), excluding: excludedQuestions)
        if let sc = ranked.first(where: { $0.changesTop }) {
            ask(sc.question)
        } else if ranked.isEmpty {
            say("Every question is answered (or marked don't know). `answer QUESTION ANSWER` changes an answer.")
        } else {
            say(noUsefulQuestion(ranked.map(\.question.id), scope: "the"))
        }
    }

    func step(_ name: String?) async {
        guard let name else {
            if let i = state.step, i < kb.steps.count {
                say(state.finished ? "The walk through the steps is done." : "You are at step \(i + 1) of \(kb.steps.count): \(t(kb.steps[i].title)).")
            } else {
                say("The walk has not started: `next` starts step 1.")
            }
            for (n, s) in kb.steps.enumerated() {
                let mark = state.stepsDone.contains(s.id) ? "done" : (state.step == n && !state.finished ? "here" : "    ")
                say("  \(mark)  \(n + 1). \(t(s.id).padding(toLength: 18, withPad: " ", startingAt: 0)) \(t(s.title)) — \(t(s.purpose))")
            }
            return
        }
        let lower = name.lowercased()
        let index = Int(lower).map { $0 - 1 }
            ?? kb.steps.firstIndex { $0.id == lower }
            ?? kb.steps.firstIndex { $0.title.lowercased().hasPrefix(lower) }
        guard let i = index, i >= 0, i < kb.steps.count else {
            let near = DidYouMean.hint(lower, in: kb.steps.map(\.id))
            say("There is no step `\(t(name))`.\(near) Steps: \(kb.steps.map { t($0.id) }.joined(separator: ", ")) (or 1–\(kb.steps.count)).")
            return
        }
        await enterStep(i)
    }

    func run(_ args: [String]) async {
        guard let target = args.first else {
            say("usage: run <check|step|all> — e.g. `run \(kb.checks.first?.id ?? "sysctls")`, `run server-load` or `run all`.")
            return
        }
        let defs: [CheckDefinition]
        if target == "all" {
            defs = kb.checks
        } else if let c = kb.check(target) {
            defs = [c]
        } else if let s = kb.step(target) {
            defs = kb.checks.filter { $0.step == s.id }
            if defs.isEmpty { say("No check belongs to the step \(t(s.id)) in this knowledge base."); return }
        } else {
            let near = DidYouMean.hint(target, in: kb.checks.map(\.id) + kb.steps.map(\.id) + ["all"])
            say("`\(t(target))` is neither a check nor a step.\(near) `run all` runs every check; Tab completes ids.")
            return
        }
        await runAndShow(defs)
    }

    /// Runs checks (Ctrl-C cancels), stores their records, and shows results, findings and how the ranking moved.
    func runAndShow(_ defs: [CheckDefinition], alsoShow: [String] = [], movers: Bool = true) async {
        let before = diagnosis()
        let records = await runChecks(defs)
        for r in records { state.record(r) }
        save()
        let after = diagnosis()
        let ids = alsoShow + defs.map(\.id)
        say(SessionText.checkResults(ids, after, style: style), terminator: "")
        say(SessionText.found(Set(ids), after, kb: kb, style: style), terminator: "")
        if movers { say(SessionText.movers(from: before, to: after, style: style), terminator: "") }
    }

    func runChecks(_ defs: [CheckDefinition]) async -> [CheckRecord] {
        if let bundle = bundleRecords {
            return defs.map { d in
                bundle.first { $0.id == d.id }
                    ?? CheckRecord(id: d.id, status: .skipped, reason: "not in the bundle (it was collected without this check)",
                                   fix: "collect a new bundle with `rstdoctor collect -o DIR`, or diagnose the live host")
            }
        }
        let collector = Collector(catalog: kb.catalog, options: options)
        let list = defs
        let announce = { if !list.isEmpty { self.say(self.style.dim("Running \(list.count) check\(list.count == 1 ? "" : "s")… (Ctrl-C cancels)")) } }
        let (results, _) = await gate.cancellable(started: announce) { () async -> [(Int, CheckRecord, Bool)] in
            await withTaskGroup(of: (Int, CheckRecord, Bool).self) { group in
                for (i, d) in list.enumerated() {
                    group.addTask { let r = await collector.run(d); return (i, r, Task.isCancelled) }
                }
                var out: [(Int, CheckRecord, Bool)] = []
                for await x in group { out.append(x) }
                return out.sorted { $0.0 < $1.0 }
            }
        }
        return results.map { (_, r, cancelled) in
            cancelled ? CheckRecord(id: r.id, status: .skipped, reason: "cancelled with Ctrl-C", fix: "`run \(r.id)` runs it again") : r
        }
    }

    func why(_ id: String?) {
        let qid = id ?? state.pending ?? lastAsked
        guard let qid else {
            say("No question is pending. `why QUESTION` explains any question; `ask` asks the most telling one.")
            return
        }
        guard let q = question(qid) else { return }
        let sc = QuestionChoice.score(q, kb: kb, facts: inputFacts(withoutAnswer: q.id))
        say(SessionText.why(sc, style: style), terminator: "")
        if let a = state.answers[q.id] { say("  (You answered \(t(a)); the figures above are for before that answer.)") }
    }

    func how(_ id: String?) {
        guard let id else {
            say("usage: how <cause> — e.g. `how \(diagnosis().causes.first?.cause.id ?? "no-listener")`. Tab completes cause ids.")
            return
        }
        guard kb.cause(id) != nil else {
            let near = DidYouMean.hint(id, in: kb.causes.map(\.id))
            say("There is no cause `\(t(id))`.\(near) `rank all` lists them.")
            return
        }
        say(SessionText.how(id, diagnosis(), kb: kb, style: style), terminator: "")
    }

    // MARK: hooks

    func merge(_ ev: SessionEvidence, what: String) {
        for r in ev.records { state.record(r) }
        for f in ev.facts {
            state.facts.removeAll { $0.key == f.key }
            state.facts.append(StoredFact(f))
        }
        if !ev.summary.isEmpty { say(SessionText.wrap(t(ev.summary), indent: 2)) }
        _ = what
    }

    func observe(_ arg: String?) async {
        guard let arg else { say("usage: observe <duration> — e.g. `observe 30s` while the resets happen."); return }
        let seconds: Double
        do { seconds = try Validate.duration(arg, min: 1, max: 3600) } catch { say(error.message); return }
        guard let hook = hooks.observe else {
            say("observe is not available in this build (the live capture and kernel-trace pipeline is not linked in). Meanwhile: `rstdoctor check --observe \(Seconds.render(seconds))` if your build has it, or `capture FILE` with a tcpdump capture.")
            return
        }
        if bundleRecords != nil { say("This session reads a bundle (--from): there is no live host to observe."); return }
        await runHook(what: "observe", announce: "Observing for \(Seconds.render(seconds))… (Ctrl-C stops early)") { [options] in try await hook(seconds, options) }
    }

    func capture(_ arg: String?) async {
        guard let arg else { say("usage: capture <file> — a pcap or pcapng file (tcpdump -w, Wireshark)."); return }
        let path: String
        do { path = try Validate.path(arg) } catch { say(error.message); return }
        guard let hook = hooks.capture else {
            say("capture is not available in this build (the capture decoder is not linked in). `tshark -r \(t(path)) -Y tcp.flags.reset==1` lists the resets meanwhile.")
            return
        }
        guard FileManager.default.isReadableFile(atPath: path) else { say("Cannot read \(t(path)): check the path and permissions."); return }
        await runHook(what: "capture") { [options] in try await hook(path, options) }
    }

    func runHook(what: String, announce: String? = nil, _ work: @escaping @Sendable () async throws -> SessionEvidence) async {
        let before = diagnosis()
        let (result, cancelled) = await gate.cancellable(started: { if let announce { self.say(announce) } }) { () async -> Result<SessionEvidence, ValidationError> in
            do { return .success(try await work()) } catch let e as ValidationError { return .failure(e) } catch { return .failure(ValidationError("\(error)")) }
        }
        switch result {
        case .success(let ev):
            if cancelled { say("(stopped early with Ctrl-C; using what was seen)") }
            merge(ev, what: what)
            save()
            let after = diagnosis()
            let ids = ev.records.map(\.id)
            if !ids.isEmpty {
                say(SessionText.checkResults(ids, after, style: style), terminator: "")
                say(SessionText.found(Set(ids), after, kb: kb, style: style), terminator: "")
            }
            say(SessionText.movers(from: before, to: after, style: style), terminator: "")
        case .failure(let e):
            say(cancelled ? "\(what) was cancelled with Ctrl-C." : "\(what) failed: \(t(e.message))")
        }
    }

    func report(_ args: [String]) {
        var file: String?
        var format: String?
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--format" || a == "-f" {
                guard i + 1 < args.count else { say("--format needs a value: \(reportFormats.joined(separator: ", "))."); return }
                format = args[i + 1]
                i += 2
                continue
            }
            if a.hasPrefix("--format=") { format = String(a.dropFirst(9)); i += 1; continue }
            if a.hasPrefix("-") { say("Unknown option `\(t(a))`: usage: report [file] [--format \(reportFormats.joined(separator: "|"))]."); return }
            if file != nil { say("report writes one file: usage: report [file] [--format F]."); return }
            file = a
            i += 1
        }
        if let f = file {
            do { file = try Validate.path(f) } catch { say(error.message); return }
        }
        let fmt = (format ?? file.map(Self.formatFor) ?? "text").lowercased()
        guard reportFormats.contains(fmt) else {
            say("report --format \(t(fmt)) is not available in this build; it has \(reportFormats.joined(separator: ", ")).")
            return
        }
        let d = diagnosis()
        let text: String
        if fmt == "text" {
            text = TextRender.render(d, style: file == nil ? style : Style(enabled: false))
        } else if let hook = hooks.report {
            do { text = try hook(d, kb, fmt) } catch { say("The report could not be rendered: \(t("\(error)"))."); return }
        } else {
            text = CheckJSON.render(d).serialized() + "\n"
        }
        guard let file else { out.write(text); return }
        do {
            try AtomicFile.write(Data(text.utf8), to: file)
            say("Wrote the \(fmt) report to \(t(file)).")
        } catch {
            say(error.message)
        }
    }

    var reportFormats: [String] {
        var f = ["text", "json"]
        for x in hooks.reportFormats where !f.contains(x) { f.append(x) }
        return f
    }

    static func formatFor(_ file: String) -> String {
        switch (file as NSString).pathExtension.lowercased() {
        case "json": "json"
        case "md", "markdown": "markdown"
        case "html", "htm": "html"
        case "prom", "om": "openmetrics"
        default: "text"
        }
    }

    func saveCommand(_ arg: String?) {
        guard let arg else {
            save()
            if !saveWarned { say("Session saved to \(t(path)) (it is also saved after every change).") }
            return
        }
        do {
            let file = try Validate.path(arg)
            state.updated = Date()
            try state.save(to: file)
            say("Saved a copy of the session to \(t(file)); it keeps being saved to \(t(path)). `load \(t(file))` brings this copy back.")
        } catch {
            say(error.message)
        }
    }

    func load(_ arg: String?) async {
        guard let arg else { say("usage: load <file> — a session saved with `save FILE`."); return }
        let loaded: SessionState
        do { loaded = try SessionState.load(from: try Validate.path(arg)) } catch { say(error.message); return }
        let old = state
        let oldHost = host, oldOptions = options, oldBundle = bundleRecords
        state = Self.sanitised(loaded, kb: kb)
        do { try adopt(loaded.target) } catch {
            state = old
            host = oldHost
            options = oldOptions
            bundleRecords = oldBundle
            say("Cannot continue that session: \(error.message)")
            return
        }
        save()
        say("Loaded \(t(arg)): \(state.records.count) checks, \(state.answers.count) answers. It is saved to \(t(path)) from now on.")
        say(SessionText.ranking(diagnosis(), style: style))
        if let q = pendingQuestion { ask(q) } else { invite() }
    }
}
