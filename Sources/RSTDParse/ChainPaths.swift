/// The destination ports a packet can have when it reaches a firewall chain, from the jumps that lead
/// there. kube-proxy (iptables mode) matches a Service's port in the rule that jumps to the Service's
/// chain (`-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp --dport 53 -j KUBE-SVC-…`, and `--dport 30080` in
/// KUBE-NODEPORTS for a NodePort); the DNAT rule at the end of the path (`-A KUBE-SEP-… -p tcp -j DNAT
/// --to-destination 10.244.1.5:53`) names no port. Read alone, that DNAT rule would translate every
/// port; through its path it translates only the ports its jumps matched.
///
/// A chain's ports are the union over the rules that jump or go to it of the rule's own destination
/// ports, or, when the rule names none, of the ports of the rule's own chain. "Any port" (nil) when a
/// base chain (the kernel's hooks start there), a chain nothing jumps to (unreachable: kept as any, so
/// nothing is narrowed on a guess), or a jump whose port match is negated (`! --dport 22`) leads there.
/// iptables and nft both refuse rule sets with loops (ELOOP); a loop in garbage input reads as any.
package struct ChainPaths {
    /// One rule that jumps or goes to `target` from `chain`, with the ports it matches itself (empty: none).
    package struct Jump {
        package var chain: String
        package var target: String
        package var ports: [String]
        package init(chain: String, target: String, ports: [String]) {
            self.chain = chain; self.target = target; self.ports = ports
        }
    }

    private var into: [String: [Jump]] = [:]
    private let isBase: (String) -> Bool
    private var memo: [String: Set<String>?] = [:]

    package init(_ jumps: [Jump], isBase: @escaping (String) -> Bool) {
        for j in jumps { into[j.target, default: []].append(j) }
        self.isBase = isBase
    }

    /// The ports as a port list (`port_in` syntax, "80,30080"); "" for any port.
    package mutating func ports(of chain: String) -> String {
        guard let set = resolve(chain, visiting: []) else { return "" }
        return set.sorted().joined(separator: ",")
    }

    private mutating func resolve(_ chain: String, visiting: Set<String>) -> Set<String>? {
        if let m = memo[chain] { return m }
        guard !isBase(chain), let jumps = into[chain], !jumps.isEmpty, !visiting.contains(chain) else { return nil }
        var acc = Set<String>()
        var any = false
        for j in jumps {
            if !j.ports.isEmpty {
                if j.ports.contains(where: { $0.hasPrefix("!") }) { any = true; break }
                acc.formUnion(j.ports)
            } else if let p = resolve(j.chain, visiting: visiting.union([chain])) {
                acc.formUnion(p)
            } else {
                any = true; break
            }
        }
        let result: Set<String>? = any || acc.isEmpty ? nil : acc
        memo[chain] = .some(result)
        return result
    }
}
