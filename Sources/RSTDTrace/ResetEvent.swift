import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// One RST the kernel sent or received, as the tracepoints (and the events joined to them) show it.
/// `src`/`dst` are the RST segment's own direction: for a received RST, `src` is the peer.
package struct ResetEvent: Sendable, Hashable, Codable {
    package enum Direction: String, Sendable, Hashable, Codable { case sent, received }

    /// Seconds on the trace clock (CLOCK_BOOTTIME when rstdoctor set up the instance).
    package var traceTime: Double
    /// Unix time (seconds), to line events up with captures and logs.
    package var time: Double
    package var direction: Direction
    package var src: String
    package var sport: Int
    package var dst: String
    package var dport: Int
    /// Socket state as the kernel names it (`TCP_LISTEN`, `UNKNOWN` = no socket); empty when not known.
    package var state: String
    /// The kernel's reason (`NO_SOCKET`…); nil when this kernel does not report one (before 6.10)
    /// or for received RSTs (the kernel does not know why the peer sent it).
    package var reason: String?
    /// Sent by a listener: the kernel printed the listener's wildcard address, not the flow.
    package var listener: Bool
    /// skb:kfree_skb reason of the segment that triggered the RST, joined by skbaddr.
    package var dropReason: String?
    package var dropLocation: String?
    /// For a sent RST whose receiver is on this host too (another network namespace): the
    /// receiving socket's state. For a received RST: whether this host also logged sending it.
    package var peerState: String?
    package var alsoSentHere: Bool
    package var cause: String?
    package var explain: String?
    /// The task the tracepoint ran in (the ftrace header's `comm-pid`), and in which context:
    /// see `process` for when it names who sent or received the RST.
    package var task: String
    package var pid: Int
    package var cpu: Int
    package var context: TraceLine.Context
    package var skbaddr: String?

    package init(traceTime: Double, time: Double, direction: Direction, src: String, sport: Int, dst: String, dport: Int,
                state: String, reason: String?, listener: Bool = false, dropReason: String? = nil,
                dropLocation: String? = nil, peerState: String? = nil, alsoSentHere: Bool = false,
                cause: String? = nil, explain: String? = nil, task: String = "", pid: Int = 0, cpu: Int = 0,
                context: TraceLine.Context = .unknown, skbaddr: String? = nil) {
        self.traceTime = traceTime
        self.time = time
        self.direction = direction
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
        self.state = state
        self.reason = reason
        self.listener = listener
        self.dropReason = dropReason
        self.dropLocation = dropLocation
        self.peerState = peerState
        self.alsoSentHere = alsoSentHere
        self.cause = cause
        self.explain = explain
        self.task = task
        self.pid = pid
        self.cpu = cpu
        self.context = context
        self.skbaddr = skbaddr
    }

    /// The process the RST is about, or nil when the trace cannot say. Only when the kernel logged it
    /// in that process's own context: a system call (close() with unread data, an SO_LINGER {1,0}
    /// close, connect()) or its socket's backlog processed as the call returns. A RST sent or taken
    /// in a softirq (most resets: the answer to an incoming segment) names whoever happened to run on
    /// that CPU (`<idle>`, or the sender's process over veth and loopback), never the socket's owner.
    package var process: (name: String, pid: Int)? {
        context == .process && pid > 0 && !task.isEmpty ? (task, pid) : nil
    }

    /// The text shown when the kernel gives no reason.
    package static let noReasonText = "reason not reported by this kernel"
    package static let noCauseText = "no cause mapped"

    /// Whether the destination of the RST is unknown (listener RSTs print `0.0.0.0:0`).
    package var peerUnknown: Bool { TraceAddress.isWildcard(dst) && dport == 0 }

    /// As a `trace.resets` record (fields declared in checks/kernel-trace.yaml).
    package var record: Record {
        [
            "time": .double(time),
            "direction": .string(direction.rawValue),
            "src": .string(src),
            "sport": .int(Int64(sport)),
            "dst": .string(dst),
            "dport": .int(Int64(dport)),
            "state": .string(state),
            "reason": .string(reason ?? ""),
            "cause": .string(cause ?? ""),
            "listener": .bool(listener),
            "drop": .string(dropReason ?? ""),
            "sent_here": .bool(alsoSentHere),
            // Empty / 0 unless the trace names the process (see `process`).
            "task": .string(process?.name ?? ""),
            "pid": .int(Int64(process?.pid ?? 0)),
        ]
    }
}

/// Address helpers for the tracepoints' printed addresses (`%pISpc`, `%pI4`, `%pI6c`).
package enum TraceAddress {
    /// `198.18.0.2:9`, `[fd00::1]:8080` → (address, port). IPv4-mapped IPv6 becomes plain IPv4.
    package static func splitEndpoint(_ text: String) -> (String, Int)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let addr = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else { return nil }
            return (canonical(addr), port)
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        let addr = String(text[..<colon])
        guard !addr.contains(":") else { return nil }
        return (canonical(addr), port)
    }

    /// Numeric canonical form (as `Validate.address` returns it); the text itself if it is not an address.
    package static func canonical(_ text: String) -> String {
        if isPlainIPv4(text) { return text }
        var t = text
        if t.lowercased().hasPrefix("::ffff:"), t.dropFirst(7).contains(".") { t = String(t.dropFirst(7)) }
        return (try? Validate.address(t)) ?? t
    }

    /// A dotted quad as the kernel prints it (`%pI4`: no leading zeros) is canonical already:
    /// the common case needs no inet_pton/inet_ntop round trip.
    static func isPlainIPv4(_ text: String) -> Bool {
        var parts = 0, digits = 0, value = 0, leadingZero = false
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                parts += 1
                digits = 0
                value = 0
                leadingZero = false
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if leadingZero { return false }
                if digits == 0 && b == UInt8(ascii: "0") { leadingZero = true }
                digits += 1
                value = value * 10 + Int(b - UInt8(ascii: "0"))
                guard digits <= 3, value <= 255 else { return false }
            } else {
                return false
            }
        }
        return parts == 3 && digits > 0
    }

    package static func isWildcard(_ address: String) -> Bool {
        address == "0.0.0.0" || address == "::" || address.isEmpty
    }

    /// A loopback address (canonical text): every network namespace has 127.0.0.0/8 and ::1, so such
    /// an address cannot place an event in one.
    package static func isLoopback(_ address: String) -> Bool {
        address == "::1" || address.hasPrefix("127.")
    }
}
