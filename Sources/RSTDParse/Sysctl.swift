import Foundation
import RSTDCore

/// `sysctl -e KEY…` / `sysctl -a` output: `key = value` lines → `sysctl.<key>` facts.
/// Integers become ints; multi-value settings (tcp_mem, tcp_rmem) become strings and also
/// `sysctl.<key>.<i>` ints per column. Keys the check asked for but the kernel lacks (no
/// nf_conntrack module) are unknown, not errors: `sysctl -e` omits them silently, so the asked-for
/// keys are read back from the part's name (the argv joined by spaces).
package enum SysctlParser: OutputParser {
    package static let id = "sysctl"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var facts = ParsedFacts()
        var sawLine = false
        for part in output.parts {
            for raw in part.text.split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard !line.isEmpty, !line.hasPrefix("#"), !line.hasPrefix(";") else { continue }
                guard let eq = line.firstIndex(of: "=") else { continue }
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "._-/".contains($0) }) else { continue }
                let name = "sysctl." + key.replacingOccurrences(of: "/", with: ".")
                sawLine = true
                let columns = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
                // Unsigned 64-bit settings (e.g. fs.file-max 18446744073709551615) stay exact.
                if columns.count == 1, let n = FactValue(integerText: columns[0]) {
                    facts.values[name] = n
                } else {
                    facts.values[name] = .string(value)
                    let numbers = columns.compactMap { FactValue(integerText: $0) }
                    if columns.count > 1, numbers.count == columns.count {
                        for (i, n) in numbers.enumerated() { facts.values["\(name).\(i)"] = n }
                    }
                }
            }
        }
        if !sawLine && !output.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ParseError("no `key = value` line in sysctl output")
        }
        for part in output.parts {
            for key in askedKeys(part.name) {
                let name = "sysctl." + key
                guard facts.values[name] == nil else { continue }
                facts.unknown[name] = missingReason
                if tripleKeys.contains(key) {
                    for i in 0..<3 { facts.unknown["\(name).\(i)"] = missingReason }
                }
            }
        }
        return facts
    }

    /// Settings written as three columns (min, pressure, max) whose columns are facts too.
    static let tripleKeys: Set<String> = ["net.ipv4.tcp_mem", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.udp_mem"]

    static let missingReason =
        "not present in this kernel or namespace (for net.netfilter.*: the nf_conntrack module is not loaded)"

    /// The keys named on a `sysctl [-e] [-n] KEY…` command line; nothing for `sysctl -a` or a file path.
    static func askedKeys(_ commandLine: String) -> [String] {
        let words = commandLine.split(separator: " ")
        guard let tool = words.first, tool == "sysctl" || tool.hasSuffix("/sysctl") else { return [] }
        return words.dropFirst().compactMap { w in
            guard !w.hasPrefix("-"), !w.contains("="), w.contains("."),
                  w.allSatisfy({ $0.isLetter || $0.isNumber || "._-/".contains($0) }) else { return nil }
            return w.replacingOccurrences(of: "/", with: ".")
        }
    }
}
