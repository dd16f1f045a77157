/// The correlator's memory of recent trace records of one kind: appended in trace-time order (tracefs
/// keeps its output sorted across CPUs), forgotten from the front, addressed by absolute ids that stay
/// valid while the record is kept. Elements are read in place (`_read`), never copied to be looked at:
/// the joins run once per reset and must not retain every string of every neighbour.
struct TimedLog<Element: Sendable>: Sendable {
    private var times: [Double] = []
    private var items: [Element] = []
    private var head = 0
    /// Absolute id of the oldest record kept.
    private(set) var base = 0

    var count: Int { items.count - head }
    /// The id the next record gets.
    var endID: Int { base + count }

    mutating func append(_ time: Double, _ element: Element) -> Int {
        times.append(time)
        items.append(element)
        return endID - 1
    }

    func contains(_ id: Int) -> Bool { id >= base && id < endID }
    func time(_ id: Int) -> Double { times[head + id - base] }

    subscript(id: Int) -> Element {
        _read { yield items[head + id - base] }
    }

    /// Forgets records older than `cutoff`, and at most up to `limit` (an id); returns how many.
    @discardableResult
    mutating func forget(before cutoff: Double, limit: Int = .max) -> Int {
        var n = 0
        while head + n < items.count, times[head + n] < cutoff, base + n < limit { n += 1 }
        forgetFirst(n)
        return n
    }

    /// Forgets the `n` oldest records.
    mutating func forgetFirst(_ n: Int) {
        guard n > 0 else { return }
        head += n
        base += n
        // Compact once the dead prefix outweighs the live part: amortised O(1) per record.
        if head >= 1024 && head * 2 >= items.count {
            times.removeFirst(head)
            items.removeFirst(head)
            head = 0
        }
    }

    /// The first id in `ids` (ascending) still kept with a time ≥ `t` (binary search).
    func firstIndex(in ids: [Int], atOrAfter t: Double) -> Int {
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < base || time(ids[mid]) < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Calls `body` for every id in `ids` whose record lies within `window` of `t`, in arrival order,
    /// until it returns false.
    func visit(_ ids: [Int], near t: Double, window: Double, _ body: (Int) -> Bool) {
        var i = firstIndex(in: ids, atOrAfter: t - window)
        while i < ids.count, ids[i] < endID, time(ids[i]) <= t + window {
            if !body(ids[i]) { return }
            i += 1
        }
    }

    /// The id in `ids` within `window` of `t` closest in time for which `match` holds (the first on a tie).
    func nearest(_ ids: [Int], to t: Double, window: Double, where match: (Int) -> Bool) -> Int? {
        var best: Int?
        var bestGap = Double.infinity
        visit(ids, near: t, window: window) { id in
            let gap = abs(time(id) - t)
            if gap < bestGap, match(id) {
                best = id
                bestGap = gap
            }
            return true
        }
        return best
    }
}

/// Ids of a `TimedLog` by a key (a port, an skb address), ascending. Ids the log forgot are skipped
/// by the searches and swept out now and then, so memory follows what the log keeps.
struct TimedIndex<Key: Hashable & Sendable>: Sendable {
    private(set) var buckets: [Key: [Int]] = [:]
    private var sinceSweep = 0

    mutating func insert(_ key: Key, _ id: Int) {
        buckets[key, default: []].append(id)
        sinceSweep += 1
    }

    subscript(key: Key) -> [Int] { buckets[key] ?? [] }

    /// Drops forgotten ids (below `base`) once enough were added since the last sweep.
    mutating func sweep(below base: Int, live: Int) {
        guard sinceSweep > 2 * live + 1024 else { return }
        sinceSweep = 0
        var kept: [Key: [Int]] = [:]
        kept.reserveCapacity(buckets.count)
        for (k, ids) in buckets {
            guard let last = ids.last, last >= base else { continue }
            kept[k] = ids.first! >= base ? ids : Array(ids.drop { $0 < base })
        }
        buckets = kept
    }
}
