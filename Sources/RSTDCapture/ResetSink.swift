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
    /// The same before its texts are made: a sink writing on another thread makes them there. By
    /// default: `flow(d.outcome)`.
    func flow(_ d: FlowOutcomeDraft)
    /// A RST record still to be made (`make` is pure): a sink writing on another thread makes it
    /// there (the explanation is most of a record's cost); a writer may write it without making a
    /// `ResetRecord` (CaptureJSON). By default: made at once.
    func reset(making make: JudgedReset) -> Bool
    /// The same, with the record's signature known before it is made: a bounded sink makes only the
    /// records it keeps. By default: `reset(making:)`.
    func reset(making make: JudgedReset, signature: ResetList.Signature) -> Bool
}

extension ResetSink {
    package func reset(making make: JudgedReset) -> Bool { reset(make()) }
    package func reset(making make: JudgedReset, signature: ResetList.Signature) -> Bool { reset(making: make) }
    package func flow(_ d: FlowOutcomeDraft) { flow(d.outcome) }
}

/// A connection's outcome with its addresses not yet written as text: what the analysis makes for
/// each connection that saw a RST (two address texts per connection were a good part of the cost of
/// ending one, on the analysis' thread), held in the `OutcomeWindow` and handed to the sink.
package struct FlowOutcomeDraft {
    var key: FlowKey
    /// The originator is `key.a`.
    var origA: Bool
    var connState: ConnState
    var firstResetFrame: Int
    var resets: Int
    var cause: String?

    /// The outcome, its texts made.
    package var outcome: FlowOutcome {
        FlowOutcome(
            orig: (origA ? key.a : key.b).text, origPort: Int(origA ? key.pa : key.pb),
            resp: (origA ? key.b : key.a).text, respPort: Int(origA ? key.pb : key.pa),
            connState: connState.name, firstResetFrame: firstResetFrame, resets: resets, cause: cause)
    }
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
    /// RSTs not kept whose signature has kept records (they count through those: `weights()`).
    private var notKept: [Signature: Int] = [:]

    /// What makes two records alike for the per-signature bound (the fields rules test).
    package struct Signature: Hashable {
        var cls: String
        var cause: String?
        var sender: String
        var answered: String
        var stateless: Bool
        var direction: String?
        var localBuilt: Bool?
        var payload: Bool
    }

    package init(maxResets: Int = .max, maxFlows: Int = .max, perSignature: Int = .max) {
        self.maxResets = max(0, maxResets)
        self.maxFlows = max(0, maxFlows)
        self.perSignature = max(1, perSignature)
    }

    package func reset(_ r: ResetRecord) -> Bool {
        guard perSignature < .max else { return keep(r, nil) }
        return keep(r, Signature(r))
    }

    /// Bounded before the record is made: a capture with a million RSTs makes the few thousand kept.
    package func reset(making make: JudgedReset, signature: Signature) -> Bool {
        guard admits(perSignature < .max ? signature : nil) else { return false }
        return keep(make(), perSignature < .max ? signature : nil)
    }

    private func admits(_ s: Signature?) -> Bool {
        let n = s.map { signatures[$0, default: 0] } ?? 0
        guard resets.count < maxResets, n < perSignature else {
            if let s, n > 0 { notKept[s, default: 0] += 1 }
            return false
        }
        return true
    }

    private func keep(_ r: ResetRecord, _ s: Signature?) -> Bool {
        guard admits(s) else { return false }
        if let s { signatures[s, default: 0] += 1 }
        resets.append(r)
        return true
    }

    /// How many RSTs each kept record stands for, in the order of `resets`: itself, and for the last
    /// kept record of each signature also the RSTs of that signature not kept. Summed over a rule's
    /// condition on the signature's fields, they count every RST of the capture (`count()` of the
    /// `capture.resets` facts weighs each record by its `rsts`).
    package func weights() -> [Int] {
        var w = [Int](repeating: 1, count: resets.count)
        guard !notKept.isEmpty else { return w }
        var last: [Signature: Int] = [:]
        for (i, r) in resets.enumerated() { last[Signature(r)] = i }
        for (s, n) in notKept { if let i = last[s] { w[i] += n } }
        return w
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
    /// Small (the heap moves them): a record made already (a forwarded copy, rare) is boxed.
    struct Held {
        var frame: Int
        private var recordBox: RecordBox?
        /// How to make the record (pure: made by the sink, maybe on its own thread).
        var make: JudgedReset?
        /// Listed (to the sink), or built only for `takeFinal()`.
        var listed: Bool
        /// Known before the record is made, for a bounded list (`ResetList`).
        var signature: ResetList.Signature?

        init(frame: Int, record: ResetRecord?, make: JudgedReset?, listed: Bool, signature: ResetList.Signature? = nil) {
            self.frame = frame
            recordBox = record.map(RecordBox.init)
            self.make = make
            self.listed = listed
            self.signature = signature
        }

        /// The record, when it was made already.
        var record: ResetRecord? { recordBox?.record }
    }

    final class RecordBox {
        let record: ResetRecord
        init(_ r: ResetRecord) { record = r }
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
/// Adding is the per-connection path; an update (a revived connection whose outcome changed, rare)
/// searches the ring.
struct OutcomeWindow {
    private var ring: [FlowOutcomeDraft] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds an outcome; returns the oldest one when it had to make room.
    mutating func add(_ o: FlowOutcomeDraft) -> FlowOutcomeDraft? {
        if ring.count < capacity {
            ring.append(o)
            return nil
        }
        let old = ring[head]
        ring[head] = o
        head = (head + 1) % capacity
        return old
    }

    /// Changes the conn_state of a held outcome (false when it already went out).
    mutating func update(firstResetFrame f: Int, connState: ConnState) -> Bool {
        // Newest first (as the index by frame it replaces kept the last one added).
        var k = ring.count
        while k > 0 {
            k -= 1
            let i = ring.count < capacity ? k : (head + k) % capacity
            if ring[i].firstResetFrame == f {
                ring[i].connState = connState
                return true
            }
        }
        return false
    }

    /// Every held outcome, oldest first; the window is empty afterwards.
    mutating func drain() -> [FlowOutcomeDraft] {
        let out = Array(ring[head...] + ring[..<head])
        ring.removeAll()
        head = 0
        return out
    }
}

extension ResetList.Signature {
    /// A record's signature (the memberwise init builds one before the record exists).
    init(_ r: ResetRecord) {
        self.init(cls: r.class, cause: r.cause, sender: r.sender, answered: r.answered, stateless: r.stateless,
                  direction: r.direction, localBuilt: r.localBuilt, payload: r.payload != nil)
    }
}
