import RSTDData
import RSTDSystem
import RSTDCore

/// What `watch`'s summary needs of the resets, kept as counters: one representative reset per kind
/// (direction, reason, state, cause, received here too) with how many there were, in the order the
/// kinds first appeared. The kinds come from the kernel's and the knowledge's vocabularies, so memory
/// does not grow with the number of resets watched.
package struct WatchTally: Sendable {
    package private(set) var kinds: [(event: ResetEvent, count: Int)] = []
    private var index: [String: Int] = [:]
    package private(set) var total = 0
    package private(set) var sent = 0
    /// Sent resets that another namespace of this machine received (each counted once).
    package private(set) var receivedHereToo = 0

    package init() {}

    package init(_ events: [ResetEvent]) {
        for e in events { add(e) }
    }

    package mutating func add(_ e: ResetEvent) {
        total += 1
        if e.direction == .sent {
            sent += 1
            if e.peerState != nil { receivedHereToo += 1 }
        }
        let key = "\(e.direction.rawValue)|\(e.reason ?? "\u{0}")|\(e.state)|\(e.cause ?? "\u{0}")|\(e.peerState != nil)"
        if let i = index[key] {
            kinds[i].count += 1
        } else {
            index[key] = kinds.count
            kinds.append((e, 1))
        }
    }
}
