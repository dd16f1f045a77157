import Foundation
import RSTDData
import RSTDCore

/// Checks, causes, steps, questions and rules, loaded and type-checked.
package struct KnowledgeBase: Sendable {
    package var checks: [CheckDefinition] = []
    package var causes: [Cause] = []
    package var steps: [Step] = []
    package var questions: [Question] = []
    package var rules: [Rule] = []
    /// Combined record lists (`combine:`): rules read their sources through them.
    package var combiners: [Combiner] = []
    /// Every fact a rule may read, with its type and where it is declared.
    package var declarations: [String: FactDeclaration] = [:]
    /// Derived rules in an order where each comes after those it reads.
    package var derivedOrder: [Rule] = []
    package var files: KnowledgeFiles

    /// What rule expressions may name: the declared facts and the combined lists.
    package var exprScope: ExprScope {
        ExprScope(facts: declarations, combined: Dictionary(combiners.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    package func check(_ id: String) -> CheckDefinition? { checks.first { $0.id == id } }
    /// The part of the knowledge that collection sees.
    package var catalog: CheckCatalog { CheckCatalog(checks: checks, files: files) }
    package func cause(_ id: String) -> Cause? { causes.first { $0.id == id } }
    package func question(_ id: String) -> Question? { questions.first { $0.id == id } }
    package func step(_ id: String) -> Step? { steps.first { $0.id == id } }

    /// Loads everything it can; every problem is returned with file:line, loading goes on.
    package static func load(_ files: KnowledgeFiles) -> (KnowledgeBase, [KnowledgeProblem]) {
        var kb = KnowledgeBase(files: files)
        var problems: [KnowledgeProblem] = []
        func doc(_ path: String) -> YNode? {
            guard let text = files.files[path] else { return nil }
            do { return try YNode.load(text, file: path) } catch { problems.append(error); return nil }
        }
        func items(_ path: String, _ key: String) -> [YNode] {
            guard let d = doc(path) else {
                if files.files[path] == nil { problems.append(KnowledgeProblem(file: path, line: 1, "missing file")) }
                return []
            }
            if let seq = d.sequence { return seq }
            if let seq = d[key]?.sequence { return seq }
            problems.append(d.problem("expected a list of \(key)"))
            return []
        }

        // Steps, causes, questions.
        for n in items("knowledge/steps.yaml", "steps") {
            do {
                try n.allowOnly(["id", "title", "purpose", "guidance"])
                kb.steps.append(Step(id: try n.string("id"), title: try n.string("title"), purpose: try n.string("purpose"),
                                     guidance: try n.optionalString("guidance") ?? ""))
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }
        let stepIDs = Set(kb.steps.map(\.id))
        for n in items("knowledge/causes.yaml", "causes") {
            do {
                try n.allowOnly(["id", "title", "explanation", "prior", "step", "remedies", "references", "makes_resets"])
                var remedies: [Cause.Remedy] = []
                for r in n["remedies"]?.sequence ?? [] {
                    try r.allowOnly(["text", "change", "verify"])
                    remedies.append(Cause.Remedy(text: try r.string("text"), change: try r.optionalString("change"), verify: try r.optionalString("verify")))
                }
                let prior = try n.double("prior") ?? 0.05
                guard prior > 0, prior < 1 else { throw n.problem("`prior` must be between 0 and 1 (exclusive)") }
                let step = try n.string("step")
                if !stepIDs.contains(step) { problems.append(n["step"]!.problem("unknown step `\(step)`")) }
                kb.causes.append(Cause(id: try n.string("id"), title: try n.string("title"), explanation: try n.string("explanation"),
                                       prior: prior, step: step, remedies: remedies, references: try n.strings("references"),
                                       file: n.file, line: n.line, makesResets: try n.bool("makes_resets") ?? true))
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }
        for n in items("knowledge/questions.yaml", "questions") {
            do {
                try n.allowOnly(["id", "text", "step", "help", "answers"])
                var answers: [Question.Answer] = []
                guard let seq = n["answers"]?.sequence, seq.count >= 2 else { throw n.problem("a question needs at least two `answers`") }
                for a in seq {
                    try a.allowOnly(["id", "text"])
                    answers.append(Question.Answer(id: try a.string("id"), text: try a.string("text")))
                }
                let step = try n.string("step")
                if !stepIDs.contains(step) { problems.append(n["step"]!.problem("unknown step `\(step)`")) }
                kb.questions.append(Question(id: try n.string("id"), text: try n.string("text"), step: step,
                                             help: try n.optionalString("help") ?? "", answers: answers, file: n.file, line: n.line))
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }

        // Checks and the facts they declare.
        for path in files.files.keys.sorted() where path.hasPrefix("checks/") {
            guard let d = doc(path) else { continue }
            do {
                let c = try CheckDefinition.load(d)
                if !stepIDs.contains(c.step) { problems.append(KnowledgeProblem(file: path, line: c.line, "unknown step `\(c.step)`")) }
                let expectedName = "checks/\(c.id).yaml"
                if path != expectedName { problems.append(KnowledgeProblem(file: path, line: c.line, "check `\(c.id)` must live in \(expectedName)")) }
                kb.checks.append(c)
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }
        func declare(_ d: FactDeclaration) {
            if let old = kb.declarations[d.key], old.type != d.type || old.fields != d.fields || old.absent != d.absent {
                problems.append(KnowledgeProblem(file: d.file, line: d.line, "fact `\(d.key)` is declared again with another type (first at \(old.file):\(old.line))"))
                return
            }
            if kb.declarations[d.key] == nil { kb.declarations[d.key] = d }
        }
        for c in kb.checks {
            for d in c.facts {
                declare(d)
                if c.window, d.type == .int {
                    declare(FactDeclaration(key: d.key + ".delta", type: .int, doc: "change of \(d.key) over the sample window", file: d.file, line: d.line))
                }
            }
        }
        if let d = doc("knowledge/facts.yaml") {
            do { for decl in try CheckDefinition.declarations(d["facts"]) { declare(decl) } } catch { problems.append(KnowledgeProblem.from(error)) }
        }
        for q in kb.questions {
            declare(FactDeclaration(key: q.factKey, type: .string, doc: q.text, file: q.file, line: q.line))
        }

        // Rules: first their targets (derived facts are declarations too), then their expressions.
        struct RawRule { var node: YNode; var id: String; var target: Rule.Target; var type: FactType; var sortKey: String }
        var raws: [RawRule] = []
        let causeIDs = Set(kb.causes.map(\.id))
        /// `path` is the rule's own file, nil for a rule expanded from a template.
        var combinerNodes: [YNode] = []
        func target(_ d: YNode, path: String?, sortKey: String) {
            if let path, d["combine"] != nil {
                combinerNodes.append(d)
                if let id = d["id"]?.scalar, (path as NSString).lastPathComponent != "\(id).yaml" {
                    problems.append(d.problem("rule `\(id)` must live in a file named \(id).yaml"))
                }
                return
            }
            do {
                try d.allowOnly(["id", "cause", "derive", "type", "when", "value", "weight", "explain", "basis", "examples"])
                let id = try d.string("id")
                if let path, (path as NSString).lastPathComponent != "\(id).yaml" {
                    problems.append(d.problem("rule `\(id)` must live in a file named \(id).yaml"))
                }
                let target: Rule.Target
                var type = FactType.bool
                if let c = try d.optionalString("cause") {
                    if !causeIDs.contains(c) { throw d["cause"]!.problem("unknown cause `\(c)`") }
                    if let path, !(path as NSString).deletingLastPathComponent.hasSuffix("/\(c)") {
                        problems.append(d.problem("a rule for `\(c)` belongs in knowledge/rules/\(c)/"))
                    }
                    target = .cause(c)
                } else if let key = try d.optionalString("derive") {
                    if let t = try d.optionalString("type") {
                        guard let ft = FactType(yaml: t), ft != .records else { throw d["type"]!.problem("unknown or unsupported type `\(t)`") }
                        type = ft
                    }
                    target = .derive(key)
                    declare(FactDeclaration(key: key, type: type, doc: "derived by rule \(id)", file: d.file, line: d.line))
                } else {
                    throw d.problem("a rule needs `cause:` or `derive:`")
                }
                raws.append(RawRule(node: d, id: id, target: target, type: type, sortKey: sortKey))
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }
        for path in files.files.keys.sorted() where path.hasPrefix("knowledge/rules/") && path != RuleTemplates.path {
            guard let d = doc(path) else { continue }
            target(d, path: path, sortKey: path)
        }
        if let d = doc(RuleTemplates.path) {
            for e in RuleTemplates.expand(d, causeIDs: causeIDs, problems: &problems) { target(e.node, path: nil, sortKey: e.sortKey) }
        }
        // Rules are evaluated in the order of their files, an expanded one where its file would be.
        raws.sort { $0.sortKey < $1.sortKey }
        // Combined facts: their sources are facts of checks, their fields are read through them.
        var combined: [String: Combiner] = [:]
        for d in combinerNodes {
            do {
                let c = try Combiner.load(d, scope: ExprScope(facts: kb.declarations))
                if combined[c.key] != nil || kb.declarations[c.key] != nil {
                    throw d.problem("fact `\(c.key)` is declared or combined twice")
                }
                combined[c.key] = c
                kb.combiners.append(c)
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }
        for c in kb.combiners { declare(c.declaration) }
        let scope = ExprScope(facts: kb.declarations, combined: combined)
        var seen: [String: String] = [:]
        for raw in raws {
            let d = raw.node
            if let other = seen[raw.id] { problems.append(d.problem("duplicate rule id `\(raw.id)` (also in \(other))")); continue }
            seen[raw.id] = d.file
            do {
                // Checked first, so a rule with a broken `when` is told about its examples too.
                let (fires, notFires) = try examples(d)
                if fires.isEmpty || notFires.isEmpty {
                    problems.append(d.problem("a rule needs `examples` with at least one `fires` and one `not_fires` case"))
                }
                let whenText = try d.string("when")
                let (when, wt, reads) = try compile(whenText, scope: scope, node: d["when"]!)
                guard wt.matches(.bool) else { throw d["when"]!.problem("`when` must be a condition, it is a \(wt)") }
                var allReads = reads
                var value: Expr?
                var valueType = ExprType.bool
                if let vt = try d.optionalString("value") {
                    let (v, t, r) = try compile(vt, scope: scope, node: d["value"]!)
                    guard t.matches(ExprType(raw.type)) else { throw d["value"]!.problem("`value` is a \(t) but the rule declares `type: \(raw.type.rawValue)`") }
                    value = v
                    valueType = t
                    allReads.formUnion(r)
                }
                let weight = try d.double("weight") ?? 0
                if raw.target != .derive("") , case .cause = raw.target, weight == 0 {
                    problems.append(d.problem("a cause rule needs a non-zero `weight` (log-likelihood ratio; negative = evidence against)"))
                }
                let explainText = try d.optionalString("explain") ?? ""
                if case .cause = raw.target, explainText.isEmpty { problems.append(d.problem("a cause rule needs an `explain` text")) }
                let basis = (try d.optionalString("basis") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                if basis.isEmpty { problems.append(d.problem(Self.basisMissing)) }
                var templateErrors: [ExprError] = []
                let explain = ExplainTemplate(explainText, scope: scope, errors: &templateErrors)
                for e in templateErrors { problems.append(d["explain"]!.problem("\(e)")) }
                kb.rules.append(Rule(id: raw.id, target: raw.target, whenText: whenText, when: when, value: value, valueType: valueType,
                                     weight: weight, explain: explain, basis: basis, reads: allReads,
                                     examplesFire: fires, examplesNotFire: notFires, file: d.file, line: d.line))
            } catch { problems.append(KnowledgeProblem.from(error)) }
        }

        // Derived facts: one rule each, and no cycles.
        var byDerived: [String: Rule] = [:]
        for r in kb.rules {
            guard let k = r.derivedKey else { continue }
            if byDerived[k] != nil { problems.append(KnowledgeProblem(file: r.file, line: r.line, "fact `\(k)` is derived by two rules")) }
            byDerived[k] = r
        }
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ key: String, _ path: [String]) {
            guard let r = byDerived[key] else { return }
            if state[key] == 2 { return }
            if state[key] == 1 {
                problems.append(KnowledgeProblem(file: r.file, line: r.line, "cycle between derived facts: \((path + [key]).joined(separator: " → "))"))
                return
            }
            state[key] = 1
            for dep in r.reads.sorted() where byDerived[dep] != nil { visit(dep, path + [key]) }
            state[key] = 2
            kb.derivedOrder.append(r)
        }
        for k in byDerived.keys.sorted() { visit(k, []) }

        // Ids are interfaces: no duplicates anywhere.
        func dupes<T>(_ list: [T], _ id: (T) -> String, _ where_: (T) -> (String, Int), _ what: String) {
            var seen = Set<String>()
            for x in list where !seen.insert(id(x)).inserted {
                let (f, l) = where_(x)
                problems.append(KnowledgeProblem(file: f, line: l, "duplicate \(what) id `\(id(x))`"))
            }
        }
        dupes(kb.checks, \.id, { ($0.file, $0.line) }, "check")
        dupes(kb.causes, \.id, { ($0.file, $0.line) }, "cause")
        dupes(kb.questions, \.id, { ($0.file, $0.line) }, "question")
        dupes(kb.steps, \.id, { _ in ("knowledge/steps.yaml", 1) }, "step")

        // Every cause needs evidence both ways.
        for c in kb.causes {
            let rules = kb.rules.filter { $0.causeID == c.id }
            if !rules.contains(where: { $0.weight > 0 }) { problems.append(KnowledgeProblem(file: c.file, line: c.line, "cause `\(c.id)` has no rule for it")) }
            if !rules.contains(where: { $0.weight < 0 }) { problems.append(KnowledgeProblem(file: c.file, line: c.line, "cause `\(c.id)` has no rule against it")) }
        }
        return (kb, problems)
    }

    static let basisMissing = "a rule needs a `basis`: where the behaviour its evidence rests on is defined (kernel file and "
        + "function such as `net/ipv4/tcp_ipv4.c: tcp_v4_send_reset()`, an RFC section, or what the application or libc does)"

    static func compile(_ text: String, scope: ExprScope, node: YNode) throws(KnowledgeProblem) -> (Expr, ExprType, Set<String>) {
        do {
            return try ExprChecker.compile(text, scope: scope)
        } catch {
            throw node.problem("in `\(text.prefix(80))`: \(error)")
        }
    }

    private static func examples(_ d: YNode) throws(KnowledgeProblem) -> ([[String: FactValue]], [[String: FactValue]]) {
        guard let e = d["examples"] else { return ([], []) }
        try e.allowOnly(["fires", "not_fires"])
        func list(_ key: String) throws(KnowledgeProblem) -> [[String: FactValue]] {
            guard let seq = e[key]?.sequence else { return [] }
            var out: [[String: FactValue]] = []
            for item in seq {
                guard let m = item.mapping else { throw item.problem("each example is a mapping of fact key to value") }
                var facts: [String: FactValue] = [:]
                for (k, v) in m {
                    guard let fv = v.factValue else { throw v.problem("example value for `\(k)` must be a scalar or a list of records") }
                    facts[k] = fv
                }
                out.append(facts)
            }
            return out
        }
        return (try list("fires"), try list("not_fires"))
    }
}
