import Foundation

/// One RST the recorder kept: the kernel's account (tracepoints) and/or the wire's (RST-only capture).
/// Addresses are numeric text; `src`/`dst` are the RST segment's own direction.
public struct JournalEvent: Sendable, Hashable {
    /// Unix time in microseconds.
    public var timeMicros: Int64
    /// "sent" (this host's TCP stack sent it) or "received" (a local socket received it).
    public var direction: String
    /// The network namespace the recorder watched ("host" for the root namespace).
    public var netns: String
    public var src: String
    public var sport: Int
    public var dst: String
    public var dport: Int
    /// The kernel's reason (tcp_send_reset, Linux 6.10+); nil when not reported.
    public var reason: String?
    /// Socket state the kernel printed (`TCP_LISTEN`, `UNKNOWN` = no socket), or the state a reset socket left.
    public var state: String?
    /// Sent by a listener (the kernel printed its wildcard address).
    public var listener: Bool
    /// skb:kfree_skb reason of the segment that triggered it.
    public var dropReason: String?
    public var task: String?
    public var pid: Int?
    /// Cause id (knowledge/causes.yaml) the reason maps to; nil = no cause mapped.
    public var cause: String?
    /// "trace", "wire" or "trace+wire": which of the two sources saw it.
    public var source: String
    /// TTL (IPv4) or hop limit (IPv6) on the wire; nil when the capture did not see it.
    public var ttl: Int?
    /// Printable text carried in the RST's payload (a middlebox's reason), if any.
    public var payload: String?
    /// TCP flags on the wire ("R", "RA").
    public var flags: String?

    public init(timeMicros: Int64, direction: String, netns: String, src: String, sport: Int, dst: String, dport: Int,
                reason: String? = nil, state: String? = nil, listener: Bool = false, dropReason: String? = nil,
                task: String? = nil, pid: Int? = nil, cause: String? = nil, source: String = "trace",
                ttl: Int? = nil, payload: String? = nil, flags: String? = nil) {
        self.timeMicros = timeMicros
        self.direction = direction
        self.netns = netns
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
        self.reason = reason
        self.state = state
        self.listener = listener
        self.dropReason = dropReason
        self.task = task
        self.pid = pid
        self.cause = cause
        self.source = source
        self.ttl = ttl
        self.payload = payload
        self.flags = flags
    }
}

/// Counters read at one moment (nstat -asz or /proc/net/netstat + snmp), absolute values.
public struct CounterSnapshot: Sendable, Hashable {
    public var timeMicros: Int64
    public var netns: String
    /// "interval" (every 10 s), "burst" (resets came in a burst), "start", "stop".
    public var trigger: String
    public var counters: [String: Int64]

    public init(timeMicros: Int64, netns: String, trigger: String, counters: [String: Int64]) {
        self.timeMicros = timeMicros
        self.netns = netns
        self.trigger = trigger
        self.counters = counters
    }
}

/// A listener or socket table (raw `ss` text, parsed again when read) taken when resets burst.
public struct SocketSnapshot: Sendable, Hashable {
    public var timeMicros: Int64
    public var netns: String
    public var trigger: String
    /// "listeners" (`ss -Hltn…`) or "sockets" (`ss -Htan…`).
    public var kind: String
    /// The command that produced `text`, for the evidence's source.
    public var command: String
    public var text: String

    public init(timeMicros: Int64, netns: String, trigger: String, kind: String, command: String, text: String) {
        self.timeMicros = timeMicros
        self.netns = netns
        self.trigger = trigger
        self.kind = kind
        self.command = command
        self.text = text
    }
}

/// What the recorder did or could not do (no root, no reasons on this kernel, no libpcap, events lost…).
public struct JournalNote: Sendable, Hashable {
    public var timeMicros: Int64
    /// "start", "stop", "limit" (something could not be recorded), "loss", "clock", "retention".
    public var kind: String
    public var netns: String
    public var text: String

    public init(timeMicros: Int64, kind: String, netns: String, text: String) {
        self.timeMicros = timeMicros
        self.kind = kind
        self.netns = netns
        self.text = text
    }
}

/// Which part of the journal a query reads: a period, and optionally a namespace, ports, a peer.
public struct JournalFilter: Sendable, Hashable {
    public var sinceMicros: Int64
    public var untilMicros: Int64
    public var netns: String?
    /// Either side of the RST on one of these ports; empty = any.
    public var ports: [Int]
    /// Either address equals the peer (listener RSTs, whose peer the kernel does not print, are kept).
    public var peer: String?

    public init(sinceMicros: Int64, untilMicros: Int64, netns: String? = nil, ports: [Int] = [], peer: String? = nil) {
        self.sinceMicros = sinceMicros
        self.untilMicros = untilMicros
        self.netns = netns
        self.ports = ports
        self.peer = peer
    }
}

/// How often one cause struck in a period, and when.
public struct CauseSummary: Sendable, Hashable {
    /// nil = no cause mapped.
    public var cause: String?
    public var direction: String
    public var count: Int
    public var firstMicros: Int64
    public var lastMicros: Int64
    /// Resets per hour, keyed by the hour's start (Unix seconds).
    public var perHour: [Int64: Int]
    /// The ports and peers that appear most, with their counts (at most five each).
    public var topPorts: [(Int, Int)]
    public var topPeers: [(String, Int)]
    public var topTasks: [(String, Int)]

    public static func == (a: CauseSummary, b: CauseSummary) -> Bool {
        a.cause == b.cause && a.direction == b.direction && a.count == b.count && a.firstMicros == b.firstMicros
            && a.lastMicros == b.lastMicros && a.perHour == b.perHour
    }

    public func hash(into h: inout Hasher) {
        h.combine(cause); h.combine(direction); h.combine(count); h.combine(firstMicros)
    }
}

/// Why a journal could not be opened or written, and what to do.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case foreign, corrupt, newer, locked, missing, io, full }
    public var kind: Kind
    public var message: String
    public var fix: String

    public init(_ kind: Kind, _ message: String, fix: String) {
        self.kind = kind
        self.message = message
        self.fix = fix
    }

    public var description: String { "\(message). \(fix)" }
}

extension Date {
    /// Unix time in microseconds, the journal's clock.
    public var journalMicros: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }
}
