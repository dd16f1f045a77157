import Foundation
import RSTDCore

extension NftJSONParser {
    /// What one rule's statements say, in the record's terms.
    struct RuleContext {
        var family: String
        var table: String
        var sets: [ChainKey: [JSON]]
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

        mutating func examine(_ exprs: [JSON]) {
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

        static func rejectType(_ v: JSON) -> String {
            guard let t = v["type"]?.string else { return "default" }
            if let e = v["expr"]?.string { return "\(t) \(e)" }
            return t
        }

        mutating func match(_ m: JSON) {
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

        mutating func vmap(_ v: JSON) {
            guard let key = v["key"], let data = v["data"] else { return }
            let pairs: [JSON]
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
        func elements(_ right: JSON) -> [JSON] {
            if let s = right["set"]?.array { return s }
            if let name = right.string, name.hasPrefix("@") {
                return sets[ChainKey(family: family, table: table, name: String(name.dropFirst()))] ?? []
            }
            return [right]
        }

        func values(_ right: JSON) -> [String] {
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
}
