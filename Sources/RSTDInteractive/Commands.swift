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

/// The commands of the guided session: names, help, and what each argument completes to.
package enum SessionCommands {
    /// What a command's argument is, for completion and help.
    package enum Arg: Sendable, Equatable {
        case command, check, step, cause, question, answer, target, fact, file, format, duration, rankScope
        case focus, namespace, unit, evidence, pid, since, interface
    }

    package struct Spec: Sendable {
        package var name: String
        package var aliases: [String]
        package var usage: String
        package var summary: String
        package var args: [Arg]
    }

    package static let all: [Spec] = [
        Spec(name: "help", aliases: ["?"], usage: "help [command]", summary: "list the commands, or explain one", args: [.command]),
        Spec(name: "next", aliases: ["n"], usage: "next", summary: "go on to the next troubleshooting step (Enter does the "
            + "same)", args: []),
        Spec(name: "step", aliases: [], usage: "step [name|number]", summary: "show where you are, or go to a step: run its checks and "
            + "ask its questions", args: [.step]),
        Spec(name: "run", aliases: [], usage: "run <check|step|all>", summary: "run (again) one check, a step's checks, or every "
            + "check", args: [.target]),
        Spec(name: "ask", aliases: [], usage: "ask [question]", summary: "ask the most telling open question, or a given "
            + "one", args: [.question]),
        Spec(name: "answer", aliases: [], usage: "answer <question> <answer>", summary: "record an answer (an id, a number, or "
            + "dont-know)", args: [.question, .answer]),
        Spec(name: "rank", aliases: ["ranking"], usage: "rank [all]", summary: "show the current ranking of causes", args: [.rankScope]),
        Spec(name: "why", aliases: [], usage: "why [question]", summary: "why the pending question is asked: which causes its answer "
            + "separates, and by how much", args: [.question]),
        Spec(name: "how", aliases: [], usage: "how <cause>", summary: "the chain of evidence behind a cause: rules, facts, values, "
            + "sources", args: [.cause]),
        Spec(name: "facts", aliases: [], usage: "facts [filter]", summary: "list the facts seen so far (known and unknown), optionally "
            + "only those containing filter", args: [.fact]),
        Spec(name: "observe", aliases: [], usage: "observe <duration>", summary: "watch live for a while: counters, kernel RST "
            + "tracepoints and a capture", args: [.duration]),
        Spec(name: "capture", aliases: [], usage: "capture <file> | --live <iface> [duration]", summary: "read a pcap / pcapng file "
            + "and classify its resets, or capture live on one interface of the namespace", args: [.file]),
        Spec(name: "history", aliases: [], usage: "history [SINCE] [--until T] [--journal PATH]", summary: "a past period of the "
            + "recorder's journal (`rstdoctor record`) as evidence: its resets and counters, kept until `drop history`", args: [.since]),
        Spec(name: "report", aliases: [], usage: "report [file] [--format F]", summary: "write the diagnosis up (to the screen, or to "
            + "a file)", args: [.file, .format]),
        Spec(name: "save", aliases: [], usage: "save [file]", summary: "save the session (it is also saved after every "
            + "change)", args: [.file]),
        Spec(name: "load", aliases: [], usage: "load <file>", summary: "continue a saved session", args: [.file]),
        Spec(name: "resets", aliases: [], usage: "resets [all]", summary: "the RSTs seen, in groups per flow and verdict; `all` lists "
            + "each one", args: [.rankScope]),
        Spec(name: "focus", aliases: [], usage: "focus [port N|peer ADDR|side client|server|clear]",
             summary: "show or set what the session looks at (shown in the prompt)", args: [.focus]),
        Spec(name: "logs", aliases: ["log"], usage: "logs <file>", summary: "read the application's log file (and keep reading "
            + "it)", args: [.file]),
        Spec(name: "unit", aliases: [], usage: "unit <name>", summary: "read the application's systemd journal", args: [.unit]),
        Spec(name: "netns", aliases: [], usage: "netns <name|host>", summary: "look inside a network namespace (or back at this "
            + "host's)", args: [.namespace]),
        Spec(name: "pid", aliases: [], usage: "pid <PID>", summary: "look inside a container's network namespace, given a process in "
            + "it", args: [.pid]),
        Spec(name: "drop", aliases: [], usage: "drop [check|observe|history|answer Q|answers|logs]",
             summary: "list the evidence kept, or forget some of it", args: [.evidence]),
        Spec(name: "quit", aliases: ["exit", "q"], usage: "quit", summary: "end the session (Ctrl-D does the same); it stays "
            + "saved", args: []),
    ]

    package static var names: [String] { all.map(\.name) }

    package static func spec(_ word: String) -> Spec? {
        all.first { $0.name == word || $0.aliases.contains(word) }
    }

    /// The command a mistyped word most likely meant: by edit distance, else by prefix.
    package static func nearest(_ word: String) -> String? {
        let w = word.lowercased()
        if let n = DidYouMean.nearest(w, in: names) { return n }
        let byPrefix = names.filter { $0.hasPrefix(w) || (w.count >= 3 && w.hasPrefix($0)) }
        return byPrefix.count == 1 ? byPrefix[0] : nil
    }

    /// Splits a command line into words: whitespace separates, "double" or 'single' quotes group
    /// (for file names with spaces), a backslash escapes the next character.
    package static func words(_ line: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character?
        var escape = false
        for ch in line {
            if escape { cur.append(ch); escape = false; inWord = true; continue }
            if ch == "\\" && quote != "'" { escape = true; inWord = true; continue }
            if let q = quote {
                if ch == q { quote = nil } else { cur.append(ch) }
                continue
            }
            if ch == "\"" || ch == "'" { quote = ch; inWord = true; continue }
            if ch == " " || ch == "\t" {
                if inWord { out.append(cur); cur = ""; inWord = false }
                continue
            }
            cur.append(ch)
            inWord = true
        }
        if inWord { out.append(cur) }
        return out
    }

    /// Everything completion needs to know about the session right now.
    package struct Context: Sendable {
        package var kb: KnowledgeBase
        package var pending: Question?
        package var factKeys: [String]
        package var reportFormats: [String]
        /// Listening ports, named network namespaces, systemd units, droppable evidence.
        package var ports: [String] = []
        package var namespaces: [String] = []
        package var units: [String] = []
        package var evidence: [String] = []
        /// The network interfaces of the session's namespace (`capture --live`).
        package var interfaces: [String] = []

        package init(kb: KnowledgeBase, pending: Question?, factKeys: [String], reportFormats: [String]) {
            self.kb = kb
            self.pending = pending
            self.factKeys = factKeys
            self.reportFormats = reportFormats
        }
    }

    /// Completion candidates for the word after `before` (the line up to the word's start);
    /// nil means "complete a file name". Candidates are filtered by prefix by the caller too.
    package static func complete(before: String, word: String, context c: Context) -> [String]? {
        let previous = words(before)
        let candidates: [String]?
        if previous.isEmpty {
            var first = names
            if let q = c.pending { first += q.answers.map(\.id) + ["dont-know"] }
            candidates = first
        } else if let spec = spec(previous[0]) {
            let argIndex = previous.count - 1
            if spec.name == "report" {
                if previous.last == "--format" { candidates = c.reportFormats }
                else if word.hasPrefix("-") { candidates = ["--format"] }
                else { candidates = nil }
            } else if spec.name == "capture" {
                if previous.last == "--live" { candidates = c.interfaces }
                else if previous.count == 3, previous[1] == "--live" { candidates = values(.duration, previous: previous, context: c) }
                else if previous.count > 1 { candidates = [] }
                else if word.hasPrefix("-") { candidates = ["--live"] }
                else { candidates = nil }
            } else if spec.name == "history" {
                if previous.last == "--journal" { candidates = nil }
                else if previous.last == "--until" { candidates = ["10m", "1h"] }
                else if word.hasPrefix("-") { candidates = ["--until", "--journal"] }
                else { candidates = previous.count == 1 ? values(.since, previous: previous, context: c) : [] }
            } else if spec.name == "focus" || spec.name == "drop", argIndex <= 1 {
                candidates = values(spec.args[0], previous: previous, context: c)
            } else if argIndex < spec.args.count {
                candidates = values(spec.args[argIndex], previous: previous, context: c)
            } else {
                candidates = []
            }
        } else {
            candidates = []
        }
        return candidates.map { list in
            var seen = Set<String>()
            return list.filter { $0.hasPrefix(word) && seen.insert($0).inserted }.sorted()
        }
    }

    static func values(_ arg: Arg, previous: [String], context c: Context) -> [String]? {
        switch arg {
        case .command: return names
        case .check: return c.kb.checks.map(\.id)
        case .step: return c.kb.steps.map(\.id)
        case .cause: return c.kb.causes.map(\.id)
        case .question: return c.kb.questions.map(\.id)
        case .answer:
            guard previous.count >= 2, let q = c.kb.question(previous[1]) else { return [] }
            return q.answers.map(\.id) + ["dont-know"]
        case .target: return c.kb.checks.map(\.id) + c.kb.steps.map(\.id) + ["all"]
        case .fact: return c.factKeys
        case .file: return nil
        case .format: return c.reportFormats
        case .duration: return ["10s", "30s", "1m"]
        case .rankScope: return ["all"]
        case .focus:
            if previous.count >= 2 {
                switch previous[1] {
                case "port": return c.ports
                case "side": return ["client", "server"]
                case "clear": return ["port", "peer", "side"]
                default: return []
                }
            }
            return ["port", "peer", "side", "clear"]
        case .namespace: return c.namespaces + ["host"]
        case .unit: return c.units
        case .evidence:
            if previous.count >= 2, previous[1] == "answer" { return c.kb.questions.map(\.id) }
            return c.evidence
        case .pid: return []
        case .since: return ["10m", "1h", "6h", "24h", "7d"]
        case .interface: return c.interfaces
        }
    }

    /// The help text: all commands, or one.
    package static func help(_ name: String?) -> String {
        if let name, !name.isEmpty {
            guard let s = spec(name) else {
                let near = nearest(name).map { " Did you mean `\($0)`?" } ?? ""
                return "There is no command `\(Sanitize.terminal(name))`.\(near) `help` lists them.\n"
            }
            var out = "\(s.usage)\n  \(s.summary)\n"
            if !s.aliases.isEmpty { out += "  also: \(s.aliases.joined(separator: ", "))\n" }
            return out
        }
        var out = "Commands (Tab completes commands, check, step, cause and question ids, and answers):\n"
        let width = all.map(\.usage.count).max() ?? 20
        for s in all {
            out += "  " + s.usage.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + s.summary + "\n"
        }
        out += "When a question is pending, type the number or id of an answer, or `d` for don't know.\n"
        out += "Ctrl-C cancels a running check (not the session); Ctrl-D quits. The session is saved as it goes.\n"
        return out
    }
}
