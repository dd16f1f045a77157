import Foundation
import GRDB

/// Queries for a period: the events (a bounded sample per cause), their summary, snapshots, notes.
extension Journal {
    /// WHERE clause and arguments of a filter over a table with `time_us` and `netns`
    /// (and, for events, the address and port columns).
    static func whereClause(_ f: JournalFilter, events: Bool) -> (String, [(any DatabaseValueConvertible)?]) {
        var sql = "time_us >= ? AND time_us < ?"
        var args: [(any DatabaseValueConvertible)?] = [f.sinceMicros, f.untilMicros]
        if let n = f.netns {
            sql += " AND netns = ?"
            args.append(n)
        }
        guard events else { return (sql, args) }
        if !f.ports.isEmpty {
            let marks = Array(repeating: "?", count: f.ports.count).joined(separator: ", ")
            sql += " AND (sport IN (\(marks)) OR dport IN (\(marks)))"
            args += f.ports.map { $0 } + f.ports.map { $0 }
        }
        if let p = f.peer {
            // A listener's RST prints a wildcard peer: kept, as the live trace filter keeps it.
            sql += " AND (saddr = ? OR daddr = ? OR (listener = 1 AND daddr IN ('0.0.0.0', '::', '')))"
            args += [p, p]
        }
        return (sql, args)
    }

