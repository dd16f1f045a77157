import Foundation
import RSTDCore

/// The kernel log (`journalctl -k -o short-iso` or `dmesg --time-format iso`; plain `dmesg` and
/// syslog lines work too) → counts of the messages that go with resets and drops:
/// `kernel_log.syn_flood` ("Possible SYN flooding on port 10.0.0.1:8080. Sending cookies."),
/// `kernel_log.conntrack_full` ("nf_conntrack: table full, dropping packet"), `kernel_log.orphans`
/// ("too many orphaned sockets"), `kernel_log.tcp_mem` ("out of memory -- consider tuning tcp_mem"),
/// `kernel_log.neigh_overflow` ("neighbor table overflow", both spellings), `kernel_log.tw_overflow`
/// ("time wait bucket table overflow"), `kernel_log.ipv6_dad` ("IPv6 duplicate address … detected"),
/// and `kernel_log.events` records {kind, time, message, port and addr (SYN flood only)}, newest 200 kept.
/// With a `rstdoctor:period` part (`--since`) only messages stamped inside it count (`kernel_log.outside`
/// the others). Message texts are those of the kernel sources (net/ipv4/tcp_input.c, tcp.c, net/core/neighbour.c,
/// nf_conntrack_core.c, net/ipv6/addrconf.c).
package enum KernelLogParser: OutputParser {
    package static let id = "kernel-log"

    static let maxEvents = 200

    /// (kind, fact name, lower-case needles): the first kind whose needle a line holds wins.
    static let kinds: [(kind: String, fact: String, needles: [String])] = [
        ("syn-flood", "syn_flood", ["possible syn flooding on port"]),
        ("conntrack-full", "conntrack_full", ["table full, dropping packet"]),
        ("orphans", "orphans", ["too many orphaned sockets"]),
        ("tcp-mem", "tcp_mem", ["consider tuning tcp_mem"]),
        ("neigh-overflow", "neigh_overflow", ["neighbor table overflow", "neighbour table overflow"]),
        ("tw-overflow", "tw_overflow", ["time wait bucket table overflow"]),
        ("ipv6-dad", "ipv6_dad", ["ipv6 duplicate address"]),
    ]

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var counts = [String: Int64]()
        var events: [Record] = []
        // Evidence has a time: with the collector's period (--since), a message outside it, or
        // without an absolute time stamp (plain dmesg's seconds since boot), does not count.
        let period = LogTime.period(output)
        var outside: Int64 = 0
        let text = LogTime.logParts(output).map(\.text).joined(separator: "\n")
        for raw in text.split(whereSeparator: \.isNewline) {
            let lower = raw.lowercased()
            guard let k = kinds.first(where: { $0.needles.contains(where: { lower.contains($0) }) }) else { continue }
            if let period {
                guard let t = LogTime.parse(raw, reference: period.upperBound), period.contains(t) else { outside += 1; continue }
            }
            counts[k.fact, default: 0] += 1
            let (time, message) = split(raw)
            var r: Record = ["kind": .string(k.kind), "time": .string(time), "message": .string(String(message.prefix(500)))]
            if k.kind == "syn-flood", let p = synFloodPort(message) { r["port"] = .int(p) }
            if k.kind == "syn-flood", let a = synFloodAddress(message) { r["addr"] = .string(a) }
            events.append(r)
        }
        if events.count > maxEvents { events.removeFirst(events.count - maxEvents) }
        var values: [String: FactValue] = ["kernel_log.events": .records(events), "kernel_log.outside": .int(outside),
                                           "kernel_log.period": .string(period.map(LogTime.describe) ?? "in the messages read")]
        for k in kinds { values["kernel_log.\(k.fact)"] = .int(counts[k.fact] ?? 0) }
        return ParsedFacts(values: values)
    }

    /// Splits a log line into its time stamp and the kernel's message:
    /// `2026-11-21T19:56:24+0000 host kernel: MSG` (journalctl short-iso),
    /// `2026-11-21T19:56:13,674019+00:00 MSG` (dmesg iso), `[  12.345678] MSG` (dmesg),
    /// `Nov 21 19:56:13 host kernel: [12.3] MSG` (syslog).
    static func split(_ line: Substring) -> (time: String, message: Substring) {
        var rest = line
        var time = ""
        if let first = line.split(separator: " ", maxSplits: 1).first, first.count >= 19,
           first.prefix(4).allSatisfy(\.isNumber), first.dropFirst(4).first == "-", first.contains("T") {
            time = String(first)
            rest = line.dropFirst(first.count).drop(while: { $0 == " " })
        } else if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
            time = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
            rest = line[line.index(after: close)...].drop(while: { $0 == " " })
        }
        if let k = rest.range(of: " kernel: ") {
            if time.isEmpty { time = String(rest[..<k.lowerBound].split(separator: " ").prefix(3).joined(separator: " ")) }
            rest = rest[k.upperBound...]
            // syslog keeps dmesg's own `[uptime]` after `kernel:`.
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { rest = rest[rest.index(after: close)...].drop(while: { $0 == " " }) }
        }
        return (time, rest)
    }

    /// The port of `Possible SYN flooding on port 8080.` (old kernels) or `… on port 10.0.0.1:8080.`
    /// / `[::]:8080.` (%pISpc, current kernels).
    static func synFloodPort(_ message: Substring) -> Int64? {
        guard let r = message.range(of: "on port ", options: .caseInsensitive) else { return nil }
        let token = message[r.upperBound...].prefix(while: { $0 != " " })
        let trimmed = token.hasSuffix(".") ? token.dropLast() : token
        let digits = trimmed.split(separator: ":").last ?? trimmed
        guard let p = Int64(digits), p > 0, p <= 65535 else { return nil }
        return p
    }

    /// The listener's address of `… on port 10.0.0.1:8080.` or `… on port [fd00::1]:8080.` (as the
    /// kernel prints it: `%pI4:%u`, `[%pI6c]:%u`); nil for old kernels' `on port 8080.`.
    static func synFloodAddress(_ message: Substring) -> String? {
        guard let r = message.range(of: "on port ", options: .caseInsensitive) else { return nil }
        var token = message[r.upperBound...].prefix(while: { $0 != " " })
        if token.hasSuffix(".") { token = token.dropLast() }
        guard let colon = token.lastIndex(of: ":") else { return nil }
        var addr = token[..<colon]
        if addr.hasPrefix("["), addr.hasSuffix("]") { addr = addr.dropFirst().dropLast() }
        let chars = addr.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" }
        guard !addr.isEmpty, addr.count <= 45, chars else { return nil }
        return String(addr)
    }
}
