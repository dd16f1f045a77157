import Foundation
import RSTDInfer
import RSTDCore

/// `rstdoctor check --format json` (schema rstdoctor.check/3, documented in docs/json-schema.md).
package enum CheckJSON {
    package static let schema = "rstdoctor.check/3"
    /// The versions reports read (`report --merge`, `--session`): /1 files saved before /2 still read
    /// (without `causes[].remedies` the report falls back to causes.yaml's remedies); /1 and /2 files
    /// list findings among the causes, and reading moves them (`legacyFindings`).
    package static let readable = ["rstdoctor.check/1", "rstdoctor.check/2", schema]
    /// The causes /1 and /2 listed in `causes[]` that /3 reports as `findings[]` (makes_resets: false).
    package static let legacyFindings: Set<String> = ["syn-flood", "conntrack-table-full"]

    package static func render(_ d: Diagnosis) -> JSON {
        let iso = ISO8601DateFormatter()
        let host: JSON = .object([
            ("hostname", .string(d.host.hostname)),
            ("kernel", .string(d.host.kernel)),
            ("netns", .string(d.host.netns)),
            ("focus", .object([
                ("port", d.host.port.map { .int(Int64($0)) } ?? .null),
                ("peer", d.host.peer.map { .string($0) } ?? .null),
            ])),
            ("started", .string(iso.string(from: d.host.started))),
            ("window_seconds", .double(d.host.window)),
            ("source", .string(d.host.source)),
        ])
        let checks: [JSON] = d.checks.map { c in
            .object([
                ("id", .string(c.id)),
                ("step", .string(c.step)),
                ("title", .string(c.title)),
                ("status", .string(c.status.rawValue)),
                ("reason", .string(c.reason)),
                ("fix", c.fix.map { .string($0) } ?? .null),
                ("duration_ms", .int(Int64(c.durationMs))),
            ])
        }
        return .object([
            ("schema", .string(schema)),
            ("host", host),
            ("causes", .array(d.causes.map { cause($0, d) })),
            // Causes that make no RST (makes_resets: false), ranked apart; same shape as `causes[]`.
            ("findings", .array(d.findings.map { cause($0, d) })),
            ("checks", .array(checks)),
            ("resets", .array(d.resets.map { JSON(.records([$0])) }.compactMap { if case .array(let a) = $0 { return a.first } else { return nil } })),
            // Captures list a bounded set of records (every kind represented); the others are counted.
            ("resets_not_listed", .int(notListed(d))),
            ("answers", .object(d.answers.keys.sorted().map { ($0, .string(d.answers[$0]!)) })),
            ("not_seen", .array(notSeen(d).map { .object([("fact", .string($0.0)), ("reason", .string($0.1))]) })),
            ("evidence", RawEvidence.json(d)),
        ])
    }

    /// One entry of `causes[]` or `findings[]`.
    static func cause(_ c: CauseResult, _ d: Diagnosis) -> JSON {
        .object([
            ("id", .string(c.cause.id)),
            ("title", .string(c.cause.title)),
            ("probability", .double((c.probability * 1000).rounded() / 1000)),
            ("score", .double((c.score * 1000).rounded() / 1000)),
            ("for", .array(c.forEvidence.map(evidence))),
            ("against", .array(c.against.map(evidence))),
            // The remedies with this run's port, peer and listener filled in (shown, never applied).
            ("remedies", .array(Remedies.concrete(c, facts: d.facts).map { r in
                .object([
                    ("text", .string(r.text)), ("change", r.change.map(JSON.string) ?? .null),
                    ("verify", r.verify.map(JSON.string) ?? .null),
                ])
            })),
            ("unknown", .array(c.unknown.map { .string($0.key) })),
            ("unknown_reasons", .object(c.unknown.map { ($0.key, .string($0.reason)) })),
        ])
    }

    /// Capture RSTs counted but not in `resets` (the list the engine gets is bounded).
    static func notListed(_ d: Diagnosis) -> Int64 {
        if case .int(let n)? = d.facts.value("capture.rst.not_listed") { return n }
        return 0
    }

    static func evidence(_ e: FiredRule) -> JSON {
        .object([
            ("rule", .string(e.rule)),
            ("weight", .double(e.weight)),
            ("explain", .string(e.explain)),
            ("facts", .object(e.facts.map { ($0.key, .string($0.value)) })),
            ("sources", .object(e.facts.map { ($0.key, .string($0.source)) })),
        ])
    }

    /// Facts that could have changed a likely-or-contending cause but were not seen, once each.
    package static func notSeen(_ d: Diagnosis) -> [(String, String)] {
        var seen = Set<String>()
        var out: [(String, String)] = []
        for c in d.causes + d.findings {
            for u in c.unknown where seen.insert(u.key).inserted { out.append((u.key, u.reason)) }
        }
        return out
    }
}
