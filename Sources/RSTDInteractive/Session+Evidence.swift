import Foundation
import RSTDKnowledge
import RSTDData
import RSTDCore

/// Evidence stays in the session until the user drops it: `drop` lists what is kept, `drop ID`
/// forgets one check's result (and the facts it brought), `drop observe` everything the last
/// windows brought, `drop history` what the recorder's journal brought, `drop answer Q` / `drop answers`
/// the answers, `drop logs` the log sources.
extension Session {
    /// What `drop` accepts now (for completion and its usage line).
    func droppable() -> [String] {
        var out = state.records.map(\.id)
        for what in ["observe", "history"] where state.observed?.values.contains(where: { $0.hasPrefix(what) }) == true {
            out.append(what)
        }
        if !state.answers.isEmpty { out += ["answers", "answer"] }
        if !state.target.logs.isEmpty || !state.target.units.isEmpty { out.append("logs") }
        return out
    }

    func drop(_ args: [String]) {
        guard let what = args.first else {
            listKept()
            return
        }
        let before = diagnosis()
        switch what {
        case "observe", "history":
            let ids = (state.observed ?? [:]).filter { $0.value.hasPrefix(what) }.map(\.key)
            guard !ids.isEmpty else { say("Nothing from `\(what)` is kept. `drop` lists what is."); return }
            for id in ids { forget(id) }
            let again = what == "observe" ? "`observe DURATION` watches again" : "`history SINCE` reads the journal again"
            say("Dropped what `\(what)` brought: \(ids.sorted().map(t).joined(separator: ", ")). \(again).")
        case "answers":
            let n = state.answers.count + state.dontKnow.count
            state.answers.removeAll()
            state.dontKnow.removeAll()
            state.pending = nil
            say("Dropped \(n) answer\(n == 1 ? "" : "s"); `ask` asks the most telling question again.")
        case "answer":
            guard args.count > 1 else {
                say("usage: drop answer <question> — answered: \(state.answers.keys.sorted().map(t).joined(separator: ", "))."); return
            }
            guard let q = question(args[1]) else { return }
            guard state.answers.removeValue(forKey: q.id) != nil || state.dontKnow.contains(q.id) else {
                say("\(t(q.id)) has no answer to drop.")
                return
            }
            state.dontKnow.removeAll { $0 == q.id }
            say("Dropped the answer to \(t(q.id)); `ask \(t(q.id))` asks it again.")
        case "logs":
            var target = state.target
            target.logs = []
            target.units = []
            _ = retarget(target)
            if state.records.contains(where: { $0.id == "app-logs" }) { forget("app-logs") }
            say("Dropped the application log sources and what they showed.")
        default:
            guard state.records.contains(where: { $0.id == what }) || state.facts.contains(where: { $0.check == what }) else {
                let near = DidYouMean.hint(what, in: droppable())
                say("Nothing named `\(t(what))` is kept.\(near) `drop` lists what is.")
                return
            }
            forget(what)
            say(
                "Dropped \(t(what)) and the facts it brought; `run \(t(what))` reads it "
                    + "again\(kb.check(what)?.optIn == true ? " (or `observe` / `capture`)" : "")."
            )
        }
        save()
        say(SessionText.movers(from: before, to: diagnosis(), style: style), terminator: "")
    }

    func forget(_ id: String) {
        state.records.removeAll { $0.id == id }
        state.facts.removeAll { $0.check == id }
        state.observed?[id] = nil
    }

    func listKept() {
        if state.records.isEmpty && state.facts.isEmpty && state.answers.isEmpty {
            say("Nothing is kept yet: checks, `observe`, `capture` and answers add evidence.")
            return
        }
        say("Kept in this session (`drop ID` forgets one):")
        for r in state.records {
            let from = state.observed?[r.id].map { " — from \(t($0))" } ?? ""
            say("  \(r.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(t(r.id))\(from)")
        }
        let loose = Set(state.facts.map(\.check)).subtracting(state.records.map(\.id))
        for c in loose.sorted() { say("  facts    \(t(c)) (\(state.facts.filter { $0.check == c }.count))") }
        if !state.answers.isEmpty {
            say(
                "  answers  " + state.answers.keys.sorted().map { "\(t($0)) = \(t(state.answers[$0] ?? ""))" }.joined(separator: ", ")
                    + " (`drop answer Q`, `drop answers`)")
        }
        if !state.target.logs.isEmpty || !state.target.units.isEmpty {
            say(
                "  logs     " + (state.target.logs + state.target.units.map { "unit \($0)" }).map(t).joined(separator: ", ")
                    + " (`drop logs`)")
        }
    }
}
