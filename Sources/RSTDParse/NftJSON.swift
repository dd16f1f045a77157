import Foundation
import RSTDCore

/// `nft -j list ruleset` (libnftables JSON, libnftables-json(5)) → `nft.rules` records {family, table,
/// chain, hook, handle, verdict, reject_type, dports, path_dports, saddr, daddr, ct_state, tcp_flags,
/// comment, text}, `nft.reject_tcp_reset`, `nft.ct_invalid_verdict`, `nft.ct_timeout_policies`.
/// `hook` of a regular chain is the hook of every base chain that jumps or goes to it; `path_dports`
/// the destination ports a packet can have when it reaches the rule's chain ("" = any; ChainPaths).
/// `verdict` is "" when the rule has none (evaluation continues). `text` is a one-line rendering in
/// the style of nft's own listing; statements this parser does not know are shown by their JSON key.
/// iptables-nft rules hold `xt` expressions whose options JSON does not carry (an `xt` REJECT is
/// verdict `reject` with reject_type ""); the iptables-save check sees those.
package enum NftJSONParser: OutputParser {
    package static let id = "nft-json"

    struct ChainKey: Hashable { var family: String, table: String, name: String }

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let doc = try JSON.parse(output.text, what: "nft -j")
        guard let items = doc["nftables"]?.array else {
            throw ParseError("nft JSON has no top-level `nftables` list (not `nft -j list ruleset` output)")
        }
        var hooks: [ChainKey: String] = [:]
        var sets: [ChainKey: [JSON]] = [:]
        var timeouts: [Record] = []
        var rules: [(key: ChainKey, rule: [String: JSON])] = []
        for item in items {
            guard let (kind, body) = item.single, let o = body.object else { continue }
            let key = ChainKey(family: o["family"]?.string ?? "", table: o["table"]?.string ?? "", name: o["name"]?.string ?? "")
            switch kind {
            case "chain":
                if let h = o["hook"]?.string { hooks[key] = h }
            case "set", "map":
                sets[key] = o["elem"]?.array ?? []
            case "ct timeout":
                var r: Record = ["family": .string(key.family), "table": .string(key.table), "name": .string(key.name),
                                 "protocol": .string(o["protocol"]?.string ?? "")]
                if let est = o["policy"]?["established"]?.int { r["established"] = .duration(Double(est)) }
                timeouts.append(r)
            case "rule":
                let ck = ChainKey(family: key.family, table: key.table, name: o["chain"]?.string ?? "")
                rules.append((ck, o))
            default:
                continue
            }
        }

        // Regular chains inherit the hooks of the base chains that reach them by jump/goto.
        var edges: [ChainKey: Set<String>] = [:]
        for (ck, o) in rules {
            for target in jumpTargets(o["expr"]?.array ?? []) {
                edges[ck, default: []].insert(target)
            }
        }
        var reached: [ChainKey: Set<String>] = [:]
        for (base, hook) in hooks {
            var queue = [base]
            var seen: Set<ChainKey> = [base]
            while let c = queue.popLast() {
                reached[c, default: []].insert(hook)
                for t in edges[c] ?? [] {
                    let next = ChainKey(family: c.family, table: c.table, name: t)
                    if seen.insert(next).inserted { queue.append(next) }
                }
            }
        }

        let contexts = rules.map { (ck, o) in
            var ctx = RuleContext(family: ck.family, table: ck.table, sets: sets)
            ctx.examine(o["expr"]?.array ?? [])
            return ctx
        }
        func pathKey(_ c: ChainKey) -> String { [c.family, c.table, c.name].joined(separator: "\u{0}") }
        let jumps = zip(rules, contexts).flatMap { rule, ctx in
            jumpTargets(rule.rule["expr"]?.array ?? []).map { name in
                let target = ChainKey(family: rule.key.family, table: rule.key.table, name: name)
                return ChainPaths.Jump(chain: pathKey(rule.key), target: pathKey(target), ports: ctx.dports)
            }
        }
        let baseKeys = Set(hooks.keys.map(pathKey))
        var paths = ChainPaths(jumps) { baseKeys.contains($0) }

        var records: [Record] = []
        var tcpResets: Int64 = 0
        var invalidVerdicts: Set<String> = []
        for ((ck, o), ctx) in zip(rules, contexts) {
            let exprs = o["expr"]?.array ?? []
            var r: Record = [
                "family": .string(ck.family), "table": .string(ck.table), "chain": .string(ck.name),
                "hook": .string((reached[ck] ?? []).sorted().joined(separator: ",")),
                "handle": .int(o["handle"]?.int ?? 0),
                "verdict": .string(ctx.verdict), "reject_type": .string(ctx.rejectType),
                "dports": .string(ctx.dports.joined(separator: ",")), "path_dports": .string(paths.ports(of: pathKey(ck))),
                "saddr": .string(ctx.saddr), "daddr": .string(ctx.daddr),
                "ct_state": .string(ctx.ctState), "tcp_flags": .string(ctx.tcpFlags),
                "comment": .string(o["comment"]?.string ?? ""),
            ]
            var text = exprs.map { Render.statement($0, family: ck.family) }.joined(separator: " ")
            if let c = o["comment"]?.string { text += " comment \"\(c)\"" }
            r["text"] = .string(text)
            records.append(r)
            if ctx.rejectType == "tcp reset" { tcpResets += 1 }
            if ctx.invalidPositive, ["drop", "reject", "accept"].contains(ctx.verdict) { invalidVerdicts.insert(ctx.verdict) }
            invalidVerdicts.formUnion(ctx.invalidVmapVerdicts)
        }
        let invalid = ["reject", "drop", "accept"].first { invalidVerdicts.contains($0) } ?? "none"
        return ParsedFacts(values: [
            "nft.rules": .records(records),
            "nft.reject_tcp_reset": .int(tcpResets),
            "nft.ct_invalid_verdict": .string(invalid),
            "nft.ct_timeout_policies": .records(timeouts),
        ])
    }

    /// Chains a rule's statements jump or go to, including through verdict maps.
    static func jumpTargets(_ exprs: [JSON]) -> [String] {
        var out: [String] = []
        func visit(_ v: JSON, depth: Int) {
            guard depth < 32 else { return }
            switch v {
            case .object(let o):
                for (k, x) in o {
                    if k == "jump" || k == "goto", let t = x["target"]?.string { out.append(t) } else { visit(x, depth: depth + 1) }
                }
            case .array(let a):
                for x in a { visit(x, depth: depth + 1) }
            default:
                break
            }
        }
        for e in exprs { visit(e, depth: 0) }
        return out
    }
}
