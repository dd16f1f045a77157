import Foundation
import RSTDCore

/// Loading a check definition (`checks/*.yaml`) from its YAML.
extension CheckDefinition {
    package static let fields: Set<String> = [
        "id", "title", "step", "run", "alternatives", "read", "builtin", "parser", "needs", "timeout", "window",
        "quick", "opt_in", "facts", "sample", "expect", "description", "fix", "journal_lacks",
    ]

    package static func load(_ doc: YNode) throws(KnowledgeProblem) -> CheckDefinition {
        try doc.allowOnly(fields)
        let id = try doc.string("id")
        let action: Action
        if let run = doc["run"] {
            var argvs = [try argv(run, "run")]
            if let alts = doc["alternatives"] {
                guard let seq = alts.sequence else { throw alts.problem("`alternatives` must be a list of argv lists") }
                for a in seq { argvs.append(try argv(a, "alternatives")) }
            }
            action = .run(argvs)
        } else if doc["read"] != nil {
            action = .read(try doc.strings("read"))
        } else if let b = try doc.optionalString("builtin") {
            action = .builtin(b)
        } else {
            throw doc.problem("a check needs one of `run`, `read` or `builtin`")
        }
        var tools: [String] = []
        var root = false
        if let needs = doc["needs"] {
            try needs.allowOnly(["tools", "root"])
            tools = try needs.strings("tools")
            root = try needs.bool("root") ?? false
        }
        var timeout = 2.0
        if let t = try doc.optionalString("timeout") {
            guard let d = Seconds.parse(t), d > 0 else { throw doc["timeout"]!.problem("`timeout` must be a duration like 2s") }
            timeout = d
        }
        var expect: [(String, FactValue, Int)] = []
        if let e = doc["expect"] {
            guard let m = e.mapping else { throw e.problem("`expect` must be a mapping of fact path to value") }
            for (k, v) in m {
                guard let fv = v.factValue else { throw v.problem("`expect.\(k)` must be a scalar") }
                expect.append((k, fv, v.line))
            }
        }
        return CheckDefinition(
            id: id,
            title: try doc.string("title"),
            step: try doc.string("step"),
            action: action,
            parser: try doc.optionalString("parser"),
            toolsNeeded: tools,
            needsRoot: root,
            timeout: timeout,
            window: try doc.bool("window") ?? false,
            quick: try doc.bool("quick") ?? false,
            optIn: try doc.bool("opt_in") ?? false,
            facts: try declarations(doc["facts"]),
            sample: try doc.optionalString("sample"),
            expect: expect,
            description: try doc.optionalString("description") ?? "",
            fix: try doc.optionalString("fix"),
            file: doc.file,
            line: doc.line,
            journalLacks: try doc.optionalString("journal_lacks")
        )
    }

    private static func argv(_ node: YNode, _ name: String) throws(KnowledgeProblem) -> [String] {
        guard let seq = node.sequence, !seq.isEmpty else { throw node.problem("`\(name)` must be a non-empty argv list") }
        var out: [String] = []
        for item in seq {
            guard let s = item.scalar else { throw item.problem("argv elements must be strings") }
            out.append(s)
        }
        return out
    }

    /// `facts:` mapping: `key: type` or `key: { type: records, fields: {…}, doc: "…" }`; a field is
    /// `name: type` or `name: { type: bool, absent: false }`.
    package static func declarations(_ node: YNode?) throws(KnowledgeProblem) -> [FactDeclaration] {
        guard let node, !node.isNull else { return [] }
        guard let m = node.mapping else { throw node.problem("`facts` must be a mapping of fact key to type") }
        var out: [FactDeclaration] = []
        for (key, v) in m {
            if let s = v.scalar {
                guard let t = FactType(yaml: s) else { throw v.problem("unknown type `\(s)` for fact `\(key)`") }
                out.append(FactDeclaration(key: key, type: t, file: v.file, line: v.line))
                continue
            }
            try v.allowOnly(["type", "fields", "doc"])
            let ts = try v.string("type")
            guard let t = FactType(yaml: ts) else { throw v.problem("unknown type `\(ts)` for fact `\(key)`") }
            var fields: [String: FactType] = [:]
            var absent: Record = [:]
            if let f = v["fields"] {
                guard let fm = f.mapping else { throw f.problem("`fields` must map field name to type") }
                for (fk, fv) in fm {
                    var typeNode = fv
                    if fv.mapping != nil {
                        try fv.allowOnly(["type", "absent"])
                        typeNode = fv["type"] ?? fv
                    }
                    guard let s = typeNode.scalar, let ft = FactType(yaml: s), ft != .records else {
                        throw fv.problem("field `\(fk)` must have a scalar type")
                    }
                    fields[fk] = ft
                    if let a = fv.mapping != nil ? fv["absent"] : nil {
                        guard let av = a.factValue, av.type == ft else { throw a.problem("`absent` of field `\(fk)` must be a \(ft.rawValue)") }
                        absent[fk] = av
                    }
                }
            }
            if t == .records && fields.isEmpty { throw v.problem("record fact `\(key)` must declare its `fields`") }
            var d = FactDeclaration(key: key, type: t, fields: fields, doc: try v.optionalString("doc") ?? "", file: v.file, line: v.line)
            d.absent = absent
            out.append(d)
        }
        return out
    }
}
