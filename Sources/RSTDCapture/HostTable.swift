import RSTDData
import RSTDSystem
import RSTDCore

/// What the analysis knows of each sender across connections (`CaptureAnalyzer.HostBaseline`), by
/// address: open addressing with a multiply-fold hash instead of a Dictionary's SipHash (it is read
/// for every SYN-ACK and every connection's first packets). At most `limit` addresses; the caller
/// empties it when full, as it did the Dictionary. Slot indexes are masked to the capacity.
final class HostTable<Value> {
    private let keys: UnsafeMutablePointer<IPAddress>
    private let values: UnsafeMutablePointer<Value>
    private let used: UnsafeMutablePointer<Bool>
    private let mask: Int
    private(set) var count = 0
    let limit: Int

    init(limit: Int, filler: Value) {
        var cap = 64
        while cap < limit * 2 { cap <<= 1 }
        self.limit = limit
        mask = cap - 1
        // Keys and values are read only where `used` says so: plain data is left unwritten (the pages
        // of a capture with few hosts are never touched; writing them was most of the analyzer's setup).
        keys = .allocate(capacity: cap)
        values = .allocate(capacity: cap)
        if !_isPOD(Value.self) {
            keys.initialize(repeating: .zero, count: cap)
            values.initialize(repeating: filler, count: cap)
        }
        used = .allocate(capacity: cap)
        used.initialize(repeating: false, count: cap)
    }

    deinit {
        if !_isPOD(Value.self) {
            keys.deinitialize(count: mask + 1)
            values.deinitialize(count: mask + 1)
        }
        keys.deallocate()
        values.deallocate()
        used.deallocate()
    }

    @inline(__always) private func home(_ a: IPAddress) -> Int {
        var h = a.lo &* 0x9E37_79B9_7F4A_7C15 ^ (a.hi &* 0xC2B2_AE3D_27D4_EB4F) ^ (a.isV6 ? 0x1656_67B1_9E37_79F9 : 0)
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h ^ (h >> 32)) & mask
    }

    @inline(__always) private func slot(_ a: IPAddress) -> (Int, Bool) {
        var i = home(a)
        while used[i] {
            let k = keys[i]
            if k.lo == a.lo && k.hi == a.hi && k.isV6 == a.isV6 { return (i, true) }
            i = (i + 1) & mask
        }
        return (i, false)
    }

    /// The keys' and values' memory (address, bytes), for `Prefault`.
    var storage: [(Int, Int)] {
        [(Int(bitPattern: keys), (mask + 1) * MemoryLayout<IPAddress>.stride),
         (Int(bitPattern: values), (mask + 1) * MemoryLayout<Value>.stride)]
    }

    /// The value of `a`, changed in place by `body`; false (and `body` not called) when absent.
    @inline(__always)
    func update(_ a: IPAddress, _ body: (inout Value) -> Void) -> Bool {
        let (i, found) = slot(a)
        if found { body(&values[i]) }
        return found
    }

    subscript(a: IPAddress) -> Value? {
        let (i, found) = slot(a)
        return found ? values[i] : nil
    }

    /// Sets the value of `a` (the caller keeps the count below `limit`: `removeAll` when full).
    func set(_ a: IPAddress, _ v: Value) {
        let (i, found) = slot(a)
        if !found {
            precondition(count < mask, "host table over its capacity")
            keys[i] = a
            used[i] = true
            count += 1
        }
        values[i] = v
    }

    func removeAll() {
        used.update(repeating: false, count: mask + 1)
        count = 0
    }
}
