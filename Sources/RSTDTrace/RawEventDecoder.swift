import Foundation
import RSTDCore

/// Decodes the binary records of the events `TraceSession` enables (tcp_send_reset, tcp_receive_reset,
/// skb:kfree_skb, sock:inet_sock_set_state) into the correlator's items, as the text of `trace_pipe`
/// would have been decoded: every offset, size and symbol name comes from the events' `format` files
/// (never from numbers compiled into rstdoctor). Built only when each field is where and what the
/// decoder expects; otherwise `make` says why and the session reads the text pipe instead.
///
/// What the binary records cannot give the way the text does, and so differs from the text path:
/// `skbaddr` is the pointer itself (the text shows it hashed; only its equality joins kfree_skb), a
/// drop's `location` is not resolved to a symbol (nil), and the task name comes from `comm`
/// (/proc in production; the text's names come from the kernel's saved_cmdlines).
package struct RawEventDecoder: Sendable {
    enum Kind: Sendable { case sent, received, drop, close }

    /// How a tcp_send_reset record gives its addresses: Linux 6.10+ keeps two `struct sockaddr_in6`
    /// (printed `%pISpc`), earlier kernels the family / ports / v4 / v6 fields of the socket events.
    enum Endpoints: Sendable {
        case sockaddr(src: EventFormat.Field, dst: EventFormat.Field)
        case tuple(Tuple)
    }

    struct Tuple: Sendable {
        var sport, dport, family, saddr, daddr, saddrV6, daddrV6: EventFormat.Field
        var inet6: Int64

        init?(_ f: EventFormat) {
            guard let sp = f.field("sport"), sp.size == 2, let dp = f.field("dport"), dp.size == 2,
                  let fam = f.field("family"), fam.size == 2, let s = f.field("saddr"), s.size == 4,
                  let d = f.field("daddr"), d.size == 4, let s6 = f.field("saddr_v6"), s6.size == 16,
                  let d6 = f.field("daddr_v6"), d6.size == 16, let v6 = f.value(of: "AF_INET6", in: "family") else { return nil }
            (sport, dport, family, saddr, daddr, saddrV6, daddrV6, inet6) = (sp, dp, fam, s, d, s6, d6, v6)
        }
    }

    var kinds: [Int: Kind] = [:]
    var commonType, commonFlags, commonPid: EventFormat.Field
    // tcp_send_reset
    var sendEndpoints: Endpoints
    var sendSkb: EventFormat.Field?
    var sendState: EventFormat.Field
    /// 6.10+ prints "UNKNOWN" for state 0 (`REC->state ? … : "UNKNOWN"`).
    var sendStateZeroUnknown: Bool
    var sendReason: EventFormat.Field?
    var reasonNames: [Int64: String] = [:]
    /// TCP state names by number (tcp_send_reset leaves its enum unresolved: taken from
    /// inet_sock_set_state's table, where the kernel resolved the same names).
    var stateNames: [Int64: String] = [:]
    // tcp_receive_reset
    var receiveTuple: Tuple
    // kfree_skb
    var dropSkb: EventFormat.Field?
    var dropReason: EventFormat.Field?
    var dropNames: [Int64: String] = [:]
    // inet_sock_set_state
    var closeTuple: Tuple?
    var oldState, newState: EventFormat.Field?
    var closeStateNames: [Int64: String] = [:]

    /// The decoder for these formats, or the reason there is none (the caller then reads the text).
    package static func make(send: EventFormat, receive: EventFormat, drop: EventFormat?,
                             close: EventFormat?) -> Result<RawEventDecoder, TraceUnavailable> {
        func no(_ why: String) -> Result<RawEventDecoder, TraceUnavailable> {
            .failure(TraceUnavailable("the binary trace reader does not know this kernel's layout: \(why)",
                                      fix: "Nothing to do: the text trace_pipe is read instead."))
        }
        guard let type = send.field("common_type"), type.size == 2, let flags = send.field("common_flags"), flags.size == 1,
              let pid = send.field("common_pid"), pid.size == 4 else { return no("no common_type / common_flags / common_pid") }
        for f in [receive, drop, close].compactMap({ $0 })
        where f.field("common_type") != type || f.field("common_flags") != flags || f.field("common_pid") != pid {
            return no("the common fields of \(f.name) differ from tcp_send_reset's")
        }
        guard let sendID = send.id, let receiveID = receive.id else { return no("a format has no ID") }
        let endpoints: Endpoints
        if let s = send.field("saddr"), s.size == 28, let d = send.field("daddr"), d.size == 28 {
            endpoints = .sockaddr(src: s, dst: d)
        } else if let t = Tuple(send) {
            endpoints = .tuple(t)
        } else {
            return no("tcp_send_reset has neither sockaddr nor family/port/address fields")
        }
        guard let state = send.field("state"), state.size == 4 else { return no("tcp_send_reset has no 4-byte state") }
        guard let receiveTuple = Tuple(receive) else { return no("tcp_receive_reset's addresses and ports") }
        var d = RawEventDecoder(commonType: type, commonFlags: flags, commonPid: pid, sendEndpoints: endpoints,
                                sendSkb: send.field("skbaddr").flatMap { $0.size == 8 ? $0 : nil }, sendState: state,
                                sendStateZeroUnknown: send.printFormat.contains("REC->state ?"),
                                sendReason: send.field("reason"), receiveTuple: receiveTuple)
        d.kinds = [sendID: .sent, receiveID: .received]
        if let r = d.sendReason {
            guard r.size == 4 else { return no("tcp_send_reset's reason is not 4 bytes") }
            d.reasonNames = Self.table(send, "reason")
        }
        if let close {
            guard let id = close.id, let t = Tuple(close), let o = close.field("oldstate"), o.size == 4,
                  let n = close.field("newstate"), n.size == 4 else { return no("inet_sock_set_state's fields") }
            d.kinds[id] = .close
            (d.closeTuple, d.oldState, d.newState) = (t, o, n)
            d.closeStateNames = Self.table(close, "oldstate")
        }
        // tcp_send_reset's state names: its own table when the kernel resolved it, else by name from
        // inet_sock_set_state's (the same enum).
        let own = send.symbols["state"] ?? []
        let byName = Dictionary((close?.symbols["oldstate"] ?? []).compactMap { s in s.value.map { (s.name, $0) } },
                                uniquingKeysWith: { a, _ in a })
        for s in own {
            guard let v = s.value ?? byName[s.key] else { return no("the number of TCP state \(s.key) is not in any format file") }
            d.stateNames[v] = s.name
        }
        if let drop {
            guard let id = drop.id, let skb = drop.field("skbaddr"), skb.size == 8 else { return no("kfree_skb's skbaddr") }
            d.kinds[id] = .drop
            d.dropSkb = skb
            d.dropReason = drop.field("reason").flatMap { $0.size == 4 ? $0 : nil }
            d.dropNames = Self.table(drop, "reason")
        }
        return .success(d)
    }

    static func table(_ f: EventFormat, _ field: String) -> [Int64: String] {
        var out: [Int64: String] = [:]
        for s in f.symbols[field] ?? [] { if let v = s.value, out[v] == nil { out[v] = s.name } }
        return out
    }

    /// One record: the correlator's item, or nil for an event it does not take (as its text decoder:
    /// a transition to another state than TCP_CLOSE, a drop without reason, a malformed record).
    /// `time`: trace-clock seconds; `clockOffset` turns them into Unix time.
    func decode(_ p: UnsafeRawBufferPointer, time: Double, cpu: Int, clockOffset: Double,
                comm: (Int) -> String) -> ResetCorrelator.Item? {
        guard let type = Self.uint(p, commonType), let kind = kinds[Int(type)], let flags = Self.uint(p, commonFlags),
              let pidBits = Self.uint(p, commonPid) else { return nil }
        let pid = Int(Int32(truncatingIfNeeded: pidBits))
        switch kind {
        case .sent:
            let ends: (String, Int, String, Int)?
            switch sendEndpoints {
            case .sockaddr(let s, let d):
                guard let (sa, sp) = Self.sockaddr(p, s), let (da, dp) = Self.sockaddr(p, d) else { return nil }
                ends = (sa, sp, da, dp)
            case .tuple(let t):
                ends = Self.tuple(p, t)
            }
            guard let (src, sport, dst, dport) = ends, let stateValue = Self.uint(p, sendState) else { return nil }
            let stateNumber = Int64(Int32(truncatingIfNeeded: stateValue))
            let state = stateNumber == 0 && sendStateZeroUnknown ? "UNKNOWN" : Self.name(stateNumber, stateNames)
            var reason: String?
            if let r = sendReason {
                guard let v = Self.uint(p, r) else { return nil }
                reason = Self.name(Int64(v), reasonNames)
            }
            let skb = sendSkb.flatMap { Self.uint(p, $0) }.flatMap { $0 == 0 ? nil : Self.pointer($0) }
            let listener = state == "TCP_LISTEN" || (TraceAddress.isWildcard(src) && sport != 0)
            return .reset(ResetEvent(traceTime: time, time: time + clockOffset, direction: .sent, src: src, sport: sport,
                                     dst: dst, dport: dport, state: state.isEmpty ? "UNKNOWN" : state, reason: reason,
                                     listener: listener, task: comm(pid), pid: pid, cpu: cpu,
                                     context: Self.context(flags), skbaddr: skb))
        case .received:
            guard let (local, lport, remote, rport) = Self.tuple(p, receiveTuple) else { return nil }
            return .reset(ResetEvent(traceTime: time, time: time + clockOffset, direction: .received, src: remote, sport: rport,
                                     dst: local, dport: lport, state: "", reason: nil, task: comm(pid), pid: pid, cpu: cpu,
                                     context: Self.context(flags)))
        case .drop:
            guard let skbField = dropSkb, let r = dropReason, let skb = Self.uint(p, skbField), let v = Self.uint(p, r) else { return nil }
            return .drop(.init(skbaddr: Self.pointer(skb), reason: Self.name(Int64(v), dropNames), location: nil))
        case .close:
            guard let t = closeTuple, let o = oldState, let n = newState, let ov = Self.uint(p, o), let nv = Self.uint(p, n),
                  Self.name(Int64(Int32(truncatingIfNeeded: nv)), closeStateNames) == "TCP_CLOSE",
                  let (l, lp, r, rp) = Self.tuple(p, t) else { return nil }
            return .close(.init(local: l, lport: lp, remote: r, rport: rp,
                                oldState: Self.name(Int64(Int32(truncatingIfNeeded: ov)), closeStateNames)))
        }
    }

    // MARK: fields

    /// An unsigned field of 1, 2, 4 or 8 bytes (host order, as the kernel stored it); nil past the record.
    static func uint(_ p: UnsafeRawBufferPointer, _ f: EventFormat.Field) -> UInt64? {
        guard f.offset >= 0, f.offset + f.size <= p.count else { return nil }
        switch f.size {
        case 1: return UInt64(p[f.offset])
        case 2: return UInt64(p.loadUnaligned(fromByteOffset: f.offset, as: UInt16.self))
        case 4: return UInt64(p.loadUnaligned(fromByteOffset: f.offset, as: UInt32.self))
        case 8: return p.loadUnaligned(fromByteOffset: f.offset, as: UInt64.self)
        default: return nil
        }
    }

    /// `__print_symbolic`'s output: the name, or the number in hex when the table has none.
    static func name(_ v: Int64, _ table: [Int64: String]) -> String {
        table[v] ?? "0x" + String(UInt64(bitPattern: v), radix: 16)
    }

    static func pointer(_ v: UInt64) -> String {
        let hex = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    /// The flags byte as the text header's third flag shows it (kernel/trace/trace_output.c): NMI
    /// (0x40), hard interrupt (0x08), softirq (0x10), bottom halves off (0x80, shown `b`: not a context
    /// the text parser names), else the task's own context.
    static func context(_ flags: UInt64) -> TraceLine.Context {
        if flags & 0x40 != 0 { return .nmi }
        if flags & 0x08 != 0 { return .hardirq }
        if flags & 0x10 != 0 { return .softirq }
        if flags & 0x80 != 0 { return .unknown }
        return .process
    }

    /// family / sport / dport / saddr / daddr / saddr_v6 / daddr_v6 → (saddr, sport, daddr, dport).
    static func tuple(_ p: UnsafeRawBufferPointer, _ t: Tuple) -> (String, Int, String, Int)? {
        guard let sp = uint(p, t.sport), let dp = uint(p, t.dport), let fam = uint(p, t.family) else { return nil }
        let v6 = Int64(fam) == t.inet6
        let (s, d) = v6 ? (t.saddrV6, t.daddrV6) : (t.saddr, t.daddr)
        guard let sa = address(p, at: s.offset, v6: v6), let da = address(p, at: d.offset, v6: v6) else { return nil }
        return (sa, Int(sp), da, Int(dp))
    }

    /// A `struct sockaddr_in` / `sockaddr_in6` (Linux ABI: family 2 / 10, port in network order).
    static func sockaddr(_ p: UnsafeRawBufferPointer, _ f: EventFormat.Field) -> (String, Int)? {
        guard f.offset + f.size <= p.count, f.size >= 24 else { return nil }
        let family = p.loadUnaligned(fromByteOffset: f.offset, as: UInt16.self)
        let port = Int(p[f.offset + 2]) << 8 | Int(p[f.offset + 3])
        switch family {
        case 2: return address(p, at: f.offset + 4, v6: false).map { ($0, port) }
        case 10: return address(p, at: f.offset + 8, v6: true).map { ($0, port) }
        default: return nil
        }
    }

    /// The canonical text of an address (TraceAddress.canonical: IPv4-mapped IPv6 reads as IPv4).
    static func address(_ p: UnsafeRawBufferPointer, at offset: Int, v6: Bool) -> String? {
        guard offset + (v6 ? 16 : 4) <= p.count else { return nil }
        if !v6 { return "\(p[offset]).\(p[offset + 1]).\(p[offset + 2]).\(p[offset + 3])" }
        var a = in6_addr()
        withUnsafeMutableBytes(of: &a) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: p[offset..<(offset + 16)])) }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count)) != nil else { return nil }
        return TraceAddress.canonical(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
