import RSTDData
import RSTDSystem
import RSTDCore

/// Where the analysis hands its per-RST output, as soon as it is final: each RST record (in frame
/// order, once its judgement is final) and each connection that saw a RST (once its outcome is
/// final). A sink that writes and forgets keeps the analysis in bounded memory whatever the capture
/// holds; `ResetList` keeps them (bounded) for callers that want a `CaptureReport` with its lists.
package protocol ResetSink: AnyObject {
    /// A RST record to list; false when the sink does not keep it (it is counted as not listed).
    func reset(_ r: ResetRecord) -> Bool
    /// A connection that saw a RST, with its final Zeek conn_state.
    func flow(_ o: FlowOutcome)
    /// A RST record still to be made (`make` is pure): a sink writing on another thread makes it
    /// there (the explanation is most of a record's cost). By default: made at once.
    func reset(making make: @escaping () -> ResetRecord) -> Bool
}

extension ResetSink {
    package func reset(making make: @escaping () -> ResetRecord) -> Bool { reset(make()) }
}

/// Keeps the records in memory, at most `maxResets` of them, and at most `perSignature` with the
/// same reading (class, cause, sender, answered, stateless, direction, local_built, payload or not):
/// a bounded list in which every kind of RST the capture holds is still represented (what rules
/// testing `any(capture.resets, …)` need).
package final class ResetList: ResetSink {
    package private(set) var resets: [ResetRecord] = []
    package private(set) var flows: [FlowOutcome] = []
    package private(set) var flowsNotListed = 0
    let maxResets: Int
    let maxFlows: Int
    let perSignature: Int
    private var signatures: [Signature: Int] = [:]

    struct Signature: Hashable {
        var cls: String
        var cause: String?
        var sender: String
        var answered: String
        var stateless: Bool
        var direction: String?
        var localBuilt: Bool?
        var payload: Bool

        init(_ r: ResetRecord) {
            cls = r.class
            cause = r.cause
            sender = r.sender
            answered = r.answered
            stateless = r.stateless
            direction = r.direction
            localBuilt = r.localBuilt
            payload = r.payload != nil
        }
    }

    package init(maxResets: Int = .max, maxFlows: Int = .max, perSignature: Int = .max) {
        self.maxResets = max(0, maxResets)
        self.maxFlows = max(0, maxFlows)
        self.perSignature = max(1, perSignature)
    }

    package func reset(_ r: ResetRecord) -> Bool {
        guard resets.count < maxResets else { return false }
        if perSignature < .max {
            let s = Signature(r)
            let n = signatures[s, default: 0]
            guard n < perSignature else { return false }
            signatures[s] = n + 1
        }
        resets.append(r)
        return true
    }

    package func flow(_ o: FlowOutcome) {
        guard flows.count < maxFlows else { flowsNotListed += 1; return }
        flows.append(o)
    }
}

/// Final records wait here until every RST before them in the file is final too, so they come out
/// in frame order (a RST waiting for its look-ahead holds back the ones after it). A binary min-heap
/// on the frame number.
struct ResetReorder {
    struct Held {
        var frame: Int
        /// The record, or how to make it (pure: made by the sink, maybe on its own thread).
        var record: ResetRecord?
        var make: (() -> ResetRecord)?
        /// Listed (to the sink), or built only for `takeFinal()`.
        var listed: Bool
    }

    private(set) var heap: [Held] = []
    var count: Int { heap.count }

    mutating func push(_ h: Held) {
        heap.append(h)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].frame < heap[parent].frame else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The held record with the lowest frame number, if it is below `frame`.
    mutating func pop(below frame: Int) -> Held? {
        guard let top = heap.first, top.frame < frame else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, heap[l].frame < heap[m].frame { m = l }
            if r < heap.count, heap[r].frame < heap[m].frame { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return top
    }
}

/// Outcomes of connections that saw a RST, held a while before they go to the sink: a finished
/// connection revived by late packets can still change its conn_state (a FIN after a FIN-then-RST
/// turns it back to SF). A ring of fixed size in the order connections finished; the oldest goes
/// out when it is full (a revival after that is counted in `conn_states`, not in its outcome).
struct OutcomeWindow {
    private var ring: [FlowOutcome] = []
    private var head = 0
    private var byFrame: [Int: Int] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds an outcome; returns the oldest one when it had to make room.
    mutating func add(_ o: FlowOutcome) -> FlowOutcome? {
        if ring.count < capacity {
            byFrame[o.firstResetFrame] = ring.count
            ring.append(o)
            return nil
        }
        let old = ring[head]
        if byFrame[old.firstResetFrame] == head { byFrame[old.firstResetFrame] = nil }
        ring[head] = o
        byFrame[o.firstResetFrame] = head
        head = (head + 1) % capacity
        return old
    }

    /// Changes the conn_state of a held outcome (false when it already went out).
    mutating func update(firstResetFrame f: Int, connState: String) -> Bool {
        guard let i = byFrame[f] else { return false }
        ring[i].connState = connState
        return true
    }

    /// Every held outcome, oldest first; the window is empty afterwards.
    mutating func drain() -> [FlowOutcome] {
        let out = Array(ring[head...] + ring[..<head])
        ring.removeAll()
        byFrame.removeAll()
        head = 0
        return out
    }
}
