import Foundation
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDParse
import RSTDCapture
import RSTDData
import RSTDCore

/// `rstdoctor knowledge lint`: load-time validation plus what only running can show — every
/// check's sample parses and yields its `expect` values with the declared types, and every rule's
/// `fires` / `not_fires` examples behave as stated.
package enum Lint {
    package static func run(_ files: KnowledgeFiles) -> [KnowledgeProblem] {
        let (kb, problems) = KnowledgeBase.load(files)
        return problems + samples(kb) + examples(kb)
    }

    /// Each run/read check ships a real sample; parsing it must yield what `expect` says.
    package static func samples(_ kb: KnowledgeBase) -> [KnowledgeProblem] {
        var out: [KnowledgeProblem] = []
        for c in kb.checks {
            if let p = c.parser, Parsers.parser(id: p) == nil {
                out.append(KnowledgeProblem(file: c.file, line: c.line, "unknown parser `\(p)` (known: \(Parsers.all.map { $0.id }.sorted().joined(separator: ", ")))"))
            }
            let builtin: Bool = { if case .builtin = c.action { return true }; return false }()
            guard let text = c.sample else {
                if !builtin { out.append(KnowledgeProblem(file: c.file, line: c.line, "check `\(c.id)` has no `sample` of real output")) }
                continue
            }
            guard let pid = c.parser, let parser = Parsers.parser(id: pid) else { continue }
            let name: String
            switch c.action {
            case .run(let argvs): name = argvs.first?.joined(separator: " ") ?? c.id
            case .read(let paths): name = paths.first ?? c.id
            case .builtin(let b): name = b
            }
            let parsed: ParsedFacts
            do { parsed = try parser.parse(RawOutput(text, name: name)) } catch {
                out.append(KnowledgeProblem(file: c.file, line: c.line, "the sample of `\(c.id)` does not parse: \(error)"))
                continue
            }
            if c.expect.isEmpty { out.append(KnowledgeProblem(file: c.file, line: c.line, "check `\(c.id)` has no `expect` for its sample")) }
            for (path, want, line) in c.expect {
                guard let got = EvidenceBuilder.lookup(path, in: parsed.values) else {
                    out.append(KnowledgeProblem(file: c.file, line: line, "the sample of `\(c.id)` yields no `\(path)`"))
                    continue
                }
                if !ExprEvaluator.equal(got, want) && got.display != want.display {
                    out.append(KnowledgeProblem(file: c.file, line: line, "the sample of `\(c.id)` yields \(path) = \(got.display), expected \(want.display)"))
                }
            }
            for d in c.facts {
                guard let v = parsed.values[d.key] else { continue }
                let compatible = v.type == d.type || (ExprType(v.type).matches(ExprType(d.type)) && v.type != .string && d.type != .string)
                if !compatible {
                    out.append(KnowledgeProblem(file: d.file, line: d.line, "fact `\(d.key)` is declared \(d.type.rawValue) but the parser yields \(v.type.rawValue)"))
                }
                if case .records(let rs) = v {
                    for r in rs.prefix(50) {
                        for (f, fv) in r {
                            if let ft = d.fields[f], !ExprType(fv.type).matches(ExprType(ft)) {
                                out.append(KnowledgeProblem(file: d.file, line: d.line, "field `\(d.key).\(f)` is declared \(ft.rawValue) but the parser yields \(fv.type.rawValue)"))
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Every rule fires on each `fires` example and not on each `not_fires` one (facts not named are unknown).
    package static func examples(_ kb: KnowledgeBase) -> [KnowledgeProblem] {
        var out: [KnowledgeProblem] = []
        let engine = Engine(kb: kb)
        for rule in kb.rules {
            for (expected, cases) in [(true, rule.examplesFire), (false, rule.examplesNotFire)] {
                for (i, facts) in cases.enumerated() {
                    var store = FactStore()
                    for (k, v) in facts {
                        guard let d = kb.declarations[k] else {
                            out.append(KnowledgeProblem(file: rule.file, line: rule.line, "example \(i + 1) names unknown fact `\(k)`"))
                            continue
                        }
                        store.add(k, coerce(v, to: d.type), source: FactSource(check: "example"))
                    }
                    let result = engine.infer(store).ruleOutcomes[rule.id]
                    if result != expected {
                        let got = result.map { $0 ? "fires" : "does not fire" } ?? "cannot be evaluated (unknown facts)"
                        out.append(KnowledgeProblem(file: rule.file, line: rule.line,
                                                    "\(expected ? "fires" : "not_fires") example \(i + 1): the rule \(got)"))
                    }
                }
            }
        }
        return out
    }

    /// YAML types a bare `8080` as int and `30s` as duration; examples follow the declared type.
    static func coerce(_ v: FactValue, to t: FactType) -> FactValue {
        switch (v, t) {
        case (.int(let i), .string): return .string(String(i))
        case (.int(let i), .double): return .double(Double(i))
        case (.int(let i), .duration): return .duration(Double(i))
        case (.double(let d), .duration): return .duration(d)
        case (.bool(let b), .string): return .string(b ? "true" : "false")
        default: return v
        }
    }
}
