import Foundation
import RSTDKnowledge
import RSTDCore

/// A cause's remedies made concrete for this diagnosis: the placeholders of causes.yaml (`PORT`,
/// `ADDR`) filled with the focus or with what the capture and the trace saw for that cause, and
/// who is involved (the process listening on the port, from `ss -p`). Shown, never applied; a
/// placeholder nothing fills stays as it is, so a command block never holds an invented value.
package enum Remedies {
    package static func concrete(_ c: CauseResult, facts: FactStore) -> [Cause.Remedy] {
        let port = focusPort(facts) ?? resetPort(c.cause.id, facts)
        let peer = facts.value("focus.peer").flatMap { v -> String? in if case .string(let s) = v { return s }; return nil }
        let who = port.flatMap { listener(on: $0, facts) }
        return c.cause.remedies.map { r in
            var r = r
            func fill(_ s: String) -> String {
                var s = s
                if let port { s = replace("PORT", with: String(port), in: s) }
                if let peer, c.cause.id != "duplicate-ip" { s = replace("ADDR", with: peer, in: s) }
                return s
            }
            r.text = fill(r.text)
            if let who, port != nil { r.text += " (port \(port!): \(who))" }
            r.change = r.change.map(fill)
            r.verify = r.verify.map(fill)
            return r
        }
    }

    /// Replaces a placeholder only where it stands as a word (`:PORT`, `PORT'`), never inside another word.
    static func replace(_ placeholder: String, with value: String, in text: String) -> String {
        let pattern = "(?<![A-Za-z0-9_])\(placeholder)(?![A-Za-z0-9_])"
        return text.replacingOccurrences(of: pattern, with: value, options: .regularExpression)
    }

    static func focusPort(_ facts: FactStore) -> Int? {
        if case .int(let p)? = facts.value("focus.port") { return Int(p) }
        return nil
    }

    /// The service port of the RSTs pointing to this cause: the capture's records first, then the
    /// kernel trace's; the most frequent one.
    static func resetPort(_ cause: String, _ facts: FactStore) -> Int? {
        var counts: [Int: Int] = [:]
        for key in ["capture.resets", "trace.resets"] {
            guard case .records(let rs)? = facts.value(key) else { continue }
            for r in rs where r["cause"] == .string(cause) {
                guard case .int(let sp)? = r["sport"], case .int(let dp)? = r["dport"] else { continue }
                // The service port is the lower of the two (the other is the client's ephemeral port).
                counts[Int(min(sp, dp)), default: 0] += 1
            }
            if !counts.isEmpty { break }
        }
        return counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }

    /// Who listens on the port now (`ss -Hltnp`): "nginx (pid 812) listens" or "nothing listens now".
    static func listener(on port: Int, _ facts: FactStore) -> String? {
        guard case .records(let rs)? = facts.value("listeners") else { return nil }
        let on = rs.filter { $0["port"] == .int(Int64(port)) }
        guard !on.isEmpty else { return "nothing listens on it here now" }
        let names = on.compactMap { r -> String? in
            guard case .string(let p)? = r["process"] else { return nil }
            if case .int(let pid)? = r["pid"] { return "\(p) (pid \(pid))" }
            return p
        }
        return names.isEmpty ? "a socket listens on it here (run as root to see which process)" : "\(Array(Set(names)).sorted().joined(separator: ", ")) listens on it here"
    }
}
