import CNetns
import RSTDData
import RSTDSystem
import RSTDCore
/// The connections being tracked: open addressing with linear probing and backward-shift deletion,
/// a multiply-fold hash instead of SipHash (keys come from packets, and a full table is swept, so
/// adversarial collisions cost time, never memory). States are mutated in place through slot indexes.
/// A class over manually allocated storage: the per-packet lookups touch no reference count (an
/// array in a struct in the analyzer was retained and released on every read). Every slot index is
/// masked to the capacity, so no access leaves the storage.
final class FlowTable<Value> {
    private(set) var keys: UnsafeMutablePointer<FlowKey>
    private(set) var states: UnsafeMutablePointer<Value>
    private var used: UnsafeMutablePointer<Bool>
    private(set) var count = 0
    private var mask: Int
    private let maxSlots: Int
    /// The most connections held at once.
    let limit: Int
    /// What unused slots hold.
    private let filler: Value

    private static var empty: FlowKey { FlowKey(a: .zero, b: .zero, pa: 0, pb: 0) }

    /// Room for `limit` connections at a load factor of at most 3/4, grown as needed at half load.
    /// Linear probing's runs lengthen fast past half load, and the connections looked up most are
    /// the newest, inserted at the ends of the runs (1 GB capture: grown at 3/4, a lookup probed 1.6
    /// slots past the key's own on average; at 1/2, 10 ms less analysis CPU, 6 MB of states, not 3).
    init(limit: Int, filler: Value) {
        self.filler = filler
        var cap = 1024
        while cap * 3 / 4 < limit { cap <<= 1 }
        maxSlots = cap
        self.limit = limit
        // Pages are touched only where connections land, so a large start costs a small capture
        // little, and spares a large one the growths: each wrote a new table into fresh pages (a
        // page fault each) and moved every connection (1 GB capture: 1024 to 16384 slots, 5.6 MB).
        let start = min(cap, 16384)
        (keys, states, used) = Self.storage(start, filler)
        mask = start - 1
    }

    private static func storage(_ n: Int, _ filler: Value)
        -> (UnsafeMutablePointer<FlowKey>, UnsafeMutablePointer<Value>, UnsafeMutablePointer<Bool>) {
        // Keys and states are read only where `used` says so: plain data is left unwritten (writing
        // the filler into every slot of each table the growth made was tens of megabytes on a large
        // capture, and the pages stay untouched until used).
        let k = UnsafeMutablePointer<FlowKey>.allocate(capacity: n)
        let s = UnsafeMutablePointer<Value>.allocate(capacity: n)
        if !_isPOD(Value.self) {
            k.initialize(repeating: Self.empty, count: n)
            s.initialize(repeating: filler, count: n)
        }
        let u = UnsafeMutablePointer<Bool>.allocate(capacity: n)
        u.initialize(repeating: false, count: n)
        return (k, s, u)
    }

    private static func free(
        _ k: UnsafeMutablePointer<FlowKey>, _ s: UnsafeMutablePointer<Value>, _ u: UnsafeMutablePointer<Bool>, _ n: Int
    ) {
        if !_isPOD(Value.self) {
            k.deinitialize(count: n)
            s.deinitialize(count: n)
        }
        k.deallocate()
        s.deallocate()
        u.deallocate()
    }

    deinit { Self.free(keys, states, used, mask + 1) }

    /// The hash used for slots (shared with `FinishedFlows`).
    @inline(__always)
    static func slot(_ k: FlowKey) -> Int { FlowKey.hashValue(k) }

