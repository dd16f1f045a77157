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
        let peer = facts.value("focus.peer").flatMap { v -> String? in
            if case .string(let s) = v { return s }; return nil
        }
        let who = port.flatMap { listener(on: $0, facts) }
        let actors = resetProcesses(c.cause.id, facts)
        return c.cause.remedies.enumerated().map { i, r in
            var r = r
            func fill(_ s: String) -> String {
                var s = s
                if let port { s = replace("PORT", with: String(port), in: s) }
                if let peer, c.cause.id != "duplicate-ip" { s = replace("ADDR", with: peer, in: s) }
                return s
            }
            r.text = fill(r.text)
            if let who, port != nil { r.text += " (port \(port!): \(who))" }
            if let actors, i == 0 { r.text += " (\(actors))" }
            r.change = r.change.map(fill)
            r.verify = r.verify.map(fill)
            return r
        } + firewallRules(c.cause.id, port: port, facts)
    }

    /// For a firewall's RSTs: the rules that answer with a TCP reset (on the port when known), named
    /// by table, chain, handle and text, with the command that shows them (never one that changes them).
    static func firewallRules(_ cause: String, port: Int?, _ facts: FactStore) -> [Cause.Remedy] {
        guard cause == "firewall-reset" || cause == "conntrack-invalid" else { return [] }
        var out: [Cause.Remedy] = []
        if case .records(let rs)? = facts.value("nft.rules") {
            for r in rs where r["reject_type"] == .string("tcp reset") {
                let dports = ResetText.string(r, "dports")
                if let port, !dports.isEmpty, !dports.split(separator: ",").contains(Substring(String(port))) { continue }
                let where_ = [ResetText.string(r, "family"), ResetText.string(r, "table")].filter { !$0.isEmpty }.joined(separator: " ")
                let chain = ResetText.string(r, "chain")
                let handle = ResetText.int(r, "handle").flatMap { $0 > 0 ? $0 : nil }
                let named = "nft table \(where_), chain \(chain)" + (handle.map { ", handle \($0)" } ?? "")
                out.append(
                    Cause.Remedy(
                        text:
                            "The rule that resets: \(named): `\(ResetText.string(r, "text"))`. Change or remove it if these "
                                + "connections should pass.",
                        change: "nft -a list chain \(where_) \(chain)"
                            + (handle.map { "   # the rule is handle \($0); `nft delete rule \(where_) \(chain) handle \($0)` removes it" }
                                ?? ""),
                        verify: "the RSTs stop; `rstdoctor check --observe 10s` no longer names firewall-reset"))
            }
        }
        if case .records(let rs)? = facts.value("iptables.rules") {
            for r in rs where ResetText.string(r, "reject_with") == "tcp-reset" {
                let table = ResetText.string(r, "table"), chain = ResetText.string(r, "chain")
                out.append(
                    Cause.Remedy(
                        text:
                            "The rule that resets: iptables table \(table), chain \(chain): `\(ResetText.string(r, "spec"))`. Change "
                                + "or remove it if these connections should pass.",
                        change: "iptables -t \(table) -S \(chain)   # lists the chain's rules; -D with the same rule spec removes it",
                        verify: "the RSTs stop; `rstdoctor check --observe 10s` no longer names firewall-reset"))
            }
        }
        return Array(out.prefix(3))
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

    /// Who sent or received this cause's RSTs, where the kernel trace names them: only a RST the
    /// kernel handled in the process's own context (a system call such as close(), or its socket's
    /// backlog) carries `task`; in a softirq the task is whoever happened to run, and is left empty.
    static func resetProcesses(_ cause: String, _ facts: FactStore) -> String? {
        guard case .records(let rs)? = facts.value("trace.resets") else { return nil }
        var sent: [String: Int] = [:], received: [String: Int] = [:]
        for r in rs where r["cause"] == .string(cause) {
            let task = ResetText.string(r, "task")
            guard !task.isEmpty else { continue }
            let who = ResetText.int(r, "pid").flatMap { $0 > 0 ? "\(task) (pid \($0))" : nil } ?? task
            if r["direction"] == .string("received") { received[who, default: 0] += 1 } else { sent[who, default: 0] += 1 }
        }
        func top(_ d: [String: Int]) -> String {
            d.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3).map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        }
        var parts: [String] = []
        if !sent.isEmpty { parts.append("the kernel sent these RSTs in the system calls of \(top(sent))") }
        if !received.isEmpty { parts.append("received in the system calls of \(top(received))") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
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
        return names.isEmpty
            ? "a socket listens on it here (run as root to see which process)"
            : "\(Array(Set(names)).sorted().joined(separator: ", ")) listens on it here"
    }
}

/// Record fields as text (remedies here, the reset groups of the renderers).
package enum ResetText {
    package static func string(_ r: Record, _ k: String) -> String {
        if case .string(let s)? = r[k] { return s }
        return ""
    }

    package static func int(_ r: Record, _ k: String) -> Int? {
        if case .int(let i)? = r[k] { return Int(i) }
        return nil
    }
}
