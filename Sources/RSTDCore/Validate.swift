import Foundation

/// Validation of every user- or host-supplied value before it reaches an argv, a path or a filter.
/// A refusal says what was wrong and what is accepted; the CLI turns it into exit 2.
package struct ValidationError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

package enum Validate {
    /// A TCP port, 1–65535.
    package static func port(_ text: String) throws(ValidationError) -> UInt16 {
        guard let n = UInt16(text.trimmingCharacters(in: .whitespaces)), n > 0 else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not a TCP port: give a number from 1 to 65535")
        }
        return n
    }

    /// An IPv4 or IPv6 address in its numeric form (no names: nothing is resolved). Returns the canonical text.
    package static func address(_ text: String) throws(ValidationError) -> String {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("["), t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, t, &v4) == 1 {
            var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &v4, &buf, socklen_t(buf.count))
            return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, t, &v6) == 1 {
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &v6, &buf, socklen_t(buf.count))
            return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        throw ValidationError("'\(Sanitize.terminal(text))' is not an IP address: give a numeric IPv4 or IPv6 address such as 198.18.0.1 or fd00::1")
    }

    /// A network interface name as the kernel accepts it: 1–15 bytes, no '/', no whitespace, not '.' or '..'.
    /// Stricter than the kernel: shell and option metacharacters are refused too.
    package static func interface(_ text: String) throws(ValidationError) -> String {
        let ok = !text.isEmpty && text.utf8.count <= 15 && text != "." && text != ".." && !text.hasPrefix("-")
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-@:".unicodeScalars.contains($0)) }
        guard ok else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not an interface name: up to 15 letters, digits, '.', '_', '-', '@' or ':' (see `ip link`)")
        }
        return text
    }

    /// A network namespace name as `ip netns` creates them under /run/netns.
    package static func netnsName(_ text: String) throws(ValidationError) -> String {
        let ok = !text.isEmpty && text.utf8.count <= 255 && text != "." && text != ".." && !text.hasPrefix("-")
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
        guard ok else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not a network namespace name: letters, digits, '.', '_' and '-' only (see `ip netns list`)")
        }
        return text
    }

    /// A process id.
    package static func pid(_ text: String) throws(ValidationError) -> Int32 {
        guard let n = Int32(text.trimmingCharacters(in: .whitespaces)), n > 0 else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not a process id: give a positive number (see `pgrep` or `ss -p`)")
        }
        return n
    }

    /// A duration such as 1s, 500ms, 2m, bounded.
    package static func duration(_ text: String, min: Double = 0.001, max: Double = 86400) throws(ValidationError) -> Double {
        guard let d = Seconds.parse(text), d >= min, d <= max else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not a duration between \(Seconds.render(min)) and \(Seconds.render(max)): write it like 500ms, 2s or 1m")
        }
        return d
    }

    /// A file path given by the user: no NUL, no control characters. Returned unchanged.
    package static func path(_ text: String) throws(ValidationError) -> String {
        guard !text.isEmpty, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("'\(Sanitize.terminal(text))' is not a usable path: it is empty or has control characters")
        }
        return text
    }

    /// A systemd unit name for `journalctl -u`.
    package static func unit(_ text: String) throws(ValidationError) -> String {
        let ok = !text.isEmpty && text.utf8.count <= 256 && !text.hasPrefix("-")
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ":_.@-\\".unicodeScalars.contains($0)) }
        guard ok else { throw ValidationError("'\(Sanitize.terminal(text))' is not a systemd unit name (see `systemctl list-units`)") }
        return text
    }
}

/// Escaping of host-derived strings for each output format.
package enum Sanitize {
    /// For a terminal: control characters (ANSI escapes included) become visible `\u{..}` escapes.
    package static func terminal(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            if u.properties.generalCategory == .control && u != "\n" && u != "\t" || (u.value >= 0x80 && u.value < 0xA0)
                || u.properties.generalCategory == .format {
                out += "\\u{\(String(u.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// For one line of terminal output: like `terminal`, and newlines and tabs escaped too.
    package static func line(_ s: String) -> String {
        terminal(s).replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
    }

    /// For HTML text and attribute values.
    package static func html(_ s: String) -> String {
        var out = ""
        for ch in terminal(s) {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// For Markdown text (tables included): markup characters and pipes escaped, HTML tags neutralised.
    package static func markdown(_ s: String) -> String {
        var out = ""
        for ch in line(s) {
            if "\\`*_{}[]()#+-.!|<>~".contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out
    }

    /// For an OpenMetrics label value.
    package static func metricLabel(_ s: String) -> String {
        line(s).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
