import RSTDData
import RSTDSystem
import RSTDCore
/// Zeek's TCP state machine, reduced to what decides `conn_state` (docs/conn-state.md).
///
/// Each side of a connection moves through Zeek's endpoint states (TCP_Endpoint.h) as
/// `TCPSessionAdapter::UpdateStateMachine` moves them (src/packet_analysis/protocol/tcp/
/// TCPSessionAdapter.cc: UpdateInactiveState, UpdateSYN_SentState, UpdateEstablishedState,
/// UpdateClosedState, UpdateResetState), and `conn_state` is Zeek's script function of the same name
/// (scripts/base/protocols/conn/main.zeek), including its history test for RSTOS0
/// (`^?S[^HAFGIQ]*R.*`). Zeek itself is not installable here (no Debian/Ubuntu package): the expected
/// values in the tests are derived from that source, step by step, and say so.
///
/// Stored per direction (not per originator), so that a change of originator (Zeek's FlipRoles,
/// rstdoctor's SYN-ACK-first connections) keeps each side's state, as swapping Zeek's endpoints does.
/// Eight bytes, updated in place on every packet: no allocation.
struct ZeekTCP {
    enum EP: UInt8 { case inactive, synSent, synAckSent, partial, established, closed, reset }

    var state: (EP, EP) = (.inactive, .inactive)
    var prev: (EP, EP) = (.inactive, .inactive)
    /// The first letter of Zeek's history: -1 none yet, 0/1 an `S` from that direction, 2 anything else.
    var firstLetter: Int8 = -1
    /// Per direction: 1 = an H, A, F, I or Q letter recorded (they forbid RSTOS0 before the R),
    /// 2 = an R recorded with none of them before it, 4 = payload sent (Zeek's endpoint size > 0).
    var marks: (UInt8, UInt8) = (0, 0)

    static let markBad: UInt8 = 1, markCleanR: UInt8 = 2, markSize: UInt8 = 4

    @inline(__always) func st(_ d: Int) -> EP { d == 0 ? state.0 : state.1 }
    @inline(__always) func pv(_ d: Int) -> EP { d == 0 ? prev.0 : prev.1 }
    @inline(__always) func mk(_ d: Int) -> UInt8 { d == 0 ? marks.0 : marks.1 }

    /// TCP_Endpoint::SetState: the previous state is kept only on a change.
    @inline(__always) mutating func set(_ d: Int, _ s: EP) {
        if d == 0 {
            if state.0 != s { prev.0 = state.0; state.0 = s }
        } else if state.1 != s { prev.1 = state.1; state.1 = s }
    }

    @inline(__always) mutating func mark(_ d: Int, _ m: UInt8) {
        if d == 0 { marks.0 |= m } else { marks.1 |= m }
    }

    /// One segment from direction `d`; `isOrig` says whether that direction is the originator.
    @inline(__always)
    mutating func step(_ d: Int, isOrig: Bool, flags: UInt16, len: Int) {
        // Most segments: data or an ACK, without SYN, FIN or RST, from a side seen before. No state
        // changes then (see `update`: only an inactive side moves), only the history: a D, or an A
        // (which forbids RSTOS0).
        if flags & (TCPFlag.syn | TCPFlag.fin | TCPFlag.rst) == 0, st(d) != .inactive {
            if len > 0 {
                if firstLetter < 0 { firstLetter = 2 }
                mark(d, Self.markSize)
            } else if flags & TCPFlag.ack != 0 {
                if firstLetter < 0 { firstLetter = 2 }
                if mk(d) & Self.markCleanR == 0 { mark(d, Self.markBad) }
            }
            return
        }
        update(d, isOrig: isOrig, flags: flags, len: len)
    }