    /// The events of the period, oldest first: every event when there are at most `perGroup` of a
    /// (cause, direction), else the latest `perGroup` of it (the summary has the true counts).
    /// `groups`: the (cause, direction) pairs of the period when the caller has them already (from
    /// `summary`, which counts whole hours without reading their rows); otherwise they are looked up.
    public func events(_ f: JournalFilter, perGroup: Int = 1000,
                       groups known: [(cause: String?, direction: String)]? = nil) throws(JournalError) -> [JournalEvent] {
        let (cond, args) = Self.whereClause(f, events: true)
        do {
            return try db.read { db in
                var groups = known ?? []
                if known == nil {
                    for g in try Row.fetchAll(db, sql: "SELECT cause, direction FROM rst_event WHERE \(cond) GROUP BY cause, direction",
                                              arguments: StatementArguments(args)) {
                        groups.append((g["cause"], g["direction"]))
                    }
                }
                var out: [JournalEvent] = []
                for g in groups {
                    let cause = g.cause
                    let dir = g.direction
                    let sql = "SELECT * FROM rst_event WHERE \(cond) AND cause IS ? AND direction = ? ORDER BY time_us DESC LIMIT ?"
                    let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args + [cause, dir, perGroup]))
                    while let r = try rows.next() { out.append(Self.event(r)) }
                }
                return out.sorted { $0.timeMicros < $1.timeMicros }
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    static func event(_ r: Row) -> JournalEvent {
        JournalEvent(timeMicros: r["time_us"], direction: r["direction"], netns: r["netns"], src: r["saddr"], sport: r["sport"],
                     dst: r["daddr"], dport: r["dport"], reason: r["reason"], state: r["state"], listener: (r["listener"] as Int? ?? 0) != 0,
                     dropReason: r["drop_reason"], task: r["task"], pid: r["pid"], cause: r["cause"], source: r["source"],
                     ttl: r["ttl"], payload: r["payload"], flags: r["flags"])
    }

    /// Which causes struck in the period: how often, first and last, per hour, top ports/peers/tasks.
    /// Whole hours of an unfiltered period come from the per-hour counts (`rst_hourly`), the partial
    /// hours at its edges and filtered periods from the rows (through the port / peer indexes).
    public func summary(_ f: JournalFilter) throws(JournalError) -> [CauseSummary] {
        let hourUs: Int64 = 3_600_000_000
        let firstWhole = (f.sinceMicros + hourUs - 1) / hourUs
        let endWhole = f.untilMicros / hourUs
        let useHourly = f.ports.isEmpty && f.peer == nil && firstWhole < endWhole
        // Counted in SQLite (GROUP BY over the time or port index), never row by row here; peers have
        // too many values to group by with the rest: only each group's five most frequent come back.
        func rowQueries(_ g: JournalFilter) -> [(String, [(any DatabaseValueConvertible)?])] {
            let (cond, args) = Self.whereClause(g, events: true)
            return [("""
                SELECT cause, direction, time_us / 3600000000 AS hour,
                       CASE WHEN direction = 'sent' THEN sport ELSE dport END AS lport,
                       NULL AS peer, task, count(*) AS n, min(time_us) AS first, max(time_us) AS last
                FROM rst_event WHERE \(cond)
                GROUP BY cause, direction, hour, lport, task
                """, args), ("""
                SELECT cause, direction, NULL AS hour, NULL AS lport, peer, NULL AS task, n, NULL AS first, NULL AS last FROM (
                  SELECT cause, direction, CASE WHEN direction = 'sent' THEN daddr ELSE saddr END AS peer, count(*) AS n,
                         row_number() OVER (PARTITION BY cause, direction
                                            ORDER BY count(*) DESC, CASE WHEN direction = 'sent' THEN daddr ELSE saddr END) AS rk
                  FROM rst_event WHERE \(cond) GROUP BY cause, direction, peer)
                WHERE rk <= 5
                """, args)]
        }
        var queries: [(String, [(any DatabaseValueConvertible)?])] = []
        if useHourly {
            var head = f, tail = f
            head.untilMicros = firstWhole * hourUs
            tail.sinceMicros = endWhole * hourUs
            if head.sinceMicros < head.untilMicros { queries += rowQueries(head) }
            if tail.sinceMicros < tail.untilMicros { queries += rowQueries(tail) }
            var sql = """
                SELECT NULLIF(cause, '') AS cause, direction, hour, lport, NULL AS peer, NULLIF(task, '') AS task,
                       n, first_us AS first, last_us AS last
                FROM rst_hourly WHERE hour >= ? AND hour < ?
                """
            var args: [(any DatabaseValueConvertible)?] = [firstWhole, endWhole]
            if let n = f.netns { sql += " AND netns = ?"; args.append(n) }
            queries.append((sql, args))
        } else {
            queries += rowQueries(f)
        }
        struct Acc {
            var s: CauseSummary
            var ports: [Int: Int] = [:], peers: [String: Int] = [:], tasks: [String: Int] = [:]
        }
        do {
            let rows = try db.read { db in
                try queries.flatMap { q in try Row.fetchAll(db, sql: q.0, arguments: StatementArguments(q.1)) }
            }
            var acc: [String: Acc] = [:]
            for r in rows {
                let cause: String? = r["cause"]
                let dir: String = r["direction"]
                let n: Int = r["n"]
                let key = "\(cause ?? "")|\(dir)"
                // A top-peer row: its group's counts come from the other rows.
                guard let first: Int64 = r["first"], let last: Int64 = r["last"] else {
                    guard let p: String = r["peer"] else { continue }
                    let empty = CauseSummary(cause: cause, direction: dir, count: 0, firstMicros: .max, lastMicros: .min,
                                             perHour: [:], topPorts: [], topPeers: [], topTasks: [])
                    acc[key, default: Acc(s: empty)].peers[p, default: 0] += n
                    continue
                }
                if acc[key] == nil {
                    acc[key] = Acc(s: CauseSummary(cause: cause, direction: dir, count: 0, firstMicros: first, lastMicros: last,
                                                   perHour: [:], topPorts: [], topPeers: [], topTasks: []))
                }
                // In place: a copy of the entry would copy its dictionaries on every row.
                acc[key]!.s.count += n
                acc[key]!.s.firstMicros = min(acc[key]!.s.firstMicros, first)
                acc[key]!.s.lastMicros = max(acc[key]!.s.lastMicros, last)
                let hour: Int64 = r["hour"]
                acc[key]!.s.perHour[hour * 3600, default: 0] += n
                acc[key]!.ports[r["lport"] as Int? ?? 0, default: 0] += n
                if let p: String = r["peer"] { acc[key]!.peers[p, default: 0] += n }
                if let t: String = r["task"], !t.isEmpty { acc[key]!.tasks[t, default: 0] += n }
            }
            return acc.values.map { a in
                var s = a.s
                s.topPorts = Array(a.ports.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5).map { ($0.key, $0.value) })
                s.topPeers = Array(a.peers.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5).map { ($0.key, $0.value) })
                s.topTasks = Array(a.tasks.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5).map { ($0.key, $0.value) })
                return s
            }.sorted { ($0.count, $0.cause ?? "") > ($1.count, $1.cause ?? "") }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    /// The first and the last counter snapshot of the period (for deltas over it), per namespace.
    public func counterBounds(_ f: JournalFilter) throws(JournalError) -> (first: CounterSnapshot, last: CounterSnapshot)? {
        let (cond, args) = Self.whereClause(f, events: false)
        do {
            return try db.read { db in
                func one(_ order: String) throws -> CounterSnapshot? {
                    guard let r = try Row.fetchOne(db, sql: "SELECT * FROM counter_snapshot WHERE \(cond) ORDER BY time_us \(order) LIMIT 1",
                                                   arguments: StatementArguments(args)) else { return nil }
                    var counters: [String: Int64] = [:]
                    let body: String = r["counters"]
                    for line in body.split(separator: "\n") {
                        let parts = line.split(separator: " ")
                        if parts.count == 2, let v = Int64(parts[1]) { counters[String(parts[0])] = v }
                    }
                    return CounterSnapshot(timeMicros: r["time_us"], netns: r["netns"], trigger: r["trigger"], counters: counters)
                }
                guard let a = try one("ASC"), let b = try one("DESC") else { return nil }
                return (a, b)
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    /// The latest socket snapshot of `kind` in the period.
    public func latestSockets(_ f: JournalFilter, kind: String) throws(JournalError) -> SocketSnapshot? {
        let (cond, args) = Self.whereClause(f, events: false)
        do {
            return try db.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM socket_snapshot WHERE \(cond) AND kind = ? ORDER BY time_us DESC LIMIT 1",
                                 arguments: StatementArguments(args + [kind])).map {
                    SocketSnapshot(timeMicros: $0["time_us"], netns: $0["netns"], trigger: $0["trigger"], kind: $0["kind"],
                                   command: $0["command"], text: $0["text"])
                }
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    /// Notes of the period (and every `limit`/`start` note before it that still applies: the
    /// recorder's limits are written once when it starts).
    public func notes(_ f: JournalFilter) throws(JournalError) -> [JournalNote] {
        var g = f
        g.sinceMicros = 0
        let (cond, args) = Self.whereClause(g, events: false)
        do {
            return try db.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM note WHERE \(cond) AND (time_us >= ? OR kind IN ('start', 'limit')) ORDER BY time_us",
                                 arguments: StatementArguments(args + [f.sinceMicros])).map {
                    JournalNote(timeMicros: $0["time_us"], kind: $0["kind"], netns: $0["netns"], text: $0["text"])
                }
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    /// Time span the journal covers (oldest and newest event), or nil when it has none.
    public func span() throws(JournalError) -> (Int64, Int64)? {
        do {
            return try db.read { db in
                guard let r = try Row.fetchOne(db, sql: "SELECT min(time_us) AS a, max(time_us) AS b FROM rst_event"),
                      let a: Int64 = r["a"], let b: Int64 = r["b"] else { return nil }
                return (a, b)
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    public func eventCount() throws(JournalError) -> Int {
        do { return try db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rst_event") ?? 0 } } catch {
            throw Self.classify(error, path: path)
        }
    }
}
