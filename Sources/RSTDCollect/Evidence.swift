import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

/// Turns check records into facts: parses each sample, adds `.delta` twins for counter checks,
/// and marks every declared fact a check could not produce as unknown with the reason.
package enum EvidenceBuilder {
    package static func facts(from records: [CheckRecord], catalog: CheckCatalog) -> (FactStore, [CheckRecord]) {
        var store = FactStore()
        var out: [CheckRecord] = []
        for var rec in records {
            guard let def = catalog.check(rec.id) else { continue }
            let source = { (origin: String?) in FactSource(check: def.id, origin: origin) }
            if rec.status == .ok, let parserID = def.parser, let parser = Parsers.parser(id: parserID) {
                do {
                    var parsed: [ParsedFacts] = []
                    for s in rec.samples { parsed.append(try parser.parse(s)) }
                    let origin = rec.samples.last?.parts.map(\.name).joined(separator: ", ")
                    if let last = parsed.last {
                        for (k, v) in last.values { store.add(k, v, source: source(origin)) }
                        for (k, why) in last.unknown { store.add(Fact(key: k, unknown: why, source: source(origin))) }
                    }
                    if parsed.count == 2, let w = rec.window {
                        for (k, v) in parsed[1].values {
                            guard let b = v.integer, let a = parsed[0].values[k]?.integer else { continue }
                            // Exact over the whole u64 range; a fall beyond Int64 (a counter reset
                            // between the readings) has no honest value.
                            let over = source("\(origin ?? "") over \(Seconds.render(w))")
                            if let d = FactValue(integer: b - a) { store.add("\(k).delta", d, source: over) } else {
                                store.add(Fact(key: "\(k).delta", unknown: "the counter fell from \(a) to \(b) during the window (reset?)", source: over))
                            }
                        }
                    }
                } catch {
                    rec.status = .failed
                    rec.reason = "its output could not be parsed: \(error)"
                }
            }
            let reason: String
            switch rec.status {
            case .ok, .finding: reason = "`\(def.id)` did not report it"
            case .skipped: reason = "check `\(def.id)` was skipped: \(rec.reason)"
            case .failed: reason = "check `\(def.id)` failed: \(rec.reason)"
            }
            // A counter check read once (no window: a journal period it could not fill) says why in its reason.
            let deltaReason = rec.status == .ok && def.window && rec.window == nil && !rec.reason.isEmpty
                ? "`\(def.id)` has no rate: \(rec.reason)" : reason
            for d in def.facts {
                if store[d.key] == nil { store.add(Fact(key: d.key, unknown: reason, source: source(nil))) }
                if def.window, d.type == .int, store["\(d.key).delta"] == nil {
                    store.add(Fact(key: "\(d.key).delta", unknown: deltaReason, source: source(nil)))
                }
            }
            out.append(rec)
        }
        KernelLogPlace.mark(&store)
        return (store, out)
    }

    /// Facts about the run itself: focus and sample window (declared in knowledge/facts.yaml).
    package static func contextFacts(port: UInt16?, peer: String?, window: Double, netns: String) -> [Fact] {
        let src = FactSource(check: "options")
        var out = [
            Fact(key: "window.seconds", value: .duration(window), source: src),
            Fact(key: "host.netns", value: .string(netns), source: src),
        ]
        if let port { out.append(Fact(key: "focus.port", value: .int(Int64(port)), source: FactSource(check: "options", origin: "--port"))) }
        else { out.append(Fact(key: "focus.port", unknown: "no --port given", source: src)) }
        if let peer { out.append(Fact(key: "focus.peer", value: .string(peer), source: FactSource(check: "options", origin: "--peer"))) }
        else { out.append(Fact(key: "focus.peer", unknown: "no --peer given", source: src)) }
        return out
    }

    /// Reads an `expect:` path from facts: `key`, `key.count`, `key[i].field`.
    package static func lookup(_ path: String, in values: [String: FactValue]) -> FactValue? {
        if let v = values[path] { return v }
        if path.hasSuffix(".count"), case .records(let r)? = values[String(path.dropLast(6))] { return .int(Int64(r.count)) }
        guard let open = path.firstIndex(of: "["), let close = path.firstIndex(of: "]"), open < close else { return nil }
        let key = String(path[..<open])
        guard let idx = Int(path[path.index(after: open)..<close]), case .records(let r)? = values[key], idx >= 0, idx < r.count else { return nil }
        let rest = path[path.index(after: close)...]
        guard rest.hasPrefix(".") else { return nil }
        return r[idx][String(rest.dropFirst())]
    }
}