    /// `step` for the segments that may change a state.
    @inline(never)
    private mutating func update(_ d: Int, isOrig: Bool, flags: UInt16, len: Int) {
        let syn = flags & TCPFlag.syn != 0, fin = flags & TCPFlag.fin != 0
        let rst = flags & TCPFlag.rst != 0, ack = flags & TCPFlag.ack != 0
        history(d, syn: syn, fin: fin, rst: rst, ack: ack, len: len)
        if len > 0 && !rst { mark(d, Self.markSize) }
        let p = 1 - d
        switch st(d) {
        case .inactive:
            if syn {
                if isOrig {
                    set(d, ack ? .synAckSent : .synSent)
                } else {
                    if st(p) == .synSent { set(p, .established) }
                    set(d, .established)
                }
            }
            if fin { set(d, .closed) }
            if rst { set(d, .reset) }
            if st(d) == .inactive {
                if !isOrig && len == 0 && st(p) == .synSent {
                    // An ACK to a SYN before the SYN-ACK ("eccentric TCPs"): still inactive.
                } else if ack && st(p) == .established {
                    // The SYN was missed but the SYN-ACK was not: established, not partial.
                    set(d, .established)
                } else {
                    set(d, .partial)
                }
            }
        case .synSent, .synAckSent:
            if fin { set(d, .closed) }
            if rst { set(d, .reset) }
        case .established, .partial:
            if syn && st(d) == .partial && st(p) == .inactive && !ack { set(d, .synSent) }
            if fin && !rst {
                set(d, .closed)
                // The peer's FIN then RST was a normal close after all.
                if st(p) == .reset && pv(p) == .closed { set(p, .closed) }
            }
            if rst { set(d, .reset) }
        case .closed:
            // A RST after both FINs changes nothing: the connection already closed normally.
            if rst && st(p) != .closed { set(d, .reset) }
        case .reset:
            break
        }
    }

    /// The part of Zeek's history (update_history) that `conn_state` reads: the first letter, and
    /// whether a side's first R came before any of its H, A, F, I, Q letters.
    @inline(__always)
    private mutating func history(_ d: Int, syn: Bool, fin: Bool, rst: Bool, ack: Bool, len: Int) {
        let bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0)
        var letter: UInt8 = 0  // 0 none, 1 S, 2 R, 3 a forbidding letter, 4 D
        if bits > 1 {
            letter = 3  // I (FIN+RST) or Q (SYN with FIN or RST)
        } else if bits == 1 {
            if syn { letter = ack ? 3 : 1 } else if fin { letter = 3 } else { letter = 2 }
        } else if len > 0 {
            letter = 4
        } else if ack {
            letter = 3  // A
        }
        guard letter != 0 else { return }
        if firstLetter < 0 { firstLetter = letter == 1 ? Int8(d) : 2 }
        if letter == 3, mk(d) & Self.markCleanR == 0 { mark(d, Self.markBad) }
        if letter == 2, mk(d) & (Self.markBad | Self.markCleanR) == 0 { mark(d, Self.markCleanR) }
    }

    /// Zeek's `conn_state` with `o` the originator's direction.
    func connState(origin o: Int) -> ConnState {
        let r = 1 - o
        let os = st(o), rs = st(r)
        let oInactive = os == .inactive || os == .partial
        let rInactive = rs == .inactive || rs == .partial
        if rs == .reset {
            if os == .synSent || os == .synAckSent || (os == .reset && mk(o) & Self.markSize == 0 && mk(r) & Self.markSize == 0) {
                return .rej
            }
            return oInactive ? .rstrh : .rstr
        }
        if os == .reset {
            if rInactive {
                return firstLetter == Int8(o) && mk(o) & Self.markCleanR != 0 ? .rstos0 : .oth
            }
            return .rsto
        }
        if rs == .closed && os == .closed { return .sf }
        if os == .closed { return rInactive ? .sh : .s2 }
        if rs == .closed { return oInactive ? .shr : .s3 }
        if os == .synSent && rs == .inactive { return .s0 }
        if os == .established && rs == .established { return .s1 }
        return .oth
    }
}
