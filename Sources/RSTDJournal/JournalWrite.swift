import Foundation
import GRDB

/// Writes and retention.
extension Journal {
    /// Writes one batch in one transaction: all of it or (on error, e.g. a full disk) none of it.
    public func write(events: [JournalEvent], counters: [CounterSnapshot] = [], sockets: [SocketSnapshot] = [],
                      notes: [JournalNote] = []) throws(JournalError) {
        guard !(events.isEmpty && counters.isEmpty && sockets.isEmpty && notes.isEmpty) else { return }
        do {
            try db.write { db in
                if !events.isEmpty {
                    let stmt = try db.cachedStatement(sql: """
                        INSERT INTO rst_event (time_us, direction, netns, saddr, sport, daddr, dport, reason, state, listener,
                          drop_reason, task, pid, cause, source, ttl, payload, flags)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                    for e in events {
                        // Eighteen values for the eighteen placeholders above: no validation per row.
                        stmt.setUncheckedArguments([
                            e.timeMicros, e.direction, e.netns, e.src, e.sport, e.dst, e.dport, e.reason, e.state,
                            e.listener ? 1 : 0, e.dropReason, e.task, e.pid, e.cause, e.source, e.ttl, e.payload, e.flags,
                        ])
                        try stmt.execute()
                    }
                    try Self.addHourly(db, events)
                }
                for c in counters {
                    let body = c.counters.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "\n")
                    try db.execute(sql: "INSERT INTO counter_snapshot (time_us, netns, trigger, counters) VALUES (?, ?, ?, ?)",
                                   arguments: [c.timeMicros, c.netns, c.trigger, body])
                }
                for s in sockets {
                    try db.execute(sql: "INSERT INTO socket_snapshot (time_us, netns, trigger, kind, command, text) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [s.timeMicros, s.netns, s.trigger, s.kind, s.command, s.text])
                }
                for n in notes {
                    try db.execute(sql: "INSERT INTO note (time_us, kind, netns, text) VALUES (?, ?, ?, ?)",
                                   arguments: [n.timeMicros, n.kind, n.netns, n.text])
                }
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    /// What one retention pass removed.
    public struct Retention: Sendable {
        public var byAge = 0
        public var bySize = 0
    }

    /// Deletes rows older than `maxAge` seconds, then (oldest first) until the journal uses at most
    /// `maxBytes`; freed pages go back to the file system (incremental vacuum) and the WAL is truncated.
    @discardableResult
    public func enforceRetention(maxAge: Double?, maxBytes: Int64?, now: Date = Date()) throws(JournalError) -> Retention {
        var r = Retention()
        let tables = ["rst_event", "rst_hourly", "counter_snapshot", "socket_snapshot", "note"]
        do {
            if let maxAge {
                let cutoff = now.journalMicros - Int64(maxAge * 1_000_000)
                try db.write { db in
                    for t in tables {
                        try Self.deleteBefore(db, t, cutoff)
                        if t == "rst_event" { r.byAge += db.changesCount }
                    }
                }
            }
            if let maxBytes {
                var rounds = 0
                while sizeBytes() > maxBytes && rounds < 50 {
                    rounds += 1
                    let removed = try db.write { db -> Int in
                        // The oldest tenth of the events, and the snapshots and notes of the same period.
                        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM rst_event") ?? 0
                        let n = max(1, total / 10)
                        let edge = try Int64.fetchOne(db, sql: "SELECT time_us FROM rst_event ORDER BY time_us LIMIT 1 OFFSET ?", arguments: [n - 1])
                        var cutoff = edge.map { $0 + 1 }
                        if cutoff == nil {
                            // No events left: drop the oldest tenth of the snapshots instead.
                            let snaps = try Int.fetchOne(db, sql: "SELECT count(*) FROM counter_snapshot") ?? 0
                            cutoff = try Int64.fetchOne(db, sql: "SELECT time_us FROM counter_snapshot ORDER BY time_us LIMIT 1 OFFSET ?",
                                                        arguments: [max(0, snaps / 10)]).map { $0 + 1 }
                        }
                        guard let cutoff else { return 0 }
                        var events = 0
                        for t in tables {
                            try Self.deleteBefore(db, t, cutoff)
                            if t == "rst_event" { events = db.changesCount }
                        }
                        return max(events, 1)
                    }
                    r.bySize += removed
                    try compact()
                    if removed == 0 { break }
                }
            }
            if r.byAge > 0 { try compact() }
        } catch let e as JournalError {
            throw e
        } catch {
            throw Self.classify(error, path: path)
        }
        return r
    }

    static func deleteBefore(_ db: GRDB.Database, _ table: String, _ cutoff: Int64) throws {
        if table == "rst_hourly" {
            // An hour goes with its last reset.
            try db.execute(sql: "DELETE FROM rst_hourly WHERE last_us < ?", arguments: [cutoff])
        } else {
            try db.execute(sql: "DELETE FROM \(table) WHERE time_us < ?", arguments: [cutoff])
        }
    }

    /// Adds a batch to the per-hour counts (cause and task '' when none).
    static func addHourly(_ db: GRDB.Database, _ events: [JournalEvent]) throws {
        struct Key: Hashable { var hour: Int64, netns: String, cause: String, direction: String, lport: Int, task: String }
        var acc: [Key: (n: Int, first: Int64, last: Int64)] = [:]
        for e in events {
            let k = Key(hour: e.timeMicros / 3_600_000_000, netns: e.netns, cause: e.cause ?? "", direction: e.direction,
                        lport: e.direction == "sent" ? e.sport : e.dport, task: e.task ?? "")
            if let v = acc[k] {
                acc[k] = (v.n + 1, min(v.first, e.timeMicros), max(v.last, e.timeMicros))
            } else {
                acc[k] = (1, e.timeMicros, e.timeMicros)
            }
        }
        let stmt = try db.cachedStatement(sql: """
            INSERT INTO rst_hourly (hour, netns, cause, direction, lport, task, n, first_us, last_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(hour, netns, cause, direction, lport, task)
            DO UPDATE SET n = n + excluded.n, first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)
            """)
        for (k, v) in acc {
            try stmt.execute(arguments: [k.hour, k.netns, k.cause, k.direction, k.lport, k.task, v.n, v.first, v.last])
        }
    }

    /// Moves the WAL into the database and gives freed pages back.
    func compact() throws {
        try db.writeWithoutTransaction { db in
            _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            try db.execute(sql: "PRAGMA incremental_vacuum")
            _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }
}
