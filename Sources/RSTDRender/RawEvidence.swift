import Foundation
import RSTDInfer
import RSTDCore

/// The raw evidence that matters for a report's appendix: non-zero reset-related counters, the
/// sysctls that were read, and firewall rules that reject with a reset or match the focus.
/// Rendered into check JSON as `evidence`, so a saved JSON (and `report --merge`) keeps it.
package enum RawEvidence {
    /// Kernel counters (nstat names) that move when resets are sent, received or provoked.
    /// Anything with Rst/Reset/Abort in its name is included too, so new kernel counters are not missed.
    static let resetCounters: Set<String> = [
        "TcpOutRsts", "TcpEstabResets", "TcpAttemptFails", "TcpInErrs",
        "TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtEmbryonicRsts",
        "TcpExtTCPChallengeACK", "TcpExtTCPSYNChallenge",
        "TcpExtPAWSEstab", "TcpExtPAWSActive", "TcpExtPAWSTimewait", "TcpExtPAWSPassive",
        "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent", "TcpExtSyncookiesFailed",
        "TcpExtTCPTimeWaitOverflow", "TcpExtTW", "TcpExtTWKilled", "TcpExtTCPOFODrop", "TcpExtTCPBacklogDrop",
        "TcpExtTCPMemoryPressures", "TcpExtTCPOrphanDrop",
    ]

    static func isResetCounter(_ name: String) -> Bool {
        resetCounters.contains(name) || name.contains("Rst") || name.contains("Reset") || name.contains("Abort")
    }

    /// Counter name → (absolute value, delta over the window), non-zero ones only, in name order.
    package static func counters(_ facts: FactStore) -> [(name: String, value: Int64?, delta: Int64?)] {
        var names = Set<String>()
        for k in facts.keys where k.hasPrefix("nstat.") {
            let n = k.hasSuffix(".delta") ? String(k.dropFirst(6).dropLast(6)) : String(k.dropFirst(6))
            if isResetCounter(n) { names.insert(n) }
        }
        var out: [(name: String, value: Int64?, delta: Int64?)] = []
        for n in names.sorted() {
            let v = facts.value("nstat.\(n)").flatMap(integer)
            let d = facts.value("nstat.\(n).delta").flatMap(integer)
            if (v ?? 0) != 0 || (d ?? 0) != 0 { out.append((n, v, d)) }
        }
        // The kernel's own per-reason RST counts from the tracepoints, when they ran.
        let drops: Set<String> = ["trace.netfilter_drops", "trace.paws_drops", "trace.paws_drops_here"]
        for k in facts.keys where k.hasPrefix("trace.sent.") || k == "trace.sent" || k == "trace.received" || drops.contains(k) {
            if let v = facts.value(k).flatMap(integer), v != 0 { out.append((k, nil, v)) }
        }
        return out
    }

    static func integer(_ v: FactValue) -> Int64? {
        if case .int(let i) = v { return i }
        guard let d = v.number, d.isFinite, abs(d) < 9e18 else { return nil }
        return Int64(d)
    }

    /// Every known `sysctl.*` fact (the sysctls check reads only the relevant ones), key without the prefix.
    package static func sysctls(_ facts: FactStore) -> [(String, String)] {
        facts.keys.filter { $0.hasPrefix("sysctl.") }.compactMap { k in facts.value(k).map { (String(k.dropFirst(7)), $0.display) } }
    }

    /// Firewall rules that build a RST, or that name the focus port, from every firewall record list.
    package static func firewallRules(_ facts: FactStore, focusPort: Int?) -> [Record] {
        var out: [Record] = []
        for key in ["nft.rules", "iptables.rules", "ip6tables.rules"] {
            guard case .records(let rules)? = facts.value(key) else { continue }
            for r in rules where matters(r, focusPort: focusPort) {
                var x = r
                x["source"] = .string(String(key.dropLast(6)))
                out.append(x)
            }
        }
        return out
    }

    static func matters(_ r: Record, focusPort: Int?) -> Bool {
        func s(_ k: String) -> String { if case .string(let v)? = r[k] { return v }; return "" }
        if s("reject_type").contains("reset") || s("reject_with").contains("tcp-reset") { return true }
        if s("ct_state").lowercased().contains("invalid") || s("state").uppercased().contains("INVALID") { return true }
        guard let p = focusPort else { return false }
        for field in ["dports", "dport", "sports", "sport"] {
            if portMatches(s(field), p) { return true }
        }
        return false
    }

    /// Whether a rule's port field names the port: `80`, `80,443`, `8000-8100`, `{ 80, 443 }`, `8000:8100`.
    static func portMatches(_ text: String, _ port: Int) -> Bool {
        for p in text.split(whereSeparator: { ",{} ".contains($0) }).prefix(1000) {
            let range = p.split(whereSeparator: { $0 == "-" || $0 == ":" })
            if range.count == 2, let a = Int(range[0]), let b = Int(range[1]), a <= port, port <= b { return true }
            if Int(p) == port { return true }
        }
        return false
    }

    /// The `evidence` object of check JSON.
    package static func json(_ d: Diagnosis) -> JSON {
        .object([
            ("counters", .array(counters(d.facts).map { c in
                .object([("name", .string(c.name)), ("value", c.value.map { .int($0) } ?? .null), ("delta", c.delta.map { .int($0) } ?? .null)])
            })),
            ("sysctls", .object(sysctls(d.facts).map { ($0.0, .string($0.1)) })),
            ("firewall_rules", .array(firewallRules(d.facts, focusPort: d.host.port).map { r in
                .object(r.keys.sorted().compactMap { k in r[k].map { (k, JSON($0)) } })
            })),
        ])
    }
}
