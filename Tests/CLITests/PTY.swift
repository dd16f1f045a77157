import Foundation
import XCTest

/// Runs the rstdoctor binary on a pseudo-terminal (its controlling terminal, so Ctrl-C is a real
/// SIGINT from the line discipline): keystrokes in, bytes out, and a small screen model that turns
/// those bytes into what a user would see.
final class PTY {
    let master: Int32
    let pid: pid_t
    private(set) var raw: [UInt8] = []
    /// Where the next `expect` starts searching.
    private var mark = 0

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(_ args: [String], env: [String: String], cwd: String? = nil, columns: UInt16 = 100) throws {
        // Glibc's Swift module hides the XSI pty calls (they need _XOPEN_SOURCE): look them up.
        typealias Unlock = @convention(c) (Int32) -> Int32
        typealias Name = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
        let m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var nameBuf = [CChar](repeating: 0, count: 128)
        guard m >= 0, let u = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unlockpt"), let n = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ptsname_r"),
              unsafeBitCast(u, to: Unlock.self)(m) == 0, unsafeBitCast(n, to: Name.self)(m, &nameBuf, nameBuf.count) == 0 else {
            throw Failure(description: "no pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        master = m
        let slave = String(decoding: nameBuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ws = winsize(ws_row: 40, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(m, UInt(TIOCSWINSZ), &ws)

        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        if let cwd {
            typealias Chdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            guard let f = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
                throw Failure(description: "this libc cannot set a spawned process's directory")
            }
            _ = unsafeBitCast(f, to: Chdir.self)(&fa, cwd)
        }
        // Opened after setsid (POSIX_SPAWN_SETSID) without O_NOCTTY: it becomes the controlling terminal.
        posix_spawn_file_actions_addopen(&fa, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&fa, 0, 1)
        posix_spawn_file_actions_adddup2(&fa, 0, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(0x80 /* POSIX_SPAWN_SETSID */ | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)

        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, args[0], &fa, &attr, argv, envp)
        guard rc == 0 else {
            close(m)
            throw Failure(description: "could not start \(args[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
        _ = fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        close(master)
    }

    /// Reads whatever arrives within `seconds`.
    func pump(_ seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < end {
            var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 20) > 0 else { continue }
            let n = read(master, &buf, buf.count)
            if n > 0 { raw += buf[..<n] } else if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return }
        }
    }

    var text: String { String(decoding: raw, as: UTF8.self) }

    /// Waits until `needle` appears in the output after the previous match.
    func expect(_ needle: String, timeout: Double = 20, file: StaticString = #filePath, line: UInt = #line) throws {
        let end = Date().addingTimeInterval(timeout)
        let n = Array(needle.utf8)
        while Date() < end {
            if let r = find(n) {
                mark = r
                return
            }
            pump(0.05)
        }
        throw Failure(description: "did not see \(needle.debugDescription) within \(timeout)s; screen:\n\(Screen.render(raw))")
    }

    private func find(_ n: [UInt8]) -> Int? {
        guard raw.count >= n.count, mark <= raw.count - n.count else { return nil }
        var i = mark
        while i <= raw.count - n.count {
            if raw[i] == n[0], Array(raw[i..<(i + n.count)]) == n { return i + n.count }
            i += 1
        }
        return nil
    }

    /// Types keys (each string written at once, as a fast typist or a paste would).
    func send(_ keys: String) {
        var bytes = Array(keys.utf8)
        while !bytes.isEmpty {
            let n = write(master, bytes, bytes.count)
            if n > 0 { bytes.removeFirst(n) } else if errno != EAGAIN && errno != EINTR { return } else { usleep(1000) }
        }
    }

    /// Waits for the process to end; returns its exit code (128+signal when killed).
    func wait(timeout: Double = 20) throws -> Int32 {
        let end = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < end {
            pump(0.05)
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                pump(0.1)
                if status & 0x7f == 0 { return (status >> 8) & 0xff }
                return 128 + (status & 0x7f)
            }
        }
        throw Failure(description: "rstdoctor did not exit within \(timeout)s; screen:\n\(Screen.render(raw))")
    }
}

/// A minimal terminal: printable characters overwrite at the cursor; CR, LF and backspace move
/// it; escape sequences (colours, bracketed paste, window titles) and the bell are dropped.
enum Screen {
    static func render(_ bytes: [UInt8]) -> String {
        var lines: [[Character]] = [[]]
        var row = 0, col = 0
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var i = 0
        func put(_ c: Character) {
            while lines[row].count < col { lines[row].append(" ") }
            if col < lines[row].count { lines[row][col] = c } else { lines[row].append(c) }
            col += 1
        }
        while i < scalars.count {
            let u = scalars[i]
            switch u {
            case "\u{1B}":
                i += 1
                guard i < scalars.count else { break }
                if scalars[i] == "[" {
                    i += 1
                    while i < scalars.count, !(0x40...0x7E).contains(scalars[i].value) { i += 1 }
                } else if scalars[i] == "]" {
                    while i < scalars.count, scalars[i] != "\u{07}" { i += 1 }
                }
            case "\r": col = 0
            case "\n":
                row += 1
                col = 0
                if row == lines.count { lines.append([]) }
            case "\u{08}": col = max(0, col - 1)
            default:
                if u.value >= 0x20 && u.value != 0x7F { put(Character(u)) }
            }
            i += 1
        }
        var out = lines.map { String($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
        while out.last == "" { out.removeLast() }
        return out.joined(separator: "\n") + "\n"
    }
}
