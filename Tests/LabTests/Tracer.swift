import Foundation

/// A tracefs instance of the lab's own (`instances/<lab prefix>`) with `tcp:tcp_send_reset` and
/// `tcp:tcp_receive_reset` enabled; never the global buffer, always removed. The tracepoints are
/// global (no namespace field), so lines are kept as they are and scenarios match on their reason
/// and port.
final class Tracer: @unchecked Sendable {
    let dir: String
    private var removed = false
    private let lock = NSLock()
    private static let events = ["tcp/tcp_send_reset", "tcp/tcp_receive_reset"]

    /// The tracefs root, or nil when it is not mounted.
    static var root: String? {
        for r in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        where FileManager.default.fileExists(atPath: r + "/instances") { return r }
        return nil
    }

    init?(name: String) {
        guard let root = Tracer.root else { return nil }
        dir = root + "/instances/" + name
        guard mkdir(dir, 0o755) == 0 || errno == EEXIST else { return nil }
        for e in Tracer.events where !write("1", to: "events/\(e)/enable") {
            remove()
            return nil
        }
        _ = write("1", to: "tracing_on")
    }

    @discardableResult
    private func write(_ s: String, to rel: String) -> Bool {
        guard let fh = FileHandle(forWritingAtPath: dir + "/" + rel) else { return false }
        defer { try? fh.close() }
        do { try fh.write(contentsOf: Data(s.utf8)); return true } catch { return false }
    }

    /// The event lines recorded so far (header comments dropped).
    func lines() -> [String] {
        guard let fh = FileHandle(forReadingAtPath: dir + "/trace") else { return [] }
        defer { try? fh.close() }
        let data = (try? fh.read(upToCount: 4 << 20)) ?? Data()
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map(String.init)
    }

    /// Empties the buffer (between the setup and the fault).
    func clear() {
        // Opening `trace` with O_TRUNC is how tracefs empties a buffer.
        let fd = open(dir + "/trace", O_WRONLY | O_TRUNC)
        if fd >= 0 { close(fd) }
    }

    /// Disables the events and removes the instance.
    func remove() {
        lock.lock(); defer { lock.unlock() }
        if removed { return }
        removed = true
        for e in Tracer.events { _ = write("0", to: "events/\(e)/enable") }
        _ = rmdir(dir)
    }
}
