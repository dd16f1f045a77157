import Foundation
import RSTDCore

/// /proc/net/netstat, /proc/net/snmp and /proc/net/snmp6 → `nstat.<Name>` ints, named as `nstat`
/// names them: header/value line pairs (`TcpExt: ListenOverflows …` / `TcpExt: 3 …`) become
/// `nstat.TcpExtListenOverflows`; snmp6's `Ip6InReceives 123` lines become `nstat.Ip6InReceives`.
/// A section whose header and value lines disagree in length is not trusted (positions would pair
/// the wrong names with values): its names become unknown, the other sections still count.
package enum ProcNetstatParser: OutputParser {
    package static let id = "proc-netstat"

    /// Counters the checks declare; when the kernel does not export one it is unknown, not 0.
    static let declared: [String] = [
        "TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtEmbryonicRsts", "TcpOutRsts", "TcpEstabResets",
        "TcpAttemptFails", "TcpInErrs", "TcpActiveOpens", "TcpPassiveOpens", "TcpInSegs", "TcpOutSegs",
        "TcpRetransSegs", "TcpCurrEstab", "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnMemory",
        "TcpExtTCPAbortOnTimeout", "TcpExtTCPAbortOnLinger", "TcpExtTCPAbortFailed", "TcpExtTCPChallengeACK",
        "TcpExtTCPSYNChallenge", "TcpExtPAWSEstab", "TcpExtPAWSActive", "TcpExtPAWSTimewait",
        "TcpExtTCPTimeWaitOverflow", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed",
        "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies", "TcpExtTCPSynRetrans", "TcpExtTCPTimeouts",
        "TcpExtTCPMemoryPressures", "TcpExtTCPBacklogDrop", "TcpExtTW", "TcpExtTWRecycled", "TcpExtTWKilled",
        "IpInReceives", "IpOutRequests", "IpForwDatagrams",
    ]

    /// Counters that older kernels have under another name (PAWSPassive became PAWSTimewait in 6.x).
    static let renamed: [String: String] = ["TcpExtPAWSTimewait": "TcpExtPAWSPassive"]

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var facts = ParsedFacts()
        var sections = 0
        var problems: [String] = []
        for part in output.parts {
            scan(part, into: &facts, sections: &sections, problems: &problems)
        }
        if facts.values.isEmpty {
            // A section with mismatched lengths is a real file with an untrusted section: its
            // names come back unknown with the reason instead of the whole check failing.
            if output.text.allSatisfy(\.isWhitespace) || !facts.unknown.isEmpty { return facts }
            let why = problems.first ?? "no `Prefix: Name…` / `Prefix: value…` line pair and no `Name value` line"
            throw ParseError("not /proc/net/netstat, snmp or snmp6 text: \(why)")
        }
        let sawSnmpOrNetstat = facts.values.keys.contains { $0.hasPrefix("nstat.Tcp") || $0.hasPrefix("nstat.Ip") && !$0.hasPrefix("nstat.Ip6") }
        if sawSnmpOrNetstat {
            for name in declared where facts.values["nstat." + name] == nil && facts.unknown["nstat." + name] == nil {
                if let old = renamed[name], facts.values["nstat." + old] != nil { continue }
                facts.unknown["nstat." + name] = "this kernel does not export \(name) in /proc/net/netstat or /proc/net/snmp"
            }
        }
        return facts
    }

    private static func scan(_ part: RawOutput.Part, into facts: inout ParsedFacts, sections: inout Int, problems: inout [String]) {
        let origin = part.name
        var pendingHeader: (prefix: Substring, names: [Substring])?
        for raw in part.text.split(whereSeparator: \.isNewline) {
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first else { continue }
            if first.hasSuffix(":"), first.count > 1 {
                let prefix = first.dropLast()
                let rest = words.dropFirst()
                let numeric = !rest.isEmpty && rest.allSatisfy { FactValue(integerText: $0) != nil }
                if numeric, let header = pendingHeader, header.prefix == prefix {
                    pendingHeader = nil
                    let values = Array(rest)
                    guard header.names.count == values.count else {
                        let msg = "\(origin): the \(prefix) header has \(header.names.count) names but the value line has \(values.count) values"
                        problems.append(msg)
                        for n in header.names where isName(n) {
                            facts.unknown["nstat.\(prefix)\(n)"] = msg + "; positions cannot be trusted"
                        }
                        continue
                    }
                    sections += 1
                    for (n, v) in zip(header.names, values) where isName(n) {
                        facts.values["nstat.\(prefix)\(n)"] = FactValue(integerText: v)
                    }
                } else if !numeric, rest.allSatisfy(isName) {
                    pendingHeader = (prefix, Array(rest))
                } else {
                    pendingHeader = nil
                    problems.append("\(origin): unexpected line `\(Sanitize.line(String(raw.prefix(80))))`")
                }
            } else if words.count == 2, isName(first), let v = words.last.flatMap(FactValue.init(integerText:)) {
                // snmp6: one counter per line, already carrying its prefix (Ip6, Icmp6, Udp6…).
                // Counters are unsigned 64-bit in the kernel: beyond Int64 they stay exact (`.uint`).
                facts.values["nstat.\(first)"] = v
            } else {
                pendingHeader = nil
            }
        }
    }

    private static func isName(_ s: Substring) -> Bool {
        guard let c = s.first, c.isLetter else { return false }
        return s.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
