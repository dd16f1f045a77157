import Foundation
import RSTDData
import RSTDCore

/// Rules that are one template repeated per cause (knowledge/rules/templates.yaml): what a capture
/// or the kernel's RST tracepoints say about each cause a reset's signature can point to. The file
/// says it once; the loader expands each template for each cause listed, replacing `$cause` and the
/// cause's own values (`$signature`) in every string. An expansion is a rule like any other: its id
/// is the template's with the values filled in, its examples are checked, and its file:line is the
/// template's. It takes the place, in the order of rules, of a file `knowledge/rules/<cause>/<id>.yaml`.
enum RuleTemplates {
    static let path = "knowledge/rules/templates.yaml"

    struct Expansion {
        var node: YNode
        /// Where the rule would live as a file of its own: rules are evaluated in path order.
        var sortKey: String
    }

    static func expand(_ doc: YNode, causeIDs: Set<String>, problems: inout [KnowledgeProblem]) -> [Expansion] {
        do {
            try doc.allowOnly(["causes", "templates"])
        } catch {
            problems.append(error)
            return []
        }
        guard let causes = doc["causes"]?.mapping, let templates = doc["templates"]?.sequence else {
            let want = "`causes` (a mapping of cause id to its values) and `templates` (a list of rules)"
            problems.append(doc.problem("templates.yaml needs \(want)"))
            return []
        }
        var out: [Expansion] = []
        for (cause, valuesNode) in causes {
            guard causeIDs.contains(cause) else {
                problems.append(valuesNode.problem("unknown cause `\(cause)`"))
                continue
            }
            guard let m = valuesNode.mapping else {
                problems.append(valuesNode.problem("the values of `\(cause)` must be a mapping (`signature: …`)"))
                continue
            }
            var values = ["cause": cause]
            var except = Set<String>()
            for (k, v) in m {
                if k == "except" {
                    do { except = Set(try valuesNode.strings("except")) } catch { problems.append(error) }
                } else if let s = v.scalar {
                    values[k] = s
                } else {
                    problems.append(v.problem("`\(k)` must be a string"))
                }
            }
            var expanded = Set<String>()
            for t in templates {
                let rule = t.substituting(values)
                let id = rule["id"]?.scalar ?? ""
                if except.contains(id) { expanded.insert(id); continue }
                if let c = rule["cause"]?.scalar, c != cause {
                    problems.append(t.problem("a template's `cause` must be `$cause`"))
                    continue
                }
                if let leftover = unfilled(rule) {
                    problems.append(t.problem("`$\(leftover)` has no value for cause `\(cause)`"))
                    continue
                }
                expanded.insert(id)
                out.append(Expansion(node: rule, sortKey: "knowledge/rules/\(cause)/\(id).yaml"))
            }
            for id in except.subtracting(expanded).sorted() {
                problems.append(valuesNode.problem("`except` names `\(id)`, which no template makes for `\(cause)`"))
            }
        }
        return out
    }

    /// The first `$name` left in a scalar, if any.
    private static func unfilled(_ n: YNode) -> String? {
        if let s = n.scalar {
            guard let r = s.range(of: #"\$[a-z_]+"#, options: .regularExpression) else { return nil }
            return String(s[r].dropFirst())
        }
        for (_, v) in n.mapping ?? [] { if let u = unfilled(v) { return u } }
        for v in n.sequence ?? [] { if let u = unfilled(v) { return u } }
        return nil
    }
}