    /// The slot holding `key`, if tracked.
    @inline(__always)
    func find(_ key: FlowKey) -> Int? {
        var i = FlowKey.hashValue(key) & mask
        while used[i] {
            if keys[i] == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Asks the memory system for the slot a key with hash `h` starts probing at (a hint: nothing is
    /// read). The analysis asks a few packets ahead, so the state is in cache when its packet comes:
    /// the table is larger than the core's cache, and a lookup was mostly waiting for memory.
    @inline(__always)
    func prefetch(hash h: Int) {
        let i = h & mask
        rstd_prefetch(used + i)
        prefetchLines(keys + i)
        prefetchLines(states + i)
    }

    /// The keys' and states' memory (address, bytes), for `Prefault`.
    var storage: [(Int, Int)] {
        [(Int(bitPattern: states), (mask + 1) * MemoryLayout<Value>.stride),
         (Int(bitPattern: keys), (mask + 1) * MemoryLayout<FlowKey>.stride)]
    }

    /// Whether the limit is reached (the caller sweeps before inserting).
    var isFull: Bool { count >= limit }

    /// Inserts a new connection (the key must not be tracked) and returns its slot.
    func insert(_ key: FlowKey, _ state: Value) -> Int {
        if (count + 1) * 2 > mask + 1 && mask + 1 < maxSlots { grow() }
        precondition(count < mask, "flow table over its capacity")
        var i = FlowKey.hashValue(key) & mask
        while used[i] { i = (i + 1) & mask }
        keys[i] = key
        states[i] = state
        used[i] = true
        count += 1
        return i
    }

    /// Removes the connection in slot `i`, shifting back later entries of its probe run.
    func remove(at slot: Int) {
        var i = slot & mask
        used[i] = false
        count -= 1
        var j = i
        while true {
            j = (j + 1) & mask
            if !used[j] { return }
            let home = FlowKey.hashValue(keys[j]) & mask
            // Move j back to i when its home is not cyclically within (i, j].
            let between = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !between {
                keys[i] = keys[j]
                states[i] = states[j]
                used[i] = true
                used[j] = false
                i = j
            }
        }
    }

    private func grow() {
        let (oldKeys, oldStates, oldUsed, oldCap) = (keys, states, used, mask + 1)
        let cap = oldCap * 2
        (keys, states, used) = Self.storage(cap, filler)
        mask = cap - 1
        for k in 0..<oldCap where oldUsed[k] {
            var i = FlowKey.hashValue(oldKeys[k]) & mask
            while used[i] { i = (i + 1) & mask }
            keys[i] = oldKeys[k]
            states[i] = oldStates[k]
            used[i] = true
        }
        Self.free(oldKeys, oldStates, oldUsed, oldCap)
    }

    /// Every tracked connection (slot, key), for sweeps and the final report.
    func all() -> [(Int, FlowKey)] {
        var out: [(Int, FlowKey)] = []
        out.reserveCapacity(count)
        for i in 0...mask where used[i] { out.append((i, keys[i])) }
        return out
    }

    func removeAll() {
        used.update(repeating: false, count: mask + 1)
        count = 0
    }
}

/// What is kept of a finished connection (closed by FINs, or reset): enough to classify a late RST
/// (into TIME-WAIT, after a reset) and to compare TTL/MAC, in a fraction of a `FlowState`.
struct FinishedFlow {
    var lastTime: Double = 0
    var closeTime: Double = 0
    var firstRSTFrame: UInt64 = 0
    var lastFrame: (UInt64, UInt64) = (0, 0)
    var mac: (UInt64, UInt64) = (0, 0)
    var packets: (UInt32, UInt32) = (0, 0)
    var resets: UInt32 = 0
    var ttl: (UInt8, UInt8) = (0, 0)
    var ttlState: (UInt8, UInt8) = (0, 0)
    var macState: (UInt8, UInt8) = (0, 0)
    var flowLabelState: (UInt8, UInt8) = (0, 0)
    var fin: (Bool, Bool) = (false, false)
    var rst: (Bool, Bool) = (false, false)
    var client: Int8 = -1
    var origin: Int8 = 0
    var firstFinDir: Int8 = -1
    var firstRSTClass: RSTClass = .noContext
    var firstRSTFromOrigin = false
    /// The outcome it was counted with.
    var state = ConnState.oth
    var zeek = ZeekTCP()

    init() {}

    init(_ f: FlowState, state: ConnState) {
        self.state = state
        lastTime = f.lastTime
        closeTime = f.closeTime
        firstRSTFrame = f.firstRSTFrame
        lastFrame = (f.d0.lastFrame, f.d1.lastFrame)
        mac = (f.d0.mac, f.d1.mac)
        packets = (f.d0.packets, f.d1.packets)
        resets = f.resets
        ttl = (f.d0.ttl, f.d1.ttl)
        ttlState = (f.d0.ttlState, f.d1.ttlState)
        macState = (f.d0.macState, f.d1.macState)
        flowLabelState = (f.d0.flowLabelState, f.d1.flowLabelState)
        fin = (f.d0.sawFin, f.d1.sawFin)
        rst = (f.d0.sawRst, f.d1.sawRst)
        client = f.client
        origin = f.origin
        firstFinDir = f.firstFinDir
        firstRSTClass = f.firstRSTClass
        firstRSTFromOrigin = f.firstRSTFromOrigin
        zeek = f.zeek
    }

    /// The connection state again, for a packet that arrives after it finished.
    var revived: FlowState {
        var f = FlowState(time: lastTime, origin: origin)
        f.lastTime = lastTime
        f.closeTime = closeTime
        f.firstRSTFrame = firstRSTFrame
        f.resets = resets
        f.client = client
        f.firstFinDir = firstFinDir
        f.firstRSTClass = firstRSTClass
        f.firstRSTFromOrigin = firstRSTFromOrigin
        f.finishedBefore = true
        f.priorState = state
        f.priorReset = firstRSTFrame != 0
        f.zeek = zeek
        func fill(_ d: inout DirState, _ lf: UInt64, _ m: UInt64, _ n: UInt32, _ t: UInt8, _ ts: UInt8, _ ms: UInt8, _ fl: UInt8, _ fi: Bool, _ r: Bool) {
            d.lastFrame = lf; d.mac = m; d.packets = n; d.ttl = t; d.ttlState = ts; d.macState = ms
            d.flowLabelState = fl; d.sawFin = fi; d.sawRst = r; d.lastTime = lastTime; d.lastNonRSTTime = lastTime
            d.sawSynAck = true  // a finished connection had its handshake, or no SYN answer to give
        }
        fill(&f.d0, lastFrame.0, mac.0, packets.0, ttl.0, ttlState.0, macState.0, flowLabelState.0, fin.0, rst.0)
        fill(&f.d1, lastFrame.1, mac.1, packets.1, ttl.1, ttlState.1, macState.1, flowLabelState.1, fin.1, rst.1)
        return f
    }
}

/// Finished connections, in a direct-mapped cache: one slot per hash, a newcomer overwrites what
/// was there. Lookups touch one slot; memory is fixed. Losing an old finished connection early only
/// costs the classification of a RST arriving for it much later. Keys and connections (plain data)
/// are read only where `used` says so, and left unwritten until then (2.6 MB written at startup).
final class FinishedFlows {
    private let keys: UnsafeMutablePointer<FlowKey>
    private let flows: UnsafeMutablePointer<FinishedFlow>
    private let used: UnsafeMutablePointer<Bool>
    private let mask: Int
    /// Unchecked exclusivity: used only from the thread feeding the analyzer.
    @exclusivity(unchecked) private(set) var count = 0

    init(limit: Int) {
        precondition(_isPOD(FinishedFlow.self) && _isPOD(FlowKey.self))
        var cap = 1024
        while cap < limit { cap <<= 1 }
        keys = .allocate(capacity: cap)
        flows = .allocate(capacity: cap)
        used = .allocate(capacity: cap)
        used.initialize(repeating: false, count: cap)
        mask = cap - 1
    }

    deinit {
        keys.deallocate()
        flows.deallocate()
        used.deallocate()
    }

    /// Takes the finished connection out, if kept.
    func take(_ key: FlowKey) -> FinishedFlow? {
        let i = FlowKey.hashValue(key) & mask
        guard used[i], keys[i] == key else { return nil }
        used[i] = false
        count -= 1
        return flows[i]
    }

    /// The keys' and connections' memory (address, bytes), for `Prefault`.
    var storage: [(Int, Int)] {
        [(Int(bitPattern: flows), (mask + 1) * MemoryLayout<FinishedFlow>.stride),
         (Int(bitPattern: keys), (mask + 1) * MemoryLayout<FlowKey>.stride)]
    }

    /// Asks the memory system for the slot a key with hash `h` goes to (a hint: nothing is read).
    @inline(__always)
    func prefetch(hash h: Int) {
        let i = h & mask
        rstd_prefetch(used + i)
        rstd_prefetch(UnsafeRawPointer(keys + i))
        prefetchLines(flows + i)
    }

    func put(_ key: FlowKey, _ f: FinishedFlow) {
        let i = FlowKey.hashValue(key) & mask
        if !used[i] { count += 1 }
        keys[i] = key
        flows[i] = f
        used[i] = true
    }
}

/// Asks the memory system for every cache line of the value at `p` (a hint: nothing is read, and a
/// prefetch never faults): from its first byte on in steps of a line, and its last byte (a value not
/// aligned to a line spans one more: that line was missed, and note() waited for it on most packets).
@inline(__always)
func prefetchLines<T>(_ p: UnsafePointer<T>) {
    let r = UnsafeRawPointer(p)
    var off = 0
    while off < MemoryLayout<T>.size {
        rstd_prefetch(r + off)
        off += 64
    }
    rstd_prefetch(r + MemoryLayout<T>.size - 1)
}
