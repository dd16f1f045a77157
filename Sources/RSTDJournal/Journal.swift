import Foundation
import GRDB

/// The recorder's journal: an SQLite database (WAL) with a versioned schema (docs/record.md).
/// One writer at a time (JournalLock); any number of readers (`check --since`).
public final class Journal: @unchecked Sendable {
    /// Written into the `meta` table: a SQLite file without it is not ours and is refused.
    public static let application = "rstdoctor"
    /// `PRAGMA user_version` and `meta.schema`; bump with a migration when the tables change.
    public static let schemaVersion = 1

    public let path: String
    public let readOnly: Bool
    let db: DatabaseQueue
    private let lock: JournalLock?

    private init(path: String, db: DatabaseQueue, readOnly: Bool, lock: JournalLock?) {
        self.path = path
        self.db = db
        self.readOnly = readOnly
        self.lock = lock
    }

    deinit { lock?.release() }

    /// Opens (or creates) the journal for the recorder: takes the lock, checks the file is an
    /// rstdoctor journal of a schema this build knows, and sets WAL mode.
    public static func openForWriting(path: String) throws(JournalError) -> Journal {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
            } catch {
                throw JournalError(.io, "cannot create the journal's directory \(dir): \(error.localizedDescription)",
                                   fix: "Give a --journal path in a directory this user can write")
            }
        }
        let lock = try JournalLock.acquire(journal: path)
        let fresh = isEmptyFile(path)
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.label = "rstdoctor-journal"
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            lock.release()
            throw classify(error, path: path)
        }
        let journal = Journal(path: path, db: queue, readOnly: false, lock: lock)
        do {
            try queue.writeWithoutTransaction { db in
                let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0
                if fresh || tables == 0 {
                    // Before the first table: lets retention give freed pages back to the file system.
                    try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                    try db.inTransaction {
                        try JournalSchema.create(db)
                        return .commit
                    }
                } else {
                    try JournalSchema.validate(db, path: path)
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                }
                // WAL + NORMAL: a committed batch survives kill -9 (only power loss can lose the last commits).
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
        } catch let e as JournalError {
            lock.release()
            throw e
        } catch {
            lock.release()
            throw classify(error, path: path)
        }
        return journal
    }

    /// Opens an existing journal to read it (`check --since`); never creates or changes it.
    public static func openForReading(path: String) throws(JournalError) -> Journal {
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(.missing, "there is no journal at \(path)",
                               fix: "Start one with `rstdoctor record --journal \(path)` (as a service: contrib/rstdoctor-record.service) and ask again once it has recorded the period")
        }
        guard !isEmptyFile(path) else {
            throw JournalError(.foreign, "\(path) is empty, not an rstdoctor journal", fix: "Give the journal `rstdoctor record` writes (--journal)")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            try queue.read { db in try JournalSchema.validate(db, path: path) }
            return Journal(path: path, db: queue, readOnly: true, lock: nil)
        } catch let e as JournalError {
            throw e
        } catch {
            throw classify(error, path: path)
        }
    }

    static func isEmptyFile(_ path: String) -> Bool {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { return true }
        return (attrs[.size] as? NSNumber)?.int64Value ?? 0 == 0
    }

    /// SQLite's complaint as the user should read it.
    static func classify(_ error: any Error, path: String) -> JournalError {
        let moveAside = "Move it aside (or give another --journal path); `rstdoctor record --new-journal` renames it and starts a new one"
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_NOTADB:
                return JournalError(.foreign, "\(path) is not an SQLite database, so not an rstdoctor journal", fix: moveAside)
            case .SQLITE_CORRUPT:
                return JournalError(.corrupt, "the journal \(path) is corrupt (\(e.message ?? "SQLITE_CORRUPT"))", fix: moveAside)
            case .SQLITE_FULL:
                return JournalError(.full, "the disk holding \(path) is full", fix: "Free space, or lower --max-size / --retain")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
                return JournalError(.io, "cannot open the journal \(path): \(e.message ?? "\(e.resultCode)")",
                                    fix: "Check the path and its permissions (the recorder's default journal needs root: /var/lib/rstdoctor)")
            default:
                return JournalError(.io, "the journal \(path) could not be used: \(e.message ?? "\(e.resultCode)")", fix: moveAside)
            }
        }
        return JournalError(.io, "the journal \(path) could not be used: \(error)", fix: moveAside)
    }

    /// Renames a journal that cannot be used to `PATH.broken-<unix time>` (with its -wal and -shm),
    /// for `record --new-journal`; returns the new name.
    public static func moveAside(path: String) throws(JournalError) -> String {
        let target = "\(path).broken-\(Int(Date().timeIntervalSince1970))"
        do {
            try FileManager.default.moveItem(atPath: path, toPath: target)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.moveItem(atPath: path + suffix, toPath: target + suffix)
            }
        } catch {
            throw JournalError(.io, "cannot move \(path) aside: \(error.localizedDescription)", fix: "Move or delete it by hand")
        }
        return target
    }

    /// Bytes in use: the main file's used pages plus the WAL.
    public func sizeBytes() -> Int64 {
        let wal = ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.int64Value ?? 0
        let used = (try? db.read { db -> Int64 in
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            return (pages - free) * size
        }) ?? 0
        return used + wal
    }

    /// Values of the `meta` table (application, schema, created, host…).
    public func meta() throws(JournalError) -> [String: String] {
        do {
            return try db.read { db in
                var out: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { out[row["key"]] = row["value"] }
                return out
            }
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    func setMeta(_ key: String, _ value: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }
}

/// The tables (docs/record.md § The journal's schema).
enum JournalSchema {
    static func create(_ db: GRDB.Database) throws {
        try db.execute(sql: """
            CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
            CREATE TABLE rst_event (
              id INTEGER PRIMARY KEY,
              time_us INTEGER NOT NULL,
              direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
              netns TEXT NOT NULL,
              saddr TEXT NOT NULL, sport INTEGER NOT NULL,
              daddr TEXT NOT NULL, dport INTEGER NOT NULL,
              reason TEXT, state TEXT, listener INTEGER NOT NULL DEFAULT 0, drop_reason TEXT,
              task TEXT, pid INTEGER,
              cause TEXT,
              source TEXT NOT NULL,
              ttl INTEGER, payload TEXT, flags TEXT
            );
            CREATE INDEX rst_event_time ON rst_event(time_us);
            CREATE INDEX rst_event_sport ON rst_event(sport, time_us);
            CREATE INDEX rst_event_dport ON rst_event(dport, time_us);
            CREATE INDEX rst_event_saddr ON rst_event(saddr, time_us);
            CREATE INDEX rst_event_daddr ON rst_event(daddr, time_us);
            CREATE INDEX rst_event_cause ON rst_event(cause, time_us);
            -- Per-hour counts kept by the writer, so a day's summary does not scan every row.
            CREATE TABLE rst_hourly (
              hour INTEGER NOT NULL, netns TEXT NOT NULL, cause TEXT NOT NULL, direction TEXT NOT NULL,
              lport INTEGER NOT NULL, task TEXT NOT NULL, n INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX rst_hourly_key ON rst_hourly(hour, netns, cause, direction, lport, task);
            CREATE TABLE counter_snapshot (
              id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, netns TEXT NOT NULL, trigger TEXT NOT NULL,
              counters TEXT NOT NULL
            );
            CREATE INDEX counter_snapshot_time ON counter_snapshot(time_us);
            CREATE TABLE socket_snapshot (
              id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, netns TEXT NOT NULL, trigger TEXT NOT NULL,
              kind TEXT NOT NULL, command TEXT NOT NULL, text TEXT NOT NULL
            );
            CREATE INDEX socket_snapshot_time ON socket_snapshot(time_us);
            CREATE TABLE note (
              id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, kind TEXT NOT NULL, netns TEXT NOT NULL, text TEXT NOT NULL
            );
            CREATE INDEX note_time ON note(time_us);
            """)
        let now = Date().journalMicros
        for (k, v) in [("application", Journal.application), ("schema", String(Journal.schemaVersion)), ("created_us", String(now))] {
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [k, v])
        }
        try db.execute(sql: "PRAGMA user_version = \(Journal.schemaVersion)")
    }

    /// Refuses a database that is not an rstdoctor journal, or one of a newer schema.
    static func validate(_ db: GRDB.Database, path: String) throws {
        let moveAside = "Give the journal `rstdoctor record` writes, or another --journal path (`record --new-journal` moves this file aside)"
        guard try db.tableExists("meta"),
              let app = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'application'"),
              app == Journal.application else {
            throw JournalError(.foreign, "\(path) is an SQLite database of another application (no rstdoctor `meta` table)", fix: moveAside)
        }
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if version > Journal.schemaVersion {
            throw JournalError(.newer, "\(path) has journal schema \(version); this rstdoctor reads schema \(Journal.schemaVersion)",
                               fix: "Use the rstdoctor that wrote it (or a newer one)")
        }
        guard version == Journal.schemaVersion else {
            throw JournalError(.foreign, "\(path) has journal schema \(version), which no rstdoctor wrote", fix: moveAside)
        }
        for t in ["rst_event", "rst_hourly", "counter_snapshot", "socket_snapshot", "note"] where !(try db.tableExists(t)) {
            throw JournalError(.corrupt, "the journal \(path) lacks its table \(t)", fix: moveAside)
        }
    }
}
