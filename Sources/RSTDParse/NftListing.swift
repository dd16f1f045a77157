import Foundation
import RSTDCore

extension NftJSONParser {
    /// nft-listing-style rendering of statements and expressions.
    enum Render {
        static let unqualifiedMeta: Set<String> = ["iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"]
        static let quotedMeta: Set<String> = ["iifname", "oifname", "iif", "oif", "ibrname", "obrname"]

        static func statement(_ s: JSON, family: String) -> String {
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

        static func match(_ m: JSON, family: String) -> String {
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

        static func flagList(_ v: JSON) -> [String] {
            if let a = v.array { return a.map { $0.string ?? compact($0, depth: 0) } }
            return [v.string ?? compact(v, depth: 0)]
        }

        static func expr(_ e: JSON, family: String, flagJoin: String = " | ", depth: Int = 0) -> String {
            guard depth < 24 else { return "…" }
            let d = depth + 1
            switch e {
            case .null: return ""
            case .bool(let b): return b ? "exists" : "missing"
            case .int(let i): return String(i)
            case .uint(let u): return String(u)
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
        static func statementLike(_ k: String, _ v: JSON, family: String, depth: Int) -> String {
            if v == .null { return k }
            return "\(k) \(expr(v, family: family, depth: depth))"
        }

        /// A bounded one-line JSON-ish rendering for what no case above knows.
        static func compact(_ v: JSON, depth: Int) -> String {
            guard depth < 8 else { return "…" }
            switch v {
            case .null: return "null"
            case .bool(let b): return String(b)
            case .int(let i): return String(i)
            case .uint(let u): return String(u)
            case .double(let d): return String(d)
            case .string(let s): return s
            case .array(let a): return "[" + a.prefix(32).map { compact($0, depth: depth + 1) }.joined(separator: ", ") + "]"
            case .object:
                let o = v.object ?? [:]
                return "{" + o.keys.sorted().prefix(32).map { "\($0): \(compact(o[$0] ?? .null, depth: depth + 1))" }.joined(separator: ", ") + "}"
            }
        }
    }
}
