import Foundation

/// The one-writer rule: an advisory `flock` on a sidecar file (`journal.db.lock`). The kernel drops
/// the lock when the holder's descriptor closes, also on `kill -9`, so a crash never leaves a stale
/// lock; the holder's PID is written into the file only to name it in the refusal.
public final class JournalLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Takes the lock or refuses at once (never waits) with the holder's PID when known.
    public static func acquire(journal: String) throws(JournalError) -> JournalLock {
        let path = journal + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            throw JournalError(.io, "cannot create the journal's lock file \(path): \(why)",
                               fix: "Give a --journal path in a directory this user can write")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = readHolder(fd)
            close(fd)
            let who = holder.map { "process \($0)" } ?? "another process"
            throw JournalError(.locked, "another recorder (\(who)) is already writing the journal \(journal)",
                               fix: "Stop it first (one recorder per journal), or give this one another --journal path")
        }
        _ = ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        return JournalLock(path: path, fd: fd)
    }

    private static func readHolder(_ fd: Int32) -> Int? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, 31, 0)
        guard n > 0 else { return nil }
        return Int(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Releases the lock (also done by the kernel when the process ends).
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
