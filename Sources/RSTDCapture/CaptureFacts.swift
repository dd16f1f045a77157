import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Turns a capture report into facts for the engine (declared in checks/capture.yaml).
package enum CaptureFacts {
    package static let checkID = "capture"

    /// The records kept for the engine: bounded, every kind of RST represented (`any(...)` in rules
    /// sees each kind); the rest are counted in `capture.rst.not_listed`.
    package static func list() -> ResetList { ResetList(maxResets: 4096, maxFlows: 4096, perSignature: 64) }

    package static func facts(_ r: CaptureReport) -> ParsedFacts {
        var v: [String: FactValue] = [
            "capture.packets": .int(Int64(r.packets)),
            "capture.flows": .int(Int64(r.flows)),
            "capture.malformed": .int(Int64(r.malformed)),
            "capture.rst.count": .int(Int64(r.rstCount)),
            "capture.rst.not_listed": .int(Int64(r.resetsNotListed)),
        ]
        v["capture.resets"] = .records(r.resets.enumerated().map { i, x in
            [
                // The RSTs this record stands for (itself, and in a bounded list the unlisted ones
                // like it): `count()` in rules weighs each record by it, so counts cover every RST.
                "rsts": .int(Int64(i < r.resetWeights.count ? r.resetWeights[i] : 1)),
                "frame": .int(Int64(x.frame)),
                "time": .double(x.time),
                "src": .string(x.src),
                "sport": .int(Int64(x.sport)),
                "dst": .string(x.dst),
                "dport": .int(Int64(x.dport)),
                "flags": .string(x.flags),
                "sender": .string(x.sender),
                "answered": .string(x.answered),
                "class": .string(x.class),
                // No single cause is the empty string: record fields are scalar and always present.
                "cause": .string(x.cause ?? ""),
                // What the wire cannot tell apart from `cause` (the class's `also`), comma-separated.
                "also": .string(x.causes.dropFirst().joined(separator: ",")),
                "stateless": .bool(x.stateless),
                "ttl_delta": .int(Int64(x.ttlDelta)),
                "idle_before": .duration(x.idleBefore),
                "payload": .string(x.payload ?? ""),
                // Cooked captures (`-i any`): "in", "out", or "" when the capture does not say; and
                // whether this host built the RST (sent with no incoming copy).
                "direction": .string(x.direction ?? ""),
                "local_built": .bool(x.localBuilt == true),
                // Built by this host for a connection it forwards (router-built: only a firewall does
                // that); otherwise set by `check --observe` when the kernel trace proves the TCP
                // stack did not send it.
                "firewall_built": .bool(x.class == RSTClass.routerBuilt.rawValue),
            ]
        })
        return ParsedFacts(values: v)
    }

    /// The same, as facts with their source (the file or interface captured).
    package static func store(_ r: CaptureReport, time: Date = Date()) -> [Fact] {
        let src = FactSource(check: checkID, origin: r.source)
        return facts(r).values.sorted { $0.key < $1.key }.map { Fact(key: $0.key, value: $0.value, source: src, time: time) }
    }
}
