import Foundation
import RSTDTrace
import RSTDCore

/// Gives the kernel log's SYN flood lines a place. The kernel log is the machine's: every network
/// namespace's listeners print there (a Docker or Kubernetes host logs its containers' floods), and
/// `tcp_syn_flood_action()` names the listener by the address it is bound to (`%pI4:%u`,
/// `[%pI6c]:%u`). A line naming a specific address this namespace does not hold is another
/// namespace's listener: it is marked `elsewhere` and counted in `kernel_log.syn_flood_elsewhere`.
/// A wildcard (0.0.0.0, ::) or loopback address could be any namespace's and is never marked; so a
/// line is "not elsewhere" without being proven here.
package enum KernelLogPlace {
    package static func mark(_ store: inout FactStore) {
        guard let eventsFact = store["kernel_log.events"], case .records(let events)? = eventsFact.value else { return }
        let source = FactSource(check: "kernel-log", origin: "kernel log lines and this namespace's addresses (`addresses`)")
        guard case .records(let addresses)? = store.value("addresses") else {
            let why = store["addresses"]?.unknownReason ?? "check `addresses` did not run"
            let reason = "this namespace's addresses are unknown (\(why))"
            store.add(Fact(key: "kernel_log.syn_flood_elsewhere", unknown: reason, source: source))
            return
        }
        let held = Set(addresses.compactMap { r -> String? in
            guard case .string(let a)? = r["address"] else { return nil }
            return TraceAddress.canonical(a)
        })
        var elsewhere: Int64 = 0
        let marked = events.map { e -> Record in
            guard case .string("syn-flood")? = e["kind"], case .string(let a)? = e["addr"], let c = specific(a), !held.contains(c) else {
                return e
            }
            elsewhere += 1
            var m = e
            m["elsewhere"] = .bool(true)
            return m
        }
        store.add("kernel_log.events", .records(marked), source: eventsFact.source)
        store.add("kernel_log.syn_flood_elsewhere", .int(elsewhere), source: source)
    }

    /// The canonical form of an address that names one namespace's listener; nil for a wildcard or
    /// loopback address (every namespace has them) and for text that is no address.
    static func specific(_ text: String) -> String? {
        guard let a = try? Validate.address(text) else { return nil }
        let c = TraceAddress.canonical(a)
        if TraceAddress.isWildcard(c) || TraceAddress.isLoopback(c) { return nil }
        return c
    }
}
