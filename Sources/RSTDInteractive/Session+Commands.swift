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

/// The dispatch of a typed line, and the commands about questions, steps and explanations.
extension Session {
    // MARK: commands

    /// Handles one line typed at the prompt.
    package func handle(_ line: String) async {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty { state.remember(command: trimmed) }
        // Raw outputs can be large: rewrite the file only when the command changed something
        // (the typed history alone waits for the next change or the end; readline keeps it too).
        let before = fingerprint
        defer { if fingerprint != before { save() } }
        if state.interview != nil, await interviewLine(trimmed) { return }
        if let q = pendingQuestion, let choice = Self.parseAnswer(trimmed, q) {
            await answer(q, choice, continueFlow: true)
            return
        }
        if trimmed.isEmpty {
            if let q = pendingQuestion {
                say(
                    "Waiting for an answer to “\(t(q.text))”: 1–\(q.answers.count + 1), or an answer id. `why` says why I ask; `next` "
                        + "skips it."
                )
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
                say(
                    "“\(t(first))” is neither an answer nor a command. Answer “\(t(q.text))” with 1–\(q.answers.count + 1), an answer "
                        + "id (\(q.answers.map { t($0.id) }.joined(separator: ", "))) or d for don't know; `why` says why I ask."
                )
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
        case "capture": await capture(args)
        case "history": await history(args)
        case "report": report(args)
        case "save": saveCommand(args.first)
        case "load": await load(args.first)
        case "quit": wantsQuit = true
        case "focus": setFocus(args)
        case "logs":
            guard let p = args.first else {
                say("usage: logs <file> — the application's log, e.g. `logs /var/log/nginx/error.log`."); return
            }
            if addLogs(p) && state.interview == nil { await readLogsNow() }
        case "unit":
            guard let u = args.first else { say("usage: unit <name> — the application's systemd unit, e.g. `unit nginx`."); return }
            if addUnit(u) && state.interview == nil { await readLogsNow() }
        case "netns":
            guard let n = args.first else { say("usage: netns <name|host> — e.g. `netns blue`; `pid PID` for a container."); return }
            setNamespace(name: n)
        case "pid":
            guard let p = args.first else { say("usage: pid <PID> — a process in the container's network namespace."); return }
            setNamespace(pid: p)
        case "drop": drop(args)
        case "resets": say(ResetSummary.text(diagnosis().facts, singles: args.first == "all"), terminator: "")
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

    func answerCommand(_ args: [String]) async {
        guard args.count >= 2 else {
            say(
                "usage: answer <question> <answer> — e.g. `answer reset_timing after-idle`. Questions: "
                    + "\(kb.questions.map { t($0.id) }.joined(separator: ", "))."
            )
            return
        }
        guard let q = question(args[0]) else { return }
        let text = args.dropFirst().joined(separator: " ")
        guard let choice = Self.parseAnswer(text, q) else {
            say(
                "“\(t(text))” is not an answer to \(t(q.id)) (\(t(q.text))). Answers: "
                    + "\(q.answers.map { t($0.id) }.joined(separator: ", ")), or dont-know."
            )
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
                say(
                    state.finished
                        ? "The walk through the steps is done." : "You are at step \(i + 1) of \(kb.steps.count): "
                            + "\(t(kb.steps[i].title)).")
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
        let index =
            Int(lower).map { $0 - 1 }
            ?? kb.steps.firstIndex { $0.id == lower }
            ?? kb.steps.firstIndex { $0.title.lowercased().hasPrefix(lower) }
        guard let i = index, i >= 0, i < kb.steps.count else {
            let near = DidYouMean.hint(lower, in: kb.steps.map(\.id))
            say(
                "There is no step `\(t(name))`.\(near) Steps: \(kb.steps.map { t($0.id) }.joined(separator: ", ")) (or "
                    + "1–\(kb.steps.count))."
            )
            return
        }
        await enterStep(i)
    }

    func why(_ id: String?) {
        let qid = id ?? state.pending ?? lastAsked
        guard let qid else {
            say("No question is pending. `why QUESTION` explains any question; `ask` asks the most telling one.")
            return
        }
        guard let q = question(qid) else { return }
        let facts = inputFacts(withoutAnswer: q.id)
        let sc = QuestionChoice.score(q, kb: kb, facts: facts)
        say(SessionText.why(sc, before: Engine(kb: kb).infer(facts).causes, kb: kb, style: style), terminator: "")
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

}
