import Foundation
import RSTDData
import RSTDCore

/// A combined fact (`combine:` in knowledge/rules/derived/, like insights-core's combiners): one
/// record list over several sources that say the same thing in their own words, e.g. the
/// firewall's rules from nft, iptables and ip6tables. Each source gives the combined fields as
/// expressions over its own records.
///
/// Rules read a combined list only through an aggregate, and the checker reads each source in its
/// place: `any(firewall.rules, resets)` is `any(nft.rules, reject_type == "tcp reset") ||
/// any(iptables.rules, …) || …`. So a source that could not be collected is unknown exactly as if
/// the rule named every source itself (`true || unknown` is true), and the evidence names the
/// sources' facts and checks.
package struct Combiner: Sendable {
    package struct Source: Sendable {
        package var key: String
        /// Combined field → its value over one record of this source (checked in that record's scope).
        package var fields: [String: Expr]
        /// Facts the field expressions read besides the record (e.g. `focus.port`).
        package var reads: Set<String>
    }

    package var id: String
    package var key: String
    package var sources: [Source]
    package var fieldTypes: [String: FactType]
    package var file: String
    package var line: Int

    /// Reads a `combine:` rule file; its sources must be declared record lists.
    static func load(_ d: YNode, scope: ExprScope) throws(KnowledgeProblem) -> Combiner {
        try d.allowOnly(["id", "combine", "from"])
        let id = try d.string("id")
        let key = try d.string("combine")
        guard let from = d["from"]?.mapping, !from.isEmpty else {
            throw d.problem("a combiner needs `from`: each source record list with its expression for every combined field")
        }
        var sources: [Source] = []
        var types: [String: FactType] = [:]
        var names: Set<String>?
        for (src, fieldsNode) in from {
            guard let decl = scope.facts[src], decl.type == .records else {
                throw fieldsNode.problem("`\(src)` is not a declared record list")
            }
            guard let m = fieldsNode.mapping else { throw fieldsNode.problem("`\(src)` needs a mapping of combined field to expression") }
            if let names, names != Set(m.map(\.key)) {
                let these = m.map(\.key).sorted()
                throw fieldsNode.problem("`\(src)` gives \(these), another source \(names.sorted()): every source gives every field")
            }
            names = Set(m.map(\.key))
            var source = Source(key: src, fields: [:], reads: [])
            for (field, exprNode) in m {
                guard let text = exprNode.scalar else { throw exprNode.problem("`\(field)` must be an expression") }
                let (e, t, reads): (Expr, ExprType, Set<String>)
                do {
                    (e, t, reads) = try ExprChecker.compile(text, scope: scope, record: decl)
                } catch {
                    throw exprNode.problem("in `\(text.prefix(80))`: \(error)")
                }
                let ft: FactType
                switch t {
                case .bool: ft = .bool
                case .string: ft = .string
                case .number: ft = .double
                default: throw exprNode.problem("`\(field)` must be a bool, a number or a string, it is a \(t)")
                }
                if let old = types[field], old != ft {
                    throw exprNode.problem("`\(field)` is a \(t) here and a \(old.rawValue) in another source")
                }
                types[field] = ft
                source.fields[field] = e
                source.reads.formUnion(reads)
            }
            sources.append(source)
        }
        return Combiner(id: id, key: key, sources: sources, fieldTypes: types, file: d.file, line: d.line)
    }

    var declaration: FactDeclaration {
        let from = sources.map(\.key).joined(separator: ", ")
        let doc = "combined from \(from) by rule \(id)"
        return FactDeclaration(key: key, type: .records, fields: fieldTypes, doc: doc, file: file, line: line)
    }

    /// `fn(key, predicate)` over every source, joined as the aggregate demands; nil for an aggregate
    /// that does not split over sources (max, min).
    func expand(_ fn: ExprFunction, predicate: Expr?) -> (Expr, Set<String>)? {
        let join: BinaryOp
        switch fn {
        case .any: join = .or
        case .all: join = .and
        case .count, .sum: join = .add
        default: return nil
        }
        var reads = Set<String>()
        var parts: [Expr] = []
        for s in sources {
            reads.insert(s.key)
            if let predicate {
                reads.formUnion(s.reads)
                parts.append(.call(fn, [.name(s.key), Self.replacingFields(predicate, s.fields)]))
            } else {
                parts.append(.call(fn, [.name(s.key)]))
            }
        }
        let joined = parts.dropFirst().reduce(parts[0]) { .binary(join, $0, $1) }
        return (joined, reads)
    }

    /// The record's fields replaced by their expressions; a nested aggregate's own predicate is
    /// about its own records and is left alone.
    static func replacingFields(_ e: Expr, _ fields: [String: Expr]) -> Expr {
        func r(_ e: Expr) -> Expr {
            switch e {
            case .field(let f, _): return fields[f] ?? e
            case .literal, .name: return e
            case .list(let items): return .list(items.map(r))
            case .unary(let op, let a): return .unary(op, r(a))
            case .binary(let op, let a, let b): return .binary(op, r(a), r(b))
            case .call(let fn, let args):
                if fn.isAggregate { return .call(fn, [r(args[0])] + args.dropFirst()) }
                return .call(fn, args.map(r))
            }
        }
        return r(e)
    }
}
