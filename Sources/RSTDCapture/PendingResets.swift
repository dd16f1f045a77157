import CNetns
import RSTDData
import RSTDSystem
import RSTDCore
/// RSTs whose judgement waits for the packets after them (RSTJudge: a RST is judged with the whole
/// connection). A ring of fixed capacity in arrival order: the oldest becomes final when the ring is
/// full, when the look-ahead time has passed, or earlier (a later packet of the sender, the end of
/// its connection, the end of the capture). Memory is fixed whatever the capture holds.
/// A class over storage left unwritten until used: entries are written, changed and moved out in
/// place (an entry holds a whole connection state, hundreds of bytes: copying it out of an optional
/// slot, and writing every empty slot at startup, were most of the cost of a RST; 1 GB capture).
/// Unchecked exclusivity: used only from the thread feeding the analyzer.
final class PendingResets {
    /// The outgoing copy of a pending RST that the capturing host forwarded (cooked captures).
    struct Copy {
        var frame: UInt64
        var time: Double
        var ttl: UInt8
    }

    /// The waiting RSTs: initialized where `full` is true, only.
    private let ring: UnsafeMutablePointer<ResetContext>
    /// Each one's forwarded copy, if one came.
    @exclusivity(unchecked) private var copies: ContiguousArray<Copy?>
    private let capacity: Int
    @exclusivity(unchecked) private var full: ContiguousArray<Bool>
    /// Each entry's RST frame, time and direction, read without touching the entry.
    @exclusivity(unchecked) private var frames: ContiguousArray<UInt64>
    @exclusivity(unchecked) private var times: ContiguousArray<Double>
    @exclusivity(unchecked) private var dirs: ContiguousArray<Int8>
    /// Each entry's flow table hash (to prefetch its connection before it becomes final).
    @exclusivity(unchecked) private var hashes: ContiguousArray<Int>
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private(set) var count = 0
    /// Entries in the ring between head and tail, settled or not.
    @exclusivity(unchecked) private var span = 0

    init(capacity n: Int) {
        capacity = max(1, n)
        ring = .allocate(capacity: capacity)
        full = ContiguousArray(repeating: false, count: capacity)
        copies = ContiguousArray(repeating: nil, count: capacity)
        frames = ContiguousArray(repeating: 0, count: capacity)
        times = ContiguousArray(repeating: 0, count: capacity)
        dirs = ContiguousArray(repeating: 0, count: capacity)
        hashes = ContiguousArray(repeating: 0, count: capacity)
    }

    deinit {
        for i in 0..<capacity where full[i] { (ring + i).deinitialize(count: 1) }
        ring.deallocate()
    }

    /// The ring's memory (address, bytes), for `Prefault`.
    var storage: (Int, Int) { (Int(bitPattern: ring), capacity * MemoryLayout<ResetContext>.stride) }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { span == capacity }

    /// The oldest waiting entry's slot.
    var oldest: Int32? {
        while span > 0, !full[head] { head = (head + 1) % capacity; span -= 1 }
        return span > 0 ? Int32(head) : nil
    }

    /// The frame of the oldest waiting entry.
    var oldestFrame: Int? {
        guard let o = oldest else { return nil }
        return Int(frames[Int(o)])
    }

    /// When the oldest waiting entry's RST came.
    var oldestTime: Double? {
        guard let o = oldest else { return nil }
        return times[Int(o)]
    }

    /// Asks the memory system for the oldest waiting entry (a hint: nothing is read) and returns its
    /// connection's flow table hash. The oldest is mostly the next to become final (when a new RST
    /// finds the ring full): written seconds of capture before, it had left the cache, and moving it
    /// out was most of the cost of its judgement (1 GB capture).
    func prefetchOldest() -> Int? {
        guard let o = oldest else { return nil }
        prefetchLines(ring + Int(o))
        return hashes[Int(o)]
    }

    /// Adds the RST `ctx` (the caller makes room first when full); returns its slot.
    func add(_ ctx: __owned ResetContext) -> Int32 {
        precondition(!isFull)
        let slot = (head + span) % capacity
        frames[slot] = ctx.p.frame
        times[slot] = ctx.p.time
        dirs[slot] = Int8(ctx.dir)
        hashes[slot] = FlowKey.hashValue(ctx.key)
        (ring + slot).initialize(to: ctx)
        copies[slot] = nil
        full[slot] = true
        span += 1
        count += 1
        return Int32(slot)
    }

    /// Whether `slot` holds a waiting entry.
    func has(_ slot: Int32) -> Bool { full[Int(slot)] }

    /// The direction of the waiting RST in `slot` (which must hold one).
    func dir(_ slot: Int32) -> Int { Int(dirs[Int(slot)]) }

    /// The RST in `slot`, which must hold one.
    private func entry(_ slot: Int32) -> UnsafeMutablePointer<ResetContext> {
        precondition(full[Int(slot)])
        return ring + Int(slot)
    }

    /// The sender's next packet after the RST.
    func setLater(_ slot: Int32, _ l: LaterPacket) { entry(slot).pointee.later = l }

    /// The frame of the waiting RST in `slot` (which must hold one).
    func frame(_ slot: Int32) -> UInt64 { frames[Int(slot)] }

    /// The connection whose segment, untranslated, the waiting RST in `slot` answered.
    func setTwin(_ slot: Int32, _ t: TwinLink) { entry(slot).pointee.twin = t }

    /// One more packet from the receiver after the RST.
    func countReceiver(_ slot: Int32) { entry(slot).pointee.receiverAfter &+= 1 }

    /// Sets the forwarded copy of the waiting RST in `slot`, unless it has one; false then.
    func setCopy(_ slot: Int32, _ c: Copy) -> Bool {
        guard full[Int(slot)], copies[Int(slot)] == nil else { return false }
        copies[Int(slot)] = c
        return true
    }

    /// Takes the RST in `slot` out, in place, with its forwarded copy: the slot is skipped from then
    /// on, and the caller moves the RST out of (or deinitializes) the memory returned before the next `add`.
    func take(_ slot: Int32) -> (UnsafeMutablePointer<ResetContext>, Copy?)? {
        guard full[Int(slot)] else { return nil }
        full[Int(slot)] = false
        count -= 1
        _ = oldest
        return (ring + Int(slot), copies[Int(slot)])
    }
}
