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

    private var ring: ContiguousArray<Entry?>
    private var head = 0
    private(set) var count = 0
    /// Entries in the ring between head and tail, settled or not.
    private var span = 0

    init(capacity: Int) {
        ring = ContiguousArray(repeating: nil, count: max(1, capacity))
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { span == ring.count }

    /// The oldest waiting entry's slot.
    var oldest: Int32? {
        mutating get {
            while span > 0, ring[head] == nil { head = (head + 1) % ring.count; span -= 1 }
            return span > 0 ? Int32(head) : nil
        }
    }

    /// The frame of the oldest waiting entry.
    var oldestFrame: Int? {
        mutating get {
            guard let o = oldest else { return nil }
            return ring[Int(o)].map { Int($0.ctx.p.frame) }
        }
    }

    /// Adds an entry (the caller makes room first when full); returns its slot.
    mutating func add(_ e: Entry) -> Int32 {
        precondition(!isFull)
        let slot = (head + span) % ring.count
        ring[slot] = e
        span += 1
        count += 1
        return Int32(slot)
    }

    subscript(slot: Int32) -> Entry? {
        get { ring[Int(slot)] }
        set { ring[Int(slot)] = newValue }
    }

    /// Takes an entry out (its slot is skipped from then on).
    mutating func take(_ slot: Int32) -> Entry? {
        guard let e = ring[Int(slot)] else { return nil }
        ring[Int(slot)] = nil
        count -= 1
        _ = oldest
        return e
    }
}
