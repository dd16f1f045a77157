import Foundation
import RSTDCore

/// `ss -Htanoi` → `sockets` records {state, local, lport, peer, pport, recv_q, send_q, timer,
/// timer_left, retrans, rto, last_recv, last_send, last_ack, retrans_total} and per-state counts
/// (`sockets.total`, `sockets.estab`, `sockets.close_wait`, …). One pass over the bytes with no
/// regular expressions: hosts with 100k sockets print ~50 MB here. The `-i` details come on
/// continuation lines that start with whitespace; unknown tokens there are ignored.
package enum SSSocketsParser: OutputParser {
    package static let id = "ss-sockets"

    /// Records kept at most; the counts always cover every socket.
    static let maxRecords = 250_000

    /// Count fact names by state; `orphan_like` = states a socket usually reaches after close().
    static let counted: [(state: String, key: String)] = [
        ("ESTAB", "estab"), ("SYN-SENT", "syn_sent"), ("SYN-RECV", "syn_recv"), ("FIN-WAIT-1", "fin_wait1"),
        ("FIN-WAIT-2", "fin_wait2"), ("TIME-WAIT", "time_wait"), ("CLOSE-WAIT", "close_wait"),
        ("LAST-ACK", "last_ack"), ("LISTEN", "listen"), ("CLOSING", "closing"),
    ]
    static let orphanStates: Set<String> = ["FIN-WAIT-1", "FIN-WAIT-2", "LAST-ACK", "CLOSING"]

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var scanner = Scanner()
        for part in output.parts {
            var text = part.text
            text.makeContiguousUTF8()
            text.utf8.withContiguousStorageIfAvailable { scanner.scan($0) }
            scanner.finish()
        }
        if scanner.total == 0 && scanner.garbage > 0 {
            throw ParseError("not `ss -tan` output: no line of the form `STATE Recv-Q Send-Q local:port peer:port`")
        }
        var values: [String: FactValue] = ["sockets": .records(scanner.records)]
        values["sockets.total"] = .int(scanner.total)
        for (state, key) in counted { values["sockets.\(key)"] = .int(scanner.byState[state] ?? 0) }
        values["sockets.orphan_like"] = .int(orphanStates.reduce(0) { $0 + (scanner.byState[$1] ?? 0) })
        values["sockets.with_recv_q"] = .int(scanner.withRecvQ)
        values["sockets.truncated"] = .bool(scanner.total > Int64(maxRecords))
        return ParsedFacts(values: values)
    }

    /// The byte-level state of one pass.
    struct Scanner {
        var records: [Record] = []
        var current: Record?
        var total: Int64 = 0
        var byState: [String: Int64] = [:]
        var withRecvQ: Int64 = 0
        var garbage = 0

        mutating func finish() {
            if let r = current, records.count < SSSocketsParser.maxRecords { records.append(r) }
            current = nil
        }

        mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) {
            var start = 0
            let n = bytes.count
            while start < n {
                var end = start
                while end < n, bytes[end] != 10 { end += 1 }
                if end > start {
                    if bytes[start] == 32 || bytes[start] == 9 {
                        if current != nil { info(bytes, start, end) }
                    } else {
                        socket(bytes, start, end)
                    }
                }
                start = end + 1
            }
        }

        /// Whitespace-separated fields of bytes[from..<to], as ranges.
        static func fields(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, max: Int) -> [Range<Int>] {
            var out: [Range<Int>] = []
            var i = from
            while i < to, out.count < max {
                while i < to, b[i] == 32 || b[i] == 9 || b[i] == 13 { i += 1 }
                guard i < to else { break }
                var j = i
                while j < to, b[j] != 32, b[j] != 9, b[j] != 13 { j += 1 }
                out.append(i..<j)
                i = j
            }
            return out
        }

        static func string(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        }

        static func int(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
            guard !r.isEmpty, r.count <= 18 else { return nil }
            var v: Int64 = 0
            for i in r {
                let d = b[i]
                guard d >= 48, d <= 57 else { return nil }
                v = v * 10 + Int64(d - 48)
            }
            return v
        }

        mutating func socket(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) {
            finish()
            let f = Self.fields(b, from, to, max: 8)
            guard f.count >= 5 else { garbage += 1; return }
            var k = 0
            var state = Self.string(b, f[0])
            if !SSText.states.contains(Substring(state)) {
                guard f.count >= 6 else { garbage += 1; return }
                state = Self.string(b, f[1])
                guard SSText.states.contains(Substring(state)) else {
                    // The header line (`State Recv-Q …` / `Netid State …`) is expected, not garbage.
                    if state != "State" && state != "Recv-Q" { garbage += 1 }
                    return
                }
                k = 1
            }
            guard let rq = Self.int(b, f[k + 1]), let sq = Self.int(b, f[k + 2]) else { garbage += 1; return }
            total += 1
            byState[state, default: 0] += 1
            if rq > 0 && state != "LISTEN" { withRecvQ += 1 }
            guard records.count < SSSocketsParser.maxRecords else { return }
            let local = SSText.endpoint(Substring(Self.string(b, f[k + 3])))
            let peer = SSText.endpoint(Substring(Self.string(b, f[k + 4])))
            var r = Record(minimumCapacity: 16)
            r["state"] = .string(state)
            r["local"] = .string(local.address)
            r["peer"] = .string(peer.address)
            r["recv_q"] = .int(rq)
            r["send_q"] = .int(sq)
            r["timer"] = .string("")
            if let p = local.port { r["lport"] = .int(p) }
            if let p = peer.port { r["pport"] = .int(p) }
            if let i = local.interface { r["interface"] = .string(i) }
            if f.count > k + 5 {
                let restStart = f[k + 5].lowerBound
                timer(b, restStart, to, into: &r)
                if Self.find(b, restStart, to, Self.usersNeedle) != nil {
                    let rest = Substring(Self.string(b, restStart..<to))
                    if let p = SSText.firstProcess(rest) {
                        r["process"] = .string(p.name)
                        if let pid = p.pid { r["pid"] = .int(pid) }
                    }
                }
            }
            current = r
        }

        static let usersNeedle = Array("users:((".utf8)
        static let timerNeedle = Array("timer:(".utf8)

        static func find(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ needle: [UInt8]) -> Int? {
            guard let first = needle.first, to - from >= needle.count else { return nil }
            var i = from
            while i + needle.count <= to {
                if b[i] == first {
                    var ok = true
                    for (j, c) in needle.enumerated() where b[i + j] != c { ok = false; break }
                    if ok { return i }
                }
                i += 1
            }
            return nil
        }

        /// `timer:(on,936ms,1)`, `timer:(keepalive,9min58sec,0)`, `timer:(timewait,58sec,0)`.
        func timer(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, into r: inout Record) {
            guard let t = Self.find(b, from, to, Self.timerNeedle) else { return }
            var i = t + 7
            var parts: [Range<Int>] = []
            var s = i
            while i < to, b[i] != 41 /* ) */, parts.count < 3 {
                if b[i] == 44 /* , */ { parts.append(s..<i); s = i + 1 }
                i += 1
            }
            if parts.count < 3 { parts.append(s..<i) }
            guard let name = parts.first else { return }
            r["timer"] = .string(Self.string(b, name))
            if parts.count > 1, let left = Self.msTimer(b, parts[1]) { r["timer_left"] = .duration(left) }
            if parts.count > 2, let n = Self.int(b, parts[2]) { r["retrans"] = .int(n) }
        }

        /// iproute2's print_ms_timer: `936ms`, `58sec`, `9min58sec`, `12min`, and `1.050ms`, which
        /// means 1 s + 50 ms (seconds, a dot, then zero-padded milliseconds). Empty means 0.
        static func msTimer(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Double? {
            if r.isEmpty { return 0 }
            var total = 0.0
            var number: Int64 = 0
            var digits = 0
            var i = r.lowerBound
            func has(_ s: String, at j: Int) -> Bool {
                let u = Array(s.utf8)
                guard j + u.count <= r.upperBound else { return false }
                for (k, c) in u.enumerated() where b[j + k] != c { return false }
                return true
            }
            while i < r.upperBound {
                let c = b[i]
                if c >= 48 && c <= 57 {
                    guard digits < 12 else { return nil }
                    number = number * 10 + Int64(c - 48); digits += 1; i += 1
                } else if c == 46 /* . */ {
                    guard digits > 0 else { return nil }
                    total += Double(number); number = 0; digits = 0; i += 1
                } else if has("min", at: i) {
                    total += Double(number) * 60; number = 0; digits = 0; i += 3
                } else if has("sec", at: i) {
                    total += Double(number); number = 0; digits = 0; i += 3
                } else if has("ms", at: i) {
                    total += Double(number) / 1000; number = 0; digits = 0; i += 2
                } else {
                    return nil
                }
            }
            return digits == 0 ? total : nil
        }

        /// `-i` details: `rto:204`, `lastsnd:1424`, `lastrcv:1424`, `lastack:1424` (ms), `retrans:0/1`.
        mutating func info(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) {
            guard var r = current else { return }
            var i = from
            while i < to {
                while i < to, b[i] == 32 || b[i] == 9 { i += 1 }
                var j = i
                while j < to, b[j] != 32, b[j] != 9 { j += 1 }
                if j > i { token(b, i..<j, into: &r) }
                i = j
            }
            current = r
        }

        static let keys: [(prefix: [UInt8], field: String)] = [
            (Array("rto:".utf8), "rto"), (Array("lastsnd:".utf8), "last_send"),
            (Array("lastrcv:".utf8), "last_recv"), (Array("lastack:".utf8), "last_ack"),
            (Array("retrans:".utf8), "retrans_total"),
        ]

        func token(_ b: UnsafeBufferPointer<UInt8>, _ t: Range<Int>, into r: inout Record) {
            // Only tokens starting with r or l can be wanted; skip the rest cheaply.
            let c = b[t.lowerBound]
            guard c == 114 || c == 108 else { return }
            for (prefix, field) in Self.keys where t.count > prefix.count {
                var match = true
                for (k, p) in prefix.enumerated() where b[t.lowerBound + k] != p { match = false; break }
                guard match else { continue }
                let value = (t.lowerBound + prefix.count)..<t.upperBound
                if field == "retrans_total" {
                    // `retrans:current/total`
                    var slash = value.lowerBound
                    while slash < value.upperBound, b[slash] != 47 { slash += 1 }
                    if slash < value.upperBound, let total = Self.int(b, (slash + 1)..<value.upperBound) {
                        r[field] = .int(total)
                    }
                } else if let ms = Double(Self.string(b, value)), ms.isFinite, ms >= 0 {
                    r[field] = .duration(ms / 1000)
                }
                return
            }
        }
    }
}
