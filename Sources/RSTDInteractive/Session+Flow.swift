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

/// The start, resumption and end of a session, and the walk through the steps.
extension Session {
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
        say(
            SessionText.wrap(
                "I'll go through the \(kb.steps.count) troubleshooting steps with you: for each I say what it is for, run its checks, "
                    + "show what they found, and ask only the questions whose answer could change the ranking. `help` lists the "
                        + "commands; Ctrl-D quits; the session is saved as it goes.",
                indent: 0))
        save()
        if asksFocus && needsFocus {
            // The listening ports are offered as answers to the first question.
            if let listeners = kb.check("listeners") {
                for r in await runChecks([listeners], quiet: true) { state.record(r) }
            }
            beginInterview()
            return
        }
        await quickChecks()
    }

    /// The quick checks, the ranking, and the invitation to walk the steps.
    func quickChecks() async {
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
        let stepText =
            state.step.flatMap { $0 < kb.steps.count ? "at step \($0 + 1) (\(t(kb.steps[$0].title)))" : nil } ?? "before the first step"
        say("Resumed the session saved in \(t(file)): \(state.records.count) checks ran, \(state.answers.count) answers, \(stepText).")
        say()
        say(SessionText.ranking(diagnosis(), style: style))
        if let item = state.interview.flatMap(FocusItem.init(rawValue:)) {
            askFocus(item)
        } else if let q = pendingQuestion {
            ask(q)
        } else {
            invite()
        }
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
            if !toRun.isEmpty {
                await runAndShow(toRun, alsoShow: already)
            } else {
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
        return SessionText.wrap(
            "No answer to \(scope) open question\(ids.count == 1 ? "" : "s") (\(ids.map(t).joined(separator: ", "))) could change the "
                + "top of the ranking (\(top)), so I won't ask \(ids.count == 1 ? "it" : "them"); `ask ID` asks anyway.",
            indent: 0)
    }

    /// After the last step: one more sweep for questions that could still change the top, then the verdict.
    func conclude() {
        state.finished = true
        state.step = kb.steps.isEmpty ? nil : kb.steps.count - 1
        if let sc = QuestionChoice.next(kb: kb, facts: inputFacts(), excluding: excludedQuestions) {
            say(
                "Before concluding: a question from the \(t(kb.step(sc.question.step)?.title ?? sc.question.step)) step could still "
                    + "change the top of the ranking."
            )
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
            say(
                style.bold("Conclusion:")
                    + " most likely \(t(top.cause.id)) — \(t(top.cause.title)) (\(SessionText.pctShort(top.probability))).")
            for r in Remedies.concrete(top, facts: d.facts).prefix(2) {
                say(SessionText.wrap("• " + t(r.text), indent: 2))
                if let c = r.change { say("      change: " + style.cyan(t(c))) }
                if let v = r.verify { say("      verify: " + t(v)) }
            }
            say("`how \(t(top.cause.id))` shows the chain of evidence; `report FILE` writes it all up (remedies are shown, never "
                + "applied).")
        } else {
            let lead = d.causes.first.map { "\(t($0.cause.id)) at \(SessionText.pctShort($0.probability))" } ?? "none"
            say(style.bold("Conclusion:") + " no cause is likely from what could be seen (the leader is \(lead)).")
            let unseen = d.checks.filter { $0.status == .skipped || $0.status == .failed }
            if !unseen.isEmpty {
                say(
                    "\(unseen.count) check\(unseen.count == 1 ? "" : "s") could not run "
                        + "(\(unseen.map { t($0.id) }.joined(separator: ", "))): fixing that may show more."
                )
            }
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

}
