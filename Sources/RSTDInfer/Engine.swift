import Foundation
import RSTDKnowledge
import RSTDCore

/// One fired rule, as shown in the evidence for or against a cause.
package struct FiredRule: Sendable {
    package struct FactUse: Sendable {
        package var key: String
        package var value: String
        package var source: String
        /// The checks behind the value (through derived facts too).
        package var checks: [String]

        package init(key: String, value: String, source: String, checks: [String] = []) {
            self.key = key
            self.value = value
            self.source = source
            self.checks = checks
        }
    }

    package var rule: String
    package var weight: Double
    package var explain: String
    package var facts: [FactUse]
}

/// A cause with its posterior and the chain of evidence behind it.
package struct CauseResult: Sendable {
    package var cause: Cause
    package var score: Double
    package var probability: Double
    package var forEvidence: [FiredRule]
    package var against: [FiredRule]
    /// Facts that could change this cause's probability but could not be seen, with the reason.
    package var unknown: [(key: String, reason: String)]
}

/// Forward chaining to a fixpoint (derived facts in dependency order), then scoring (DESIGN §6):
/// score = prior log-odds + Σ weights of fired rules; posterior = logistic(score).
package struct Engine: Sendable {
    package let kb: KnowledgeBase

    package init(kb: KnowledgeBase) { self.kb = kb }

    package struct Output: Sendable {
        package var facts: FactStore
        /// The causes of resets, ranked: the only list a "first cause" is ever taken from.
        package var causes: [CauseResult]
        /// Causes with `makes_resets: false` (they explain failed or slow connections, not resets),
        /// scored the same way and ranked apart.
        package var findings: [CauseResult]
        /// Rule id → fired (true), did not fire (false); absent = could not be evaluated.
        package var ruleOutcomes: [String: Bool]
        /// Rule id → the unknown facts that kept it from being evaluated.
        package var ruleUnknowns: [String: Set<String>]
    }

    package func infer(_ input: FactStore) -> Output {
        var store = input
        var outcomes: [String: Bool] = [:]
        var unknowns: [String: Set<String>] = [:]
        for rule in kb.derivedOrder {
            let ev = evaluator(store)
            switch ev.eval(rule.when) {
            case .value(.bool(true)):
                outcomes[rule.id] = true
                var value: FactValue = .bool(true)
                if let v = rule.value, case .value(let x) = ev.eval(v) { value = x }
                store.add(Fact(key: rule.derivedKey!, value: value, source: derivedSource(rule, store)))
            case .value:
                outcomes[rule.id] = false
                if rule.value == nil {
                    store.add(Fact(key: rule.derivedKey!, value: .bool(false), source: derivedSource(rule, store)))
                }
            case .unknown(let u):
                unknowns[rule.id] = u.facts
                store.add(Fact(key: rule.derivedKey!, unknown: reasonText(u, store), source: FactSource(check: "rule:\(rule.id)")))
            case .list:
                break
            }
        }
        let ev = evaluator(store)
        var results: [CauseResult] = []
        for cause in kb.causes {
            var score = logit(cause.prior)
            var pro: [FiredRule] = []
            var con: [FiredRule] = []
            var unknown: [String: String] = [:]
            for rule in kb.rules where rule.causeID == cause.id {
                switch ev.eval(rule.when) {
                case .value(.bool(true)):
                    outcomes[rule.id] = true
                    score += rule.weight
                    let e = evidence(rule, store)
                    if rule.weight > 0 { pro.append(e) } else { con.append(e) }
                case .unknown(let u):
                    unknowns[rule.id] = u.facts
                    for k in u.facts { unknown[k] = reason(k, store) }
                    // The rule's own problem (an overflow, a record missing a field) is reported
                    // under the rule, beside the facts that were not seen.
                    if !u.problems.isEmpty { unknown["rule:\(rule.id)"] = u.problems.sorted().joined(separator: "; ") }
                default:
                    outcomes[rule.id] = false
                }
            }
            pro.sort { $0.weight > $1.weight }
            con.sort { $0.weight < $1.weight }
            results.append(CauseResult(cause: cause, score: score, probability: logistic(score), forEvidence: pro, against: con,
                                       unknown: unknown.sorted { $0.key < $1.key }.map { (key: $0.key, reason: $0.value) }))
        }
        results.sort { $0.probability != $1.probability ? $0.probability > $1.probability : $0.cause.id < $1.cause.id }
        return Output(facts: store, causes: results.filter(\.cause.makesResets), findings: results.filter { !$0.cause.makesResets },
                      ruleOutcomes: outcomes, ruleUnknowns: unknowns)
    }

    /// A derived fact's source names the rule, and as origin the checks behind the facts it read.
    func derivedSource(_ rule: Rule, _ store: FactStore) -> FactSource {
        var checks = Set<String>()
        for k in rule.reads {
            guard let f = store[k], f.isKnown else { continue }
            checks.formUnion(f.source.checks)
        }
        return FactSource(check: "rule:\(rule.id)", origin: checks.sorted().joined(separator: ", "))
    }

    func evaluator(_ store: FactStore) -> ExprEvaluator {
        ExprEvaluator { store.value($0) }
    }

    /// Why a fact is unknown: the reason its check gave, or that the check did not run.
    package func reason(_ key: String, _ store: FactStore) -> String {
        if let f = store[key], let r = f.unknownReason { return r }
        if let d = kb.declarations[key] {
            if d.file.hasPrefix("checks/") {
                let id = ((d.file as NSString).lastPathComponent as NSString).deletingPathExtension
                return "check `\(id)` did not run"
            }
            if key.hasPrefix("answer.") { return "not answered yet (`--answer \(key.dropFirst(7))=…`)" }
            if key.hasPrefix("focus.") { return "no focus given (--port / --peer)" }
        }
        return "not collected"
    }

    private func reasonText(_ u: Unknowns, _ store: FactStore) -> String {
        (u.facts.sorted().map { "\($0): \(reason($0, store))" } + u.problems.sorted()).joined(separator: "; ")
    }

    func evidence(_ rule: Rule, _ store: FactStore) -> FiredRule {
        var uses: [FiredRule.FactUse] = []
        for k in rule.reads.sorted() {
            guard let f = store[k], let v = f.value else { continue }
            uses.append(.init(key: k, value: v.display, source: f.source.display, checks: f.source.checks))
        }
        return FiredRule(rule: rule.id, weight: rule.weight, explain: rule.explain.render(evaluator(store)), facts: uses)
    }
}

func logit(_ p: Double) -> Double { log(p / (1 - p)) }
func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
