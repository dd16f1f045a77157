import ArgumentParser
import Foundation
import RSTDInteractive
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDParse
import RSTDSystem
import RSTDData
import RSTDCore

struct KnowledgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knowledge",
        abstract: "Validate and list the checks, causes, questions and rules rstdoctor uses.",
        subcommands: [Lint.self, List.self, Show.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate checks/ and knowledge/: ids, facts, types, cycles, examples and samples (file:line per problem).")
        @OptionGroup var knowledge: KnowledgeOptions

        func run() throws {
            let files = try KnowledgeFiles.resolve(dir: knowledge.knowledgeDir)
            let problems = RSTDPipeline.Lint.run(files)
            let (kb, _) = KnowledgeBase.load(files)
            for p in problems.sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) }) { print(Sanitize.line(p.description)) }
            if problems.isEmpty {
                print("ok: \(kb.checks.count) checks, \(kb.causes.count) causes, \(kb.questions.count) questions, \(kb.rules.count) rules (\(files.origin))")
            } else {
                throw Failure(code: 1, message: "\(problems.count) problem(s) in \(files.origin)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List checks, causes, questions, steps, facts or rules.")
        enum What: String, ExpressibleByArgument, CaseIterable { case checks, causes, questions, steps, facts, rules }

        @Argument(help: "checks, causes, questions, steps, facts or rules.")
        var what: What
        @OptionGroup var knowledge: KnowledgeOptions

        func run() throws {
            let (kb, _) = try knowledge.load()
            switch what {
            case .checks: for c in kb.checks { print("\(c.id.padding(toLength: 16, withPad: " ", startingAt: 0)) \(c.step.padding(toLength: 18, withPad: " ", startingAt: 0)) \(c.title)") }
            case .causes:
                // A finding (makes_resets: false) explains failed or slow connections, never resets.
                for c in kb.causes {
                    let kind = c.makesResets ? "" : "  [finding: makes no RST]"
                    print("\(c.id.padding(toLength: 26, withPad: " ", startingAt: 0)) prior \(c.prior)  \(c.title)\(kind)")
                }
            case .questions:
                for q in kb.questions { print("\(q.id): \(q.text)\n    answers: \(q.answers.map(\.id).joined(separator: ", "))") }
            case .steps: for s in kb.steps { print("\(s.id.padding(toLength: 18, withPad: " ", startingAt: 0)) \(s.title): \(s.purpose)") }
            case .facts: for k in kb.declarations.keys.sorted() { let d = kb.declarations[k]!; print("\(k)  \(d.type.rawValue)  (\(d.file):\(d.line))") }
            case .rules:
                for r in kb.rules {
                    let target = r.causeID ?? "derive \(r.derivedKey ?? "")"
                    let weight = r.causeID == nil ? "" : String(format: " %+.1f", r.weight)
                    print(Sanitize.line("\(r.id)  \(target)\(weight)  (\(r.file):\(r.line))"))
                    print("    basis: " + Sanitize.line(r.basis))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one rule: where it is, when it fires, its weight, its explanation and the behaviour it rests on (basis).")
        @Argument(help: "A rule id (rstdoctor knowledge list rules).")
        var rule: String
        @OptionGroup var knowledge: KnowledgeOptions

        func run() throws {
            let (kb, _) = try knowledge.load()
            guard let r = kb.rules.first(where: { $0.id == rule }) else {
                throw Failure(code: 2, message: "no rule `\(Sanitize.line(rule))` (rstdoctor knowledge list rules)")
            }
            var lines = ["\(r.id)  (\(r.file):\(r.line))"]
            if let c = r.causeID {
                lines.append("  cause:   \(c)  weight \(String(format: "%+.1f", r.weight))")
            } else {
                lines.append("  derives: \(r.derivedKey ?? "")")
            }
            lines.append("  when:    \(r.whenText)")
            if !r.explain.text.isEmpty { lines.append("  explain: \(r.explain.text)") }
            lines.append("  basis:   \(r.basis)")
            for l in lines { print(Sanitize.line(l)) }
        }
    }
}
