import Foundation
import RSTDCore

/// How long the kernel's counters have been counting: `/proc/uptime` (`345.84 391.07`, seconds since
/// boot) and a `namespace` part written by the collector: `init` (the initial network namespace: its
/// counters start at boot), `created EPOCH now EPOCH` (a named namespace: the time of its
/// /run/netns bind mount) or `unknown` (another namespace whose age cannot be read). →
/// `host.uptime`, `counters.age` (duration) and `counters.since` (the phrase explanations print).
/// Counters of a network namespace start at zero when it is created, so "since boot" is only true
/// of the initial one; when the namespace is not known the phrase says both, honestly.
package enum CounterAgeParser: OutputParser {
    package static let id = "counter-age"

    package static let sinceBoot = "since boot"
    package static let sinceNamespace = "since the network namespace was created"
    package static let sinceEither = "since boot or since the network namespace was created"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        let uptimePart = output.parts.first { $0.name != "namespace" }
        guard let first = uptimePart?.text.split(whereSeparator: { $0 == " " || $0.isNewline }).first,
              let uptime = Double(first), uptime.isFinite, uptime >= 0 else {
            throw ParseError("not /proc/uptime text: expected `SECONDS IDLE`")
        }
        var facts = ParsedFacts()
        facts.values["host.uptime"] = .duration(uptime)
        var age = uptime
        var since = sinceEither
        let ns = output.parts.first { $0.name == "namespace" }?.text.split(whereSeparator: { $0 == " " || $0.isNewline }) ?? []
        if ns.first == "init" {
            since = sinceBoot
        } else if ns.count >= 4, ns[0] == "created", ns[2] == "now", let c = Double(ns[1]), let n = Double(ns[3]), n >= c {
            since = sinceNamespace
            age = min(uptime, n - c)
        }
        facts.values["counters.age"] = .duration(age)
        facts.values["counters.since"] = .string(since)
        return facts
    }
}
