import Foundation

/// Batches the recorder's rows and commits them at least every `interval` seconds on a thread of
/// its own, so a `kill -9` loses at most the last interval. When the journal cannot be written
/// (disk full, file removed) the batch is counted as lost and the loss is written as a note once
/// writing works again; when the queue is full, new rows are counted as dropped. Nothing is silent.
public final class JournalWriter: @unchecked Sendable {
    public let journal: Journal
    public let interval: Double
    public let maxPending: Int
    private let cond = NSCondition()
    private var events: [JournalEvent] = []
    private var counters: [CounterSnapshot] = []
    private var sockets: [SocketSnapshot] = []
    private var notes: [JournalNote] = []
    private var running = false
    private var thread: Thread?
    private var finished = DispatchSemaphore(value: 0)
    private var unreported = 0
    /// Retention settings, applied every `retentionEvery` seconds by the writer thread.
    public var maxAge: Double?
    public var maxBytes: Int64?
    public var retentionEvery: Double = 60
    public var netns = "host"

    public private(set) var written = 0
    /// Rows lost because the journal could not be written (counted, reported as a note).
    public private(set) var lost = 0
    /// Rows dropped because the queue was full (the writer could not keep up).
    public private(set) var dropped = 0
    public private(set) var lastError: JournalError?
    public private(set) var lastCommit: Date?

    public init(journal: Journal, interval: Double = 0.5, maxPending: Int = 500_000) {
        self.journal = journal
        self.interval = interval
        self.maxPending = maxPending
    }

    public func add(_ e: JournalEvent) { add([e]) }

    public func add(_ es: [JournalEvent]) {
        guard !es.isEmpty else { return }
        cond.lock(); defer { cond.unlock() }
        let room = max(0, maxPending - events.count)
        if es.count > room { dropped += es.count - room }
        events += es.prefix(room)
    }

    public func add(_ c: CounterSnapshot) { cond.lock(); counters.append(c); cond.unlock() }
    public func add(_ s: SocketSnapshot) { cond.lock(); sockets.append(s); cond.unlock() }
    public func add(_ n: JournalNote) { cond.lock(); notes.append(n); cond.unlock() }

    /// Writes what is queued now; returns false when the journal could not be written.
    @discardableResult
    public func flush() -> Bool {
        cond.lock()
        let (e, c, s, n) = (events, counters, sockets, notes)
        events = []; counters = []; sockets = []; notes = []
        var loss = unreported
        cond.unlock()
        var allNotes = n
        if loss > 0 {
            allNotes.append(JournalNote(timeMicros: Date().journalMicros, kind: "loss", netns: netns,
                                        text: "\(loss) row(s) could not be written to the journal: \(lastError.map { "\($0)" } ?? "write error")"))
        }
        do {
            try journal.write(events: e, counters: c, sockets: s, notes: allNotes)
            cond.lock()
            written += e.count
            unreported -= loss
            lastCommit = Date()
            cond.unlock()
            return true
        } catch {
            loss = e.count + c.count + s.count + n.count
            cond.lock()
            lost += loss
            unreported += loss
            lastError = error
            cond.unlock()
            return false
        }
    }

    /// Starts the commit thread.
    public func start() {
        cond.lock()
        guard !running else { cond.unlock(); return }
        running = true
        cond.unlock()
        let t = Thread { [self] in self.loop() }
        t.name = "rstdoctor-journal"
        thread = t
        t.start()
    }

    private func loop() {
        var lastRetention = Date.distantPast
        while true {
            cond.lock()
            if running { _ = cond.wait(until: Date().addingTimeInterval(interval)) }
            let stop = !running
            cond.unlock()
            flush()
            if stop { break }
            if (maxAge != nil || maxBytes != nil) && Date().timeIntervalSince(lastRetention) >= retentionEvery {
                lastRetention = Date()
                applyRetention()
            }
        }
        finished.signal()
    }

    /// One retention pass now (also run by the commit thread every `retentionEvery` seconds).
    public func applyRetention() {
        do {
            let r = try journal.enforceRetention(maxAge: maxAge, maxBytes: maxBytes)
            if r.bySize > 0 {
                add(JournalNote(timeMicros: Date().journalMicros, kind: "retention", netns: netns,
                                text: "the journal reached --max-size: the oldest \(r.bySize) reset(s) were deleted"))
            }
        } catch {
            cond.lock(); lastError = error; cond.unlock()
        }
    }

    /// Stops the thread after a last commit.
    public func stop() {
        cond.lock()
        let wasRunning = running
        running = false
        cond.signal()
        cond.unlock()
        if wasRunning { finished.wait() } else { flush() }
    }

    /// Rows lost whose loss is not yet in the journal as a `loss` note (it was still unwritable).
    public var unreportedLoss: Int { cond.lock(); defer { cond.unlock() }; return unreported }

    /// Pending rows not yet committed.
    public var pending: Int { cond.lock(); defer { cond.unlock() }; return events.count }
}
