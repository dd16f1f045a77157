import Foundation
import RSTDCore

/// `nft -j list ruleset` (libnftables JSON, libnftables-json(5)) → `nft.rules` records {family, table,
/// chain, hook, handle, verdict, reject_type, dports, saddr, daddr, ct_state, tcp_flags, comment,
/// text}, `nft.reject_tcp_reset`, `nft.ct_invalid_verdict`, `nft.ct_timeout_policies`.
/// `hook` of a regular chain is the hook of every base chain that jumps or goes to it.
/// `verdict` is "" when the rule has none (evaluation continues). `text` is a one-line rendering in
/// the style of nft's own listing; statements this parser does not know are shown by their JSON key.
/// iptables-nft rules hold `xt` expressions whose options JSON does not carry (an `xt` REJECT is
/// verdict `reject` with reject_type ""); the iptables-save check sees those.
package enum NftJSONParser: OutputParser {
    package static let id = "nft-json"

    struct ChainKey: Hashable { var family: String, table: String, name: String }

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let doc = try JSONValue.parse(output.text, what: "nft -j")
        guard let items = doc["nftables"]?.array else {
            throw ParseError("nft JSON has no top-level `nftables` list (not `nft -j list ruleset` output)")
        }
        var hooks: [ChainKey: String] = [:]
        var sets: [ChainKey: [JSONValue]] = [:]
        var timeouts: [Record] = []
        var rules: [(key: ChainKey, rule: [String: JSONValue])] = []
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

        var records: [Record] = []
        var tcpResets: Int64 = 0
        var invalidVerdicts: Set<String> = []
        for (ck, o) in rules {
            let exprs = o["expr"]?.array ?? []
            var ctx = RuleContext(family: ck.family, table: ck.table, sets: sets)
            ctx.examine(exprs)
            var r: Record = [
                "family": .string(ck.family), "table": .string(ck.table), "chain": .string(ck.name),
                "hook": .string((reached[ck] ?? []).sorted().joined(separator: ",")),
                "handle": .int(o["handle"]?.int ?? 0),
                "verdict": .string(ctx.verdict), "reject_type": .string(ctx.rejectType),
                "dports": .string(ctx.dports.joined(separator: ",")),
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
    static func jumpTargets(_ exprs: [JSONValue]) -> [String] {
        var out: [String] = []
        func visit(_ v: JSONValue, depth: Int) {
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

    /// What one rule's statements say, in the record's terms.
    struct RuleContext {
        var family: String
        var table: String
        var sets: [ChainKey: [JSONValue]]
        var verdict = ""
        var rejectType = ""
        var dports: [String] = []
        var saddr = ""
        var daddr = ""
        var ctState = ""
        var tcpFlags = ""
        var invalidPositive = false
        var invalidVmapVerdicts: Set<String> = []

        static let verdicts: Set<String> = ["accept", "drop", "continue", "return", "jump", "goto", "queue"]

        mutating func examine(_ exprs: [JSONValue]) {
            for e in exprs {
                guard let (k, v) = e.single else { continue }
                switch k {
                case "match": match(v)
                case "reject":
                    verdict = "reject"
                    rejectType = Self.rejectType(v)
                case "vmap":
                    verdict = "vmap"
                    vmap(v)
                case "xt":
                    if v["type"]?.string == "target", let n = v["name"]?.string {
                        let lower = n.lowercased()
                        if ["reject", "drop", "accept", "return"].contains(lower) { verdict = lower; rejectType = "" }
                    }
                case "dnat", "snat", "masquerade", "redirect", "synproxy", "tproxy", "fwd", "dup":
                    if k != "dup" { verdict = k }
                default:
                    if Self.verdicts.contains(k) { verdict = k }
                }
            }
        }

        static func rejectType(_ v: JSONValue) -> String {
            guard let t = v["type"]?.string else { return "default" }
            if let e = v["expr"]?.string { return "\(t) \(e)" }
            return t
        }

        mutating func match(_ m: JSONValue) {
            guard let left = m["left"], let right = m["right"] else { return }
            let op = m["op"]?.string ?? "=="
            let negated = op == "!="
            if let (lk, lv) = left.single {
                if lk == "payload", let proto = lv["protocol"]?.string, let field = lv["field"]?.string {
                    if field == "dport", proto == "tcp" || proto == "th" {
                        dports += values(right).map { negated ? "!" + $0 : $0 }
                    } else if field == "saddr", proto == "ip" || proto == "ip6" {
                        saddr = (negated ? "!= " : "") + Render.expr(right, family: family)
                    } else if field == "daddr", proto == "ip" || proto == "ip6" {
                        daddr = (negated ? "!= " : "") + Render.expr(right, family: family)
                    } else if field == "flags", proto == "tcp" {
                        tcpFlags = Render.match(m, family: family)
                    }
                } else if lk == "&", let operands = lv.array, operands.first?["payload"]?["field"]?.string == "flags",
                          operands.first?["payload"]?["protocol"]?.string == "tcp" {
                    tcpFlags = Render.match(m, family: family)
                } else if lk == "ct", lv["key"]?.string == "state", lv["dir"] == nil {
                    let states = Render.flagList(right)
                    ctState = (negated ? "!" : "") + states.joined(separator: ",")
                    if !negated && states.contains("invalid") { invalidPositive = true }
                } else if lk == "concat", let parts = lv.array {
                    // `meta l4proto . ip daddr . tcp dport { tcp . 10.0.0.1 . 80, … }`
                    if let i = parts.firstIndex(where: { $0["payload"]?["field"]?.string == "dport" && ["tcp", "th"].contains($0["payload"]?["protocol"]?.string ?? "") }) {
                        for el in elements(right) {
                            if let c = el["concat"]?.array, i < c.count { dports.append(Render.expr(c[i], family: family)) }
                        }
                    }
                }
            }
        }

        mutating func vmap(_ v: JSONValue) {
            guard let key = v["key"], let data = v["data"] else { return }
            let pairs: [JSONValue]
            if let s = data["set"]?.array { pairs = s } else if let name = data.string, name.hasPrefix("@") {
                pairs = sets[ChainKey(family: family, table: table, name: String(name.dropFirst()))] ?? []
            } else { pairs = [] }
            let isCtState = key["ct"]?["key"]?.string == "state"
            let isDport = key["payload"]?["field"]?.string == "dport" && ["tcp", "th"].contains(key["payload"]?["protocol"]?.string ?? "")
            var states: [String] = []
            for p in pairs {
                guard let pair = p.array, pair.count == 2 else { continue }
                let k = Render.expr(pair[0], family: family)
                if isDport { dports.append(k) }
                if isCtState {
                    states.append(k)
                    if k == "invalid", let (vk, _) = pair[1].single, ["drop", "reject", "accept"].contains(vk) {
                        invalidVmapVerdicts.insert(vk)
                    }
                }
            }
            if isCtState { ctState = states.joined(separator: ",") }
        }

        /// The elements of a match's right side: an anonymous set, a named set, or one value.
        func elements(_ right: JSONValue) -> [JSONValue] {
            if let s = right["set"]?.array { return s }
            if let name = right.string, name.hasPrefix("@") {
                return sets[ChainKey(family: family, table: table, name: String(name.dropFirst()))] ?? []
            }
            return [right]
        }

        func values(_ right: JSONValue) -> [String] {
            if let name = right.string, name.hasPrefix("@"),
               sets[ChainKey(family: family, table: table, name: String(name.dropFirst()))] == nil {
                return [name]
            }
            return elements(right).map { el in
                if let inner = el["elem"]?["val"] { return Render.expr(inner, family: family) }
                return Render.expr(el, family: family)
            }
        }
    }

    /// nft-listing-style rendering of statements and expressions.
    enum Render {
        static let unqualifiedMeta: Set<String> = ["iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"]
        static let quotedMeta: Set<String> = ["iifname", "oifname", "iif", "oif", "ibrname", "obrname"]

        static func statement(_ s: JSONValue, family: String) -> String {
            guard let (k, v) = s.single else { return compact(s, depth: 0) }
            switch k {
            case "match": return match(v, family: family)
            case "accept", "drop", "continue", "return", "notrack": return k
            case "jump", "goto": return "\(k) \(v["target"]?.string ?? "?")"
            case "counter":
                if let name = v.string { return "counter name \"\(name)\"" }
                if let p = v["packets"]?.int, let b = v["bytes"]?.int { return "counter packets \(p) bytes \(b)" }
                return "counter"
            case "reject":
                guard let t = v["type"]?.string else { return "reject" }
                let e = v["expr"]?.string
                let isDefault = (t == "icmpx" && e == "port-unreachable")
                    || (t == "icmp" && e == "port-unreachable" && family == "ip")
                    || (t == "icmpv6" && e == "port-unreachable" && family == "ip6")
                if isDefault || (t != "tcp reset" && e == nil) { return "reject" }
                return e.map { "reject with \(t) \($0)" } ?? "reject with \(t)"
            case "log":
                var out = "log"
                if let p = v["prefix"]?.string { out += " prefix \"\(p)\"" }
                if let l = v["level"]?.string { out += " level \(l)" }
                if let g = v["group"]?.int { out += " group \(g)" }
                return out
            case "limit":
                var out = "limit rate"
                if v["inv"]?.bool == true { out += " over" }
                out += " \(v["rate"]?.int ?? 0)"
                if let u = v["rate_unit"]?.string, u != "packets" { out += " \(u)" }
                out += "/\(v["per"]?.string ?? "second")"
                if let b = v["burst"]?.int, b != 5, b != 0 { out += " burst \(b) \(v["burst_unit"]?.string ?? "packets")" }
                return out
            case "dnat", "snat":
                var out = k
                if let f = v["family"]?.string { out += " \(f)" }
                out += " to"
                if let a = v["addr"] {
                    let text = expr(a, family: family)
                    // An IPv6 address followed by a port is bracketed, as nft writes it.
                    out += v["port"] != nil && text.contains(":") && a.string != nil ? " [\(text)]" : " \(text)"
                }
                if let p = v["port"] { out += (v["addr"] == nil ? " :" : ":") + expr(p, family: family) }
                return out
            case "masquerade", "redirect":
                if let p = v["port"] { return "\(k) to :\(expr(p, family: family))" }
                return k
            case "mangle":
                return "\(expr(v["key"] ?? .null, family: family)) set \(expr(v["value"] ?? .null, family: family))"
            case "vmap":
                return "\(expr(v["key"] ?? .null, family: family)) vmap \(expr(v["data"] ?? .null, family: family))"
            case "set", "map":
                let op = v["op"]?.string ?? "add"
                var out = "\(op) \(v["set"]?.string ?? v["map"]?.string ?? "?") { \(expr(v["elem"] ?? .null, family: family))"
                if let st = v["stmt"]?.array { out += " " + st.map { statement($0, family: family) }.joined(separator: " ") }
                return out + " }"
            case "ct timeout": return "ct timeout set \"\(v.string ?? "?")\""
            case "ct helper": return "ct helper \"\(v.string ?? "?")\""
            case "ct expectation": return "ct expectation set \"\(v.string ?? "?")\""
            case "queue":
                var out = "queue"
                if let n = v["num"] { out += " num \(expr(n, family: family))" }
                return out
            case "flow":
                return "flow \(v["op"]?.string ?? "add") \(v["flowtable"]?.string ?? "?")"
            case "synproxy":
                if let m = v["map"] {
                    return "synproxy name \(expr(m["key"] ?? .null, family: family)) map \(expr(m["data"] ?? .null, family: family))"
                }
                return "synproxy"
            case "xt":
                return "xt \(v["type"]?.string ?? "?") \(v["name"]?.string ?? "?")"
            default:
                return k + (v == .null ? "" : " " + compact(v, depth: 0))
            }
        }

        static func match(_ m: JSONValue, family: String) -> String {
            let left = m["left"] ?? .null
            let right = m["right"] ?? .null
            let op = m["op"]?.string ?? "=="
            let l = expr(left, family: family)
            var r = expr(right, family: family, flagJoin: op == "in" ? "," : " | ")
            let quoted = left["meta"]?["key"]?.string.map(quotedMeta.contains) == true || left["ct"]?["key"]?.string == "helper"
            if quoted, let s = right.string, !s.hasPrefix("@") {
                r = "\"\(s)\""
            }
            let binopLeft = left.single.map { ["&", "|", "^", "<<", ">>"].contains($0.key) } ?? false
            switch op {
            case "==": return binopLeft ? "\(l) == \(r)" : "\(l) \(r)"
            case "in": return "\(l) \(r)"
            default: return "\(l) \(op) \(r)"
            }
        }

        /// Seconds as nft writes them: `10m`, `1h30m`, `45s`, `2d`.
        static func time(_ seconds: Int64) -> String {
            guard seconds > 0 else { return "0s" }
            var out = ""
            var rest = seconds
            for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
                out += "\(rest / size)\(unit)"
                rest %= size
            }
            return out
        }

        static func flagList(_ v: JSONValue) -> [String] {
            if let a = v.array { return a.map { $0.string ?? compact($0, depth: 0) } }
            return [v.string ?? compact(v, depth: 0)]
        }

        static func expr(_ e: JSONValue, family: String, flagJoin: String = " | ", depth: Int = 0) -> String {
            guard depth < 24 else { return "…" }
            let d = depth + 1
            switch e {
            case .null: return ""
            case .bool(let b): return b ? "exists" : "missing"
            case .int(let i): return String(i)
            case .double(let x): return String(x)
            case .string(let s): return s
            case .array(let a):
                return a.map { expr($0, family: family, flagJoin: flagJoin, depth: d) }.joined(separator: flagJoin)
            case .object:
                break
            }
            guard let (k, v) = e.single else { return compact(e, depth: 0) }
            switch k {
            case "payload":
                if let p = v["protocol"]?.string, let f = v["field"]?.string { return "\(p) \(f)" }
                return "@\(v["base"]?.string ?? "?"),\(v["offset"]?.int ?? 0),\(v["len"]?.int ?? 0)"
            case "meta":
                let key = v["key"]?.string ?? "?"
                return unqualifiedMeta.contains(key) ? key : "meta \(key)"
            case "ct":
                var out = "ct"
                if let dir = v["dir"]?.string { out += " \(dir)" }
                if let f = v["family"]?.string { out += " \(f)" }
                return out + " \(v["key"]?.string ?? "?")"
            case "set":
                // Verdict maps and data maps list `[key, value]` pairs: `k : v`.
                let items = (v.array ?? [v]).map { item in
                    if let pair = item.array, pair.count == 2 {
                        return "\(expr(pair[0], family: family, depth: d)) : \(expr(pair[1], family: family, depth: d))"
                    }
                    return expr(item, family: family, depth: d)
                }
                return "{ " + items.joined(separator: ", ") + " }"
            case "range":
                let a = v.array ?? []
                return a.map { expr($0, family: family, depth: d) }.joined(separator: "-")
            case "prefix":
                return "\(expr(v["addr"] ?? .null, family: family, depth: d))/\(v["len"]?.int ?? 0)"
            case "concat":
                return (v.array ?? []).map { expr($0, family: family, depth: d) }.joined(separator: " . ")
            case "map":
                return "\(expr(v["key"] ?? .null, family: family, depth: d)) map \(expr(v["data"] ?? .null, family: family, depth: d))"
            case "elem":
                var out = expr(v["val"] ?? .null, family: family, depth: d)
                if let t = v["timeout"]?.int { out += " timeout \(time(t))" }
                if let c = v["counter"], let p = c["packets"]?.int, let b = c["bytes"]?.int { out += " counter packets \(p) bytes \(b)" }
                if let c = v["comment"]?.string { out += " comment \"\(c)\"" }
                return out
            case "&", "|", "^", "<<", ">>":
                let a = v.array ?? []
                return a.enumerated().map { i, x in
                    let s = expr(x, family: family, flagJoin: " | ", depth: d)
                    let nested = x.array != nil || (x.single.map { ["&", "|", "^", "<<", ">>"].contains($0.key) } ?? false)
                    return i > 0 && nested ? "(\(s))" : s
                }.joined(separator: " \(k) ")
            case "fib":
                let flags = (v["flags"].map(flagList) ?? []).joined(separator: " . ")
                return "fib \(flags) \(v["result"]?.string ?? "?")"
            case "numgen":
                var out = "numgen \(v["mode"]?.string ?? "?") mod \(v["mod"]?.int ?? 0)"
                if let o = v["offset"]?.int, o != 0 { out += " offset \(o)" }
                return out
            case "rt", "socket", "osf", "ipsec":
                return "\(k) \(v["key"]?.string ?? compact(v, depth: 0))"
            case "exthdr":
                return "exthdr \(v["name"]?.string ?? "?") \(v["field"]?.string ?? "")"
            case "tcp option":
                return "tcp option \(v["name"]?.string ?? "?") \(v["field"]?.string ?? "")"
            case "accept", "drop", "continue", "return":
                return k
            case "jump", "goto":
                return "\(k) \(v["target"]?.string ?? "?")"
            default:
                if k == "counter", let p = v["packets"]?.int, let b = v["bytes"]?.int { return "counter packets \(p) bytes \(b)" }
                return statementLike(k, v, family: family, depth: d)
            }
        }

        /// Set elements that carry statements (`1.1.1.1 counter packets 0 bytes 0 : accept`) and
        /// other keyed objects: shown by key, values rendered recursively.
        static func statementLike(_ k: String, _ v: JSONValue, family: String, depth: Int) -> String {
            if v == .null { return k }
            return "\(k) \(expr(v, family: family, depth: depth))"
        }

        /// A bounded one-line JSON-ish rendering for what no case above knows.
        static func compact(_ v: JSONValue, depth: Int) -> String {
            guard depth < 8 else { return "…" }
            switch v {
            case .null: return "null"
            case .bool(let b): return String(b)
            case .int(let i): return String(i)
            case .double(let d): return String(d)
            case .string(let s): return s
            case .array(let a): return "[" + a.prefix(32).map { compact($0, depth: depth + 1) }.joined(separator: ", ") + "]"
            case .object(let o):
                return "{" + o.keys.sorted().prefix(32).map { "\($0): \(compact(o[$0] ?? .null, depth: depth + 1))" }.joined(separator: ", ") + "}"
            }
        }
    }
}
