import Foundation

/// A fact a check (or capture, trace, question, derived rule) declares it produces.
package struct FactDeclaration: Sendable, Hashable {
    package var key: String
    package var type: FactType
    /// For record lists: field name → type.
    package var fields: [String: FactType]
    /// For record lists: the value of a field a record may leave out (`{ type: bool, absent: false }`:
    /// the producer writes the flag only when it holds). A field without one is unknown when absent.
    package var absent: Record = [:]
    package var doc: String
    package var file: String
    package var line: Int

    package init(key: String, type: FactType, fields: [String: FactType] = [:], doc: String = "", file: String = "", line: Int = 0) {
        self.key = key
        self.type = type
        self.fields = fields
        self.doc = doc
        self.file = file
        self.line = line
    }
}

/// One file in checks/: what to read or run, how to parse it, what it needs (DESIGN §4).
package struct CheckDefinition: Sendable {
    package enum Action: Sendable, Hashable {
        /// argv of a command; the first element is the tool. Alternatives are tried in order
        /// when a tool is missing (journalctl, then dmesg).
        case run([[String]])
        /// Files read (inside the target network namespace when one is given).
        case read([String])
        /// Collected by Swift code in Collect/ (arping fan-out, capture, kernel trace, logs).
        case builtin(String)
    }

    package var id: String
    package var title: String
    package var step: String
    package var action: Action
    package var parser: String?
    package var toolsNeeded: [String]
    package var needsRoot: Bool
    package var timeout: Double
    /// Counter checks: read twice over the sample window; int facts get a `.delta` twin.
    package var window: Bool
    /// Window checks under `check --since`: what the journal lacked when this check has to run for
    /// the period instead of the journal filling it (the record's reason starts with it).
    package var journalLacks: String?
    /// Run first in the REPL (cheap and telling).
    package var quick: Bool
    /// Only run when the user asks for it (e.g. `--log`, `--observe`).
    package var optIn: Bool
    package var facts: [FactDeclaration]
    package var sample: String?
    package var expect: [(key: String, value: FactValue, line: Int)]
    package var description: String
    package var fix: String?
    package var file: String
    package var line: Int

    package init(id: String, title: String, step: String, action: Action, parser: String?, toolsNeeded: [String], needsRoot: Bool,
                 timeout: Double, window: Bool, quick: Bool, optIn: Bool, facts: [FactDeclaration], sample: String?,
                 expect: [(key: String, value: FactValue, line: Int)], description: String, fix: String?, file: String, line: Int,
                 journalLacks: String? = nil) {
        self.id = id; self.title = title; self.step = step; self.action = action; self.parser = parser
        self.toolsNeeded = toolsNeeded; self.needsRoot = needsRoot; self.timeout = timeout; self.window = window
        self.quick = quick; self.optIn = optIn; self.facts = facts; self.sample = sample; self.expect = expect
        self.description = description; self.fix = fix; self.file = file; self.line = line
        self.journalLacks = journalLacks
    }

    /// The tools this check runs (first argv element of each alternative) plus declared ones.
    package var tools: [String] {
        var t = toolsNeeded
        if case .run(let argvs) = action, let first = argvs.first?.first, !t.contains(first) { t.insert(first, at: 0) }
        return t
    }
}
