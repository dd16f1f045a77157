import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Why kernel tracing could not run: what happened and why, and what to do about it.
/// `watch` prints both and exits 3; `check` marks its trace `skipped` with `reason`.
package struct TraceUnavailable: Error, Sendable, CustomStringConvertible {
    package var reason: String
    package var fix: String
    package init(_ reason: String, fix: String) {
        self.reason = reason
        self.fix = fix
    }
    package var description: String { "\(reason)\n\(fix)" }
}

/// rstdoctor's own tracefs instance (`<tracefs>/instances/rstdoctor-PID`): its own ring buffer,
/// events and filters, so the global buffer and other tracing users are left alone. Removed on
/// every exit path through `Cleanup`.
package final class TracefsInstance: @unchecked Sendable {
    package static let defaultRoot = "/sys/kernel/tracing"
    package static let namePrefix = "rstdoctor-"

    package let root: String
    package let name: String
    package var path: String { root + "/instances/" + name }

    let lock = NSLock()
    /// Held for the whole of `remove()` and around every file the instance opens: a signal's cleanup
    /// waits for the write or open under way (a file open in the instance makes rmdir fail with
    /// EBUSY), a second signal's cleanup waits for the removal under way, and once removed, setup
    /// still running on another thread opens nothing more in it.
    let files = NSLock()
    private(set) var removed = false
    private var fd: Int32 = -1
    /// The per-CPU `trace_pipe_raw` files when the binary reader runs (TracefsRawPipe.swift).
    var rawPipes: [(cpu: Int, fd: Int32)] = []
    private var created = false
    private var cleanupToken: Int?
    package private(set) var mountedByUs = false
    private var enabled: [String] = []
    private var partial: [UInt8] = []

    package init(root: String = TracefsInstance.defaultRoot, name: String = TracefsInstance.namePrefix + String(getpid())) {
        self.root = root
        self.name = name
    }

    /// Makes sure tracefs is mounted at `root` (mounting it, as systemd does at boot, when the
    /// directory is empty; `mountedByUs` tells the caller so it can say so), then creates the
    /// instance directory.
    /// `reclaim`: an instance of this name left by this same process (its tracefs was unmounted and
    /// mounted again under it) is removed first.
    package func create(reclaim: Bool = false) throws(TraceUnavailable) {
        try Self.checkLockdown()
        try ensureMounted()
        removeStaleInstances()
        // Cleanup knows the instance before it exists: a signal right after mkdir (a user's Ctrl-C
        // as the window opens) must still remove it.
        let token = Cleanup.shared.add { [self] in self.remove() }
        lock.lock()
        created = true
        cleanupToken = token
        lock.unlock()
        var r = mkdir(path, 0o700)
        if r != 0 && errno == EEXIST && reclaim && rmdir(path) == 0 { r = mkdir(path, 0o700) }
        if r != 0 {
            let err = errno
            lock.lock()
            created = false
            let token = cleanupToken
            cleanupToken = nil
            lock.unlock()
            if let token { Cleanup.shared.remove(token) }
            switch err {
            case EACCES, EPERM:
                throw Self.permissionProblem(what: "could not create the tracefs instance \(path)", errno: err)
            case EEXIST:
                throw TraceUnavailable("the tracefs instance \(path) already exists (another rstdoctor with the same process id?)",
                                       fix: "Remove it with `rmdir \(path)` if no rstdoctor is running, then try again.")
            default:
                throw TraceUnavailable("could not create the tracefs instance \(path): \(String(cString: strerror(err)))",
                                       fix: "Check that tracefs at \(root) supports instances (Linux 3.18+) and is writable.")
            }
        }
    }

    /// Reads an event's format file (from the instance, or the top level if not yet created).
    package func format(system: String, event: String) throws(TraceUnavailable) -> EventFormat {
        let file = "\(created ? path : root)/events/\(system)/\(event)/format"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw TraceUnavailable("this kernel has no \(system):\(event) tracepoint (\(file) is missing)",
                                   fix: "tcp:tcp_send_reset needs Linux 4.15 or later (reasons since 6.10); skb:kfree_skb drop reasons need 5.17.")
        }
        do { return try EventFormat.parse(text) } catch {
            throw TraceUnavailable("could not read \(file): \(error)", fix: "Report this kernel's format file to the rstdoctor project.")
        }
    }

    package func hasEvent(system: String, event: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(root)/events/\(system)/\(event)/format")
    }

    /// Writes a tracefs filter expression for one event of the instance.
    package func setFilter(system: String, event: String, _ expression: String) throws(TraceUnavailable) {
        try write("events/\(system)/\(event)/filter", expression)
    }

    package func enable(system: String, event: String) throws(TraceUnavailable) {
        try write("events/\(system)/\(event)/enable", "1")
        lock.lock()
        enabled.append("\(system)/\(event)")
        lock.unlock()
    }

    /// Sets a per-instance option file (`trace_clock`, `buffer_percent`, `buffer_size_kb`).
    @discardableResult
    package func setOption(_ file: String, _ value: String) -> Bool {
        (try? write(file, value)) != nil
    }

    package func write(_ relative: String, _ value: String) throws(TraceUnavailable) {
        files.lock()
        defer { files.unlock() }
        try checkNotRemoved()
        try writeFile(relative, value)
    }

    func checkNotRemoved() throws(TraceUnavailable) {
        guard removed else { return }
        throw TraceUnavailable("the trace was stopped (interrupted) before it was set up",
                               fix: "Nothing to do: run the command again to trace.")
    }

    private func writeFile(_ relative: String, _ value: String) throws(TraceUnavailable) {
        let file = path + "/" + relative
        let fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            throw Self.permissionProblem(what: "could not open \(file)", errno: err)
        }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count {
            let err = errno
            var detail = String(cString: strerror(err))
            if let log = try? String(contentsOfFile: root + "/error_log", encoding: .utf8),
               let last = log.split(separator: "\n").last { detail += " (\(last))" }
            throw TraceUnavailable("the kernel refused `\(value)` for \(file): \(detail)",
                                   fix: "This kernel's tracefs does not accept it; rstdoctor needs tcp:tcp_send_reset with filters support.")
        }
    }

    /// Opens `trace_pipe` non-blocking: reads never hang, whatever the kernel does.
    package func openPipe() throws(TraceUnavailable) {
        files.lock()
        defer { files.unlock() }
        try checkNotRemoved()
        let f = open(path + "/trace_pipe", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard f >= 0 else { throw Self.permissionProblem(what: "could not open \(path)/trace_pipe", errno: errno) }
        lock.lock()
        fd = f
        lock.unlock()
    }

    /// Waits up to `timeout` seconds for trace data and returns the complete lines read.
    /// Lines longer than `TraceLine.maxLength` are dropped; at most about 1 MiB is read per call.
    package func readLines(timeout: Double) -> [Substring] {
        lock.lock()
        let f = fd
        lock.unlock()
        guard f >= 0 else { return [] }
        var p = pollfd(fd: f, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, Int32(max(0, min(timeout, 1.0)) * 1000))
        // Read even when poll timed out: trace_pipe's poll may wait for buffer_percent.
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while data.count < 1 << 20 {
            let n = buf.withUnsafeMutableBytes { Glibc.read(f, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        guard !data.isEmpty else { return [] }
        lock.lock()
        var all = partial
        lock.unlock()
        all.append(contentsOf: data)
        // One string for every complete line (one allocation per read, not per line), sliced.
        let complete = (all.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
        let text = String(decoding: all[0..<complete], as: UTF8.self)
        var lines: [Substring] = []
        let u = text.utf8
        var start = u.startIndex, i = u.startIndex, length = 0
        while i < u.endIndex {
            if u[i] == UInt8(ascii: "\n") {
                if length <= TraceLine.maxLength { lines.append(text[start..<i]) }
                start = u.index(after: i)
                length = 0
            } else {
                length += 1
            }
            i = u.index(after: i)
        }
        var rest = Array(all[complete...])
        if rest.count > TraceLine.maxLength { rest = [] }
        lock.lock()
        partial = rest
        lock.unlock()
        return lines
    }

    /// Disables the events, closes the pipe and removes the instance. Idempotent; safe from the
    /// cleanup path of a signal. tracefs itself stays mounted even when rstdoctor mounted it:
    /// another tracer (a second rstdoctor, a recorder, perf, bpftrace) may be using it by then,
    /// and unmounting it under them would end their traces.
    package func remove() {
        files.lock()
        defer { files.unlock() }
        removed = true
        lock.lock()
        let f = fd
        fd = -1
        let raw = rawPipes
        rawPipes = []
        let wasCreated = created
        created = false
        let events = enabled
        enabled = []
        let token = cleanupToken
        cleanupToken = nil
        lock.unlock()
        if f >= 0 { close(f) }
        for r in raw { close(r.fd) }
        if wasCreated {
            for e in events { _ = try? writeFile("events/\(e)/enable", "0") }
            var tries = 0
            while rmdir(path) != 0 && errno == EBUSY && tries < 50 {
                tries += 1
                usleep(20_000)
            }
        }
        if let token { Cleanup.shared.remove(token) }
    }

    package var exists: Bool { FileManager.default.fileExists(atPath: path) }

    // MARK: environment checks

    private func ensureMounted() throws(TraceUnavailable) {
        if FileManager.default.fileExists(atPath: root + "/instances") { return }
        if geteuid() != 0 && access(root, X_OK) != 0 && errno == EACCES {
            throw TraceUnavailable("rstdoctor is not running as root, and the kernel's trace events (tracefs at \(root)) are open to root only",
                                   fix: "Run it again as root, e.g. `sudo rstdoctor watch`.")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw TraceUnavailable("tracefs is not available: \(root) does not exist",
                                   fix: "This kernel was built without tracing (CONFIG_FTRACE), or sysfs is not mounted; rstdoctor cannot see the kernel's RST reasons here. Use `rstdoctor capture` instead.")
        }
        guard geteuid() == 0 else {
            throw TraceUnavailable("tracefs is not mounted at \(root), and only root can mount it",
                                   fix: "Run rstdoctor as root (sudo), or mount it first: `sudo mount -t tracefs nodev \(root)`.")
        }
        if mount("nodev", root, "tracefs", 0, nil) != 0 {
            let err = errno
            throw TraceUnavailable("tracefs is not mounted at \(root) and mounting it failed: \(String(cString: strerror(err)))",
                                   fix: "Mount it by hand (`mount -t tracefs nodev \(root)`); in a container, give it CAP_SYS_ADMIN or mount tracefs from the host.")
        }
        lock.lock()
        mountedByUs = true
        lock.unlock()
        guard FileManager.default.fileExists(atPath: root + "/instances") else {
            throw TraceUnavailable("tracefs at \(root) has no instances directory",
                                   fix: "rstdoctor needs tracefs instances (Linux 3.18+).")
        }
    }

    /// Instances left by an rstdoctor that was killed with SIGKILL: removed if their process is gone.
    private func removeStaleInstances() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root + "/instances") else { return }
        for n in names where n.hasPrefix(Self.namePrefix) && n != name {
            // `rstdoctor-PID`, or `rstdoctor-PID-drops` (TraceSession's second instance).
            let id = n.dropFirst(Self.namePrefix.count).split(separator: "-", maxSplits: 1).first ?? ""
            guard let pid = Int32(id), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = rmdir(root + "/instances/" + n) }
        }
    }

    static func checkLockdown() throws(TraceUnavailable) {
        guard let text = try? String(contentsOfFile: "/sys/kernel/security/lockdown", encoding: .utf8) else { return }
        if text.contains("[confidentiality]") {
            throw TraceUnavailable("the kernel is locked down in confidentiality mode, which forbids tracing",
                                   fix: "Tracing needs lockdown=integrity or none (a boot parameter; Secure Boot may set it). Use `rstdoctor capture` to see the resets on the wire instead.")
        }
    }

    static func permissionProblem(what: String, errno err: Int32) -> TraceUnavailable {
        if geteuid() != 0 {
            return TraceUnavailable("\(what): \(String(cString: strerror(err))); the kernel's trace events are only available to root",
                                    fix: "Run it again as root, e.g. `sudo rstdoctor watch`.")
        }
        return TraceUnavailable("\(what): \(String(cString: strerror(err)))",
                                fix: "Something denies root access to tracefs (lockdown, SELinux/AppArmor, a container without CAP_SYS_ADMIN); allow it or run on the host.")
    }
}
