import Foundation
import Yams
import RSTDCore

/// A problem in checks/ or knowledge/, with the file and line it is on (what `knowledge lint` prints).
package struct KnowledgeProblem: Error, Sendable, CustomStringConvertible, Hashable {
    package var file: String
    package var line: Int
    package var message: String

    package init(file: String, line: Int, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    package var description: String { "\(file):\(line): \(message)" }
}

/// A YAML node with the file it came from, and typed accessors that report file:line on errors.
package struct YNode {
    package let node: Node
    package let file: String

    package var line: Int { node.mark?.line ?? 1 }

    package func problem(_ message: String) -> KnowledgeProblem { KnowledgeProblem(file: file, line: line, message) }

    package static func load(_ text: String, file: String) throws(KnowledgeProblem) -> YNode {
        do {
            // The basic resolver: YNode types scalars itself (no tags read), and the default one compiles
            // ICU regexes on first use, a few milliseconds of every command's start-up.
            guard let node = try Yams.compose(yaml: text, .basic) else {
                throw KnowledgeProblem(file: file, line: 1, "the file is empty")
            }
            return YNode(node: node, file: file)
        } catch let p as KnowledgeProblem {
            throw p
        } catch let e as YamlError {
            throw KnowledgeProblem(file: file, line: Self.line(of: e), "not valid YAML: \(e)")
        } catch {
            throw KnowledgeProblem(file: file, line: 1, "not valid YAML: \(error)")
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return 1
        }
    }

    package var isNull: Bool {
        if case .scalar(let s) = node { return s.string == "~" || s.string == "null" || (s.string.isEmpty && s.style == .plain) }
        return false
    }

    package var scalar: String? {
        if case .scalar(let s) = node { return s.string }
        return nil
    }

    package var mapping: [(key: String, value: YNode)]? {
        guard case .mapping(let m) = node else { return nil }
        return m.map { (key: $0.key.string ?? "", value: YNode(node: $0.value, file: file)) }
    }

    package var sequence: [YNode]? {
        guard case .sequence(let s) = node else { return nil }
        return s.map { YNode(node: $0, file: file) }
    }

    package subscript(key: String) -> YNode? {
        guard case .mapping(let m) = node else { return nil }
        for (k, v) in m where k.string == key { return YNode(node: v, file: file) }
        return nil
    }

    package func string(_ key: String) throws(KnowledgeProblem) -> String {
        guard let v = self[key] else { throw problem("missing `\(key)`") }
        guard let s = v.scalar, !s.isEmpty else { throw v.problem("`\(key)` must be a non-empty string") }
        return s
    }

    package func optionalString(_ key: String) throws(KnowledgeProblem) -> String? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let s = v.scalar else { throw v.problem("`\(key)` must be a string") }
        return s
    }

    package func double(_ key: String) throws(KnowledgeProblem) -> Double? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let s = v.scalar, let d = Double(s.replacingOccurrences(of: "+", with: "")) else {
            throw v.problem("`\(key)` must be a number")
        }
        return d
    }

    package func bool(_ key: String) throws(KnowledgeProblem) -> Bool? {
        guard let v = self[key], !v.isNull else { return nil }
        switch v.scalar?.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw v.problem("`\(key)` must be true or false")
        }
    }

    package func strings(_ key: String) throws(KnowledgeProblem) -> [String] {
        guard let v = self[key], !v.isNull else { return [] }
        if let s = v.scalar { return [s] }
        guard let seq = v.sequence else { throw v.problem("`\(key)` must be a list of strings") }
        var out: [String] = []
        for item in seq {
            guard let s = item.scalar else { throw item.problem("`\(key)` must be a list of strings") }
            out.append(s)
        }
        return out
    }

    /// Rejects keys this file format does not know, so a typo is a lint error, not silence.
    package func allowOnly(_ keys: Set<String>) throws(KnowledgeProblem) {
        guard let m = mapping else { throw problem("expected a mapping") }
        for (k, v) in m where !keys.contains(k) {
            throw v.problem("unknown field `\(k)` (known: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    /// A scalar as a typed fact value: int, double, bool or string (YAML's own typing).
    package var factValue: FactValue? {
        guard case .scalar(let s) = node else {
            if let seq = sequence {
                // A list of mappings is a record list (used in rule examples).
                var records: [Record] = []
                for item in seq {
                    guard let m = item.mapping else { return nil }
                    var r: Record = [:]
                    for (k, v) in m { if let fv = v.factValue { r[k] = fv } }
                    records.append(r)
                }
                return .records(records)
            }
            return nil
        }
        let text = s.string
        if s.style != .plain { return .string(text) }
        if let i = FactValue(integerText: text) { return i }
        if let d = Double(text), text.contains(".") { return .double(d) }
        switch text.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if let d = Seconds.parse(text), text.rangeOfCharacter(from: .letters) != nil { return .duration(d) }
        return .string(text)
    }
}

extension KnowledgeProblem {
    /// Every error thrown while loading knowledge is a KnowledgeProblem; anything else is a bug, reported as one.
    package static func from(_ error: any Error) -> KnowledgeProblem {
        (error as? KnowledgeProblem) ?? KnowledgeProblem(file: "?", line: 0, "internal error: \(error)")
    }
}

extension YNode {
    /// A copy with every `$name` in its scalars (keys and values) replaced by `values[name]`, keeping
    /// each scalar's style and position: a rule expanded from a template keeps the template's file:line.
    package func substituting(_ values: [String: String]) -> YNode {
        // Longest names first, so `$cause_title` is not read as `$cause` followed by `_title`.
        let names = values.keys.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        func text(_ s: String) -> String {
            guard s.contains("$") else { return s }
            var out = s
            for n in names { out = out.replacingOccurrences(of: "$" + n, with: values[n]!) }
            return out
        }
        func copy(_ n: Node) -> Node {
            switch n {
            case .scalar(let s):
                return .scalar(Node.Scalar(text(s.string), s.tag, s.style, s.mark))
            case .mapping(let m):
                return .mapping(Node.Mapping(m.map { (copy($0.key), copy($0.value)) }, m.tag, m.style, m.mark))
            case .sequence(let q):
                return .sequence(Node.Sequence(q.map(copy), q.tag, q.style, q.mark))
            case .alias:
                return n
            }
        }
        return YNode(node: copy(node), file: file)
    }
}
