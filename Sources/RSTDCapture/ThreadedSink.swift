import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Hands records to another sink on a thread of its own (the second core writes the output while the
/// first one analyses), in batches, through a queue of at most `maxBatches` batches: memory stays
/// fixed, and the analysis waits when the writer falls behind. `finish()` waits for the writer.
package final class ThreadedSink: ResetSink, @unchecked Sendable {
    /// Small, as batches are copied item by item: a whole record (rare: forwarded copies) is boxed.
    private enum Item {
        indirect case reset(ResetRecord)
        case make(JudgedReset)
        case flow(FlowOutcome)
        case draft(FlowOutcomeDraft)
        /// What a written item is left as (taken out of its batch, not copied).
        case taken
    }

    private let inner: any ResetSink
    private let cond = NSCondition()
    private var queue: [[Item]] = []
    private var batch: [Item] = []
    /// Emptied batches the writer hands back: the analysis fills them again (a fresh ~50 KB buffer
    /// for every batch was new heap pages to fault in on the analysis thread, freed on the writer's).
    private var spare: [[Item]] = []
    private var closed = false
    private var done = false
    /// Each hand-over wakes the writer (a futex call on both sides); the queue holds up to 4096
    /// records still to write (each keeps its RST's judgement, about a kilobyte, until then).
    private static let batchSize = 512
    private static let maxBatches = 8

    package init(_ inner: any ResetSink) {
        self.inner = inner
        batch.reserveCapacity(Self.batchSize)
        let t = Thread { [self] in run() }
        t.name = "rstdoctor-output"
        t.start()
    }

    /// Always listed: the inner sink must keep every record it is given (a writer does).
    package func reset(_ r: ResetRecord) -> Bool {
        add(.reset(r))
        return true
    }

    /// The record is made (or written straight out) on the writer's thread.
    package func reset(making make: JudgedReset) -> Bool {
        add(.make(make))
        return true
    }

    package func flow(_ o: FlowOutcome) { add(.flow(o)) }

    /// Its texts are made on the writer's thread.
    package func flow(_ d: FlowOutcomeDraft) { add(.draft(d)) }

    private func add(_ i: Item) {
        batch.append(i)
        if batch.count >= Self.batchSize { push() }
    }

    private func push() {
        guard !batch.isEmpty else { return }
        cond.lock()
        while queue.count >= Self.maxBatches { cond.wait() }
        queue.append(batch)
        let reused = spare.popLast()
        cond.broadcast()
        cond.unlock()
        if let reused {
            batch = reused
        } else {
            batch = []
            batch.reserveCapacity(Self.batchSize)
        }
    }

    /// Hands on what is left and waits until the writer has written everything.
    package func finish() {
        push()
        cond.lock()
        closed = true
        cond.broadcast()
        while !done { cond.wait() }
        cond.unlock()
    }

    private func run() {
        while true {
            cond.lock()
            while queue.isEmpty && !closed { cond.wait() }
            if queue.isEmpty && closed {
                done = true
                cond.broadcast()
                cond.unlock()
                return
            }
            var items = queue.removeFirst()
            cond.broadcast()
            cond.unlock()
            for k in items.indices {
                // Moved out (a copy was a retain and a release of each record's judgement, made on
                // the other core).
                var i = Item.taken
                swap(&i, &items[k])
                switch i {
                case .reset(let r): _ = inner.reset(r)
                case .make(let m): _ = inner.reset(making: m)
                case .flow(let o): inner.flow(o)
                case .draft(let d): inner.flow(d)
                case .taken: break
                }
            }
            items.removeAll(keepingCapacity: true)
            cond.lock()
            if spare.count < Self.maxBatches { spare.append(items) }
            cond.unlock()
        }
    }
}
