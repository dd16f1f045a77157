import RSTDData
import RSTDSystem
import RSTDCore
/// RSTs whose judgement waits for the packets after them (RSTJudge: a RST is judged with the whole
/// connection). A ring of fixed capacity in arrival order: the oldest becomes final when the ring is
/// full, when the look-ahead time has passed, or earlier (a later packet of the sender, the end of
/// its connection, the end of the capture). Memory is fixed whatever the capture holds.
struct PendingResets {
    /// The outgoing copy of a pending RST that the capturing host forwarded (cooked captures).
    struct Copy {
        var frame: UInt64
        var time: Double
        var ttl: UInt8
    }

    struct Entry {
        var ctx: ResetContext
        var copy: Copy?
    }

    /// Entries are read and changed in place (an entry holds a whole connection state: copying one
    /// out and back per packet was most of the per-packet cost of a flow with a pending RST).
    private var ring: ContiguousArray<Entry?>
    private var full: ContiguousArray<Bool>
    /// Each entry's RST frame, time and direction, read without touching the entry (reading them
    /// through the optional entry copied it whole: hundreds of bytes, several times per RST).
    private var frames: ContiguousArray<UInt64>
    private var times: ContiguousArray<Double>
    private var dirs: ContiguousArray<Int8>
    private var head = 0
    private(set) var count = 0
    /// Entries in the ring between head and tail, settled or not.
    private var span = 0

    init(capacity: Int) {
        ring = ContiguousArray(repeating: nil, count: max(1, capacity))
        full = ContiguousArray(repeating: false, count: max(1, capacity))
        frames = ContiguousArray(repeating: 0, count: max(1, capacity))
        times = ContiguousArray(repeating: 0, count: max(1, capacity))
        dirs = ContiguousArray(repeating: 0, count: max(1, capacity))
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { span == ring.count }

    /// The oldest waiting entry's slot.
    var oldest: Int32? {
        mutating get {
            while span > 0, !full[head] { head = (head + 1) % ring.count; span -= 1 }
            return span > 0 ? Int32(head) : nil
        }
    }

    /// The frame of the oldest waiting entry.
    var oldestFrame: Int? {
        mutating get {
            guard let o = oldest else { return nil }
            return Int(frames[Int(o)])
        }
    }

    /// When the oldest waiting entry's RST came.
    var oldestTime: Double? {
        mutating get {
            guard let o = oldest else { return nil }
            return times[Int(o)]
        }
    }

    /// Adds an entry (the caller makes room first when full); returns its slot.
    mutating func add(_ e: Entry) -> Int32 {
        precondition(!isFull)
        let slot = (head + span) % ring.count
        ring[slot] = e
        full[slot] = true
        frames[slot] = e.ctx.p.frame
        times[slot] = e.ctx.p.time
        dirs[slot] = Int8(e.ctx.dir)
        span += 1
        count += 1
        return Int32(slot)
    }

    /// Whether `slot` holds a waiting entry.
    func has(_ slot: Int32) -> Bool { full[Int(slot)] }

    /// The direction of the waiting RST in `slot` (which must hold one).
    func dir(_ slot: Int32) -> Int { Int(dirs[Int(slot)]) }

    /// The sender's next packet after the RST.
    mutating func setLater(_ slot: Int32, _ l: LaterPacket) { ring[Int(slot)]!.ctx.later = l }

    /// The frame of the waiting RST in `slot` (which must hold one).
    func frame(_ slot: Int32) -> UInt64 { frames[Int(slot)] }

    /// The connection whose segment, untranslated, the waiting RST in `slot` answered.
    mutating func setTwin(_ slot: Int32, _ t: TwinLink) { ring[Int(slot)]!.ctx.twin = t }

    /// One more packet from the receiver after the RST.
    mutating func countReceiver(_ slot: Int32) { ring[Int(slot)]!.ctx.receiverAfter &+= 1 }

    /// Sets the forwarded copy of the waiting RST in `slot`, unless it has one; false then.
    mutating func setCopy(_ slot: Int32, _ c: Copy) -> Bool {
        guard full[Int(slot)], ring[Int(slot)]!.copy == nil else { return false }
        ring[Int(slot)]!.copy = c
        return true
    }

    /// Takes an entry out (its slot is skipped from then on).
    mutating func take(_ slot: Int32) -> Entry? {
        guard full[Int(slot)] else { return nil }
        let e = ring[Int(slot)].take()
        full[Int(slot)] = false
        count -= 1
        _ = oldest
        return e
    }
}
