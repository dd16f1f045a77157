import Foundation
import RSTDCore

/// What the two `ss` parsers share: splitting a socket line into its columns, endpoints into
/// address, port and interface, and the `users:((…))` process column.
enum SSText {
    /// State names as `ss` prints them (iproute2 sstate_name).
    static let states: Set<Substring> = [
        "UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN",
        "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "NEW-SYN-RECV", "BOUND", "CONNECTED",
    ]

    /// One socket line: `[Netid] State Recv-Q Send-Q Local:Port Peer:Port [rest…]`.
    struct Line {
        var netid: Substring?
        var state: Substring
        var recvQ: Int64
        var sendQ: Int64
        var local: Substring
        var peer: Substring
        /// Everything after the peer column (timer, process), raw.
        var rest: Substring
    }

    /// Splits a line into its columns; nil for headers, continuation lines and garbage.
    static func line(_ raw: Substring) -> Line? {
        guard let c = raw.first, c != " ", c != "\t" else { return nil }
        var fields: [Substring] = []
        fields.reserveCapacity(6)
        var i = raw.startIndex
        var restStart = raw.endIndex
        while i < raw.endIndex {
            while i < raw.endIndex, raw[i] == " " || raw[i] == "\t" { i = raw.index(after: i) }
            guard i < raw.endIndex else { break }
            if fields.count == 6 { restStart = i; break }
            var j = i
            while j < raw.endIndex, raw[j] != " ", raw[j] != "\t" { j = raw.index(after: j) }
            fields.append(raw[i..<j])
            i = j
        }
        guard fields.count >= 5 else { return nil }
        var k = 0
        var netid: Substring?
        if !states.contains(fields[0]) {
            guard fields.count >= 6, states.contains(fields[1]) else { return nil }
            netid = fields[0]
            k = 1
        }
        guard let rq = Int64(fields[k + 1]), let sq = Int64(fields[k + 2]) else { return nil }
        var rest = raw[restStart...]
        if k == 0 && fields.count == 6 {
            // Without a Netid column the sixth field already belongs to the rest.
            rest = raw[fields[5].startIndex...]
        }
        return Line(netid: netid, state: fields[k], recvQ: rq, sendQ: sq, local: fields[k + 3], peer: fields[k + 4], rest: rest)
    }

    /// An endpoint as `ss` prints it: `0.0.0.0:22`, `[::]:22`, `*:22`, `:::22` (old ss), `[::1]:631`,
    /// `0.0.0.0%virbr0:67`, `[fe80::1]%eth0:22`, `[::ffff:10.0.0.1]:80`, `*:*`.
    /// IPv4-mapped IPv6 addresses become plain IPv4, so a client looks the same to a dual-stack socket.
    static func endpoint(_ s: Substring) -> (address: String, port: Int64?, interface: String?) {
        guard let colon = s.lastIndex(of: ":") else { return (String(s), nil, nil) }
        let host = s[..<colon]
        let portText = s[s.index(after: colon)...]
        var interface: String?
        var address = String(host)
        if let pct = host.lastIndex(of: "%") {
            let scope = host[host.index(after: pct)...]
            // In `[fe80::1]%eth0` the scope follows the bracket; in `[fe80::1%eth0]` it is inside.
            if scope.hasSuffix("]") {
                interface = String(scope.dropLast())
                address = String(host[..<pct]) + "]"
            } else {
                interface = String(scope)
                address = String(host[..<pct])
            }
        }
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        if address.hasPrefix("::ffff:") || address.hasPrefix("::FFFF:"), address.dropFirst(7).contains(".") {
            address = String(address.dropFirst(7))
        }
        if address.isEmpty { address = "*" }
        return (address, Int64(portText), interface?.isEmpty == true ? nil : interface)
    }

    /// The first process of `users:(("nginx",pid=1,fd=6),("nginx",pid=2,fd=6))` (or the old
    /// `users:(("sshd",1231,3))`). The name is kept raw (it may hold spaces, quotes, parentheses,
    /// control characters): escaping is the renderers' job.
    static func firstProcess(_ rest: Substring) -> (name: String, pid: Int64?)? {
        guard let u = rest.range(of: "users:((\"") else { return nil }
        let after = rest[u.upperBound...]
        // The name ends at the first `",pid=` or `",<digit>`: a quote alone may be part of the name.
        var i = after.startIndex
        while i < after.endIndex {
            if after[i] == "\"" {
                let tail = after[after.index(after: i)...]
                if tail.hasPrefix(",pid=") {
                    // A quote inside the name can be followed by `,pid=` too; only digits end it.
                    let digits = tail.dropFirst(5).prefix(while: \.isNumber)
                    if !digits.isEmpty { return (String(after[..<i]), Int64(digits)) }
                }
                if tail.hasPrefix(","), let d = tail.dropFirst().first, d.isNumber {
                    let digits = tail.dropFirst().prefix(while: \.isNumber)
                    return (String(after[..<i]), Int64(digits))
                }
            }
            i = after.index(after: i)
        }
        return nil
    }
}
