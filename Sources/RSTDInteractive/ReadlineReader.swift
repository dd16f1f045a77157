import CReadline
import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// Line editing with GNU readline: persistent history and tab completion. Uses readline's
/// callback interface with poll(2), so Ctrl-C (a byte on the wake pipe, written by the
/// InterruptGate) throws the typed line away without readline touching signals itself.
package final class ReadlineReader: LineReader {
    package let isInteractive = true
    package let historyPath: String?
    /// Read end of the wake pipe (polled) and write end (given to the InterruptGate).
    let wakeRead: Int32
    package let wakeFD: Int32
    package static let historyLimit: Int32 = 1000
    /// Undoes readline's terminal modes if the process ends from a signal while a line is read.
    private var restoreToken: Int?

    /// - completer: given the text before the word being completed and the word, the candidates;
    ///   nil means "complete file names".
    package init(historyPath: String?, completer: @escaping (String, String) -> [String]?) {
        self.historyPath = historyPath
        var fds: [Int32] = [0, 0]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
            _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        } else {
            fds = [-1, -1]
        }
        wakeRead = fds[0]
        wakeFD = fds[1]
        ReadlineGlobals.completer = completer
        var saved = termios()
        let input = fileno(rstd_instream())
        if tcgetattr(input, &saved) == 0 {
            let mode = saved
            restoreToken = Cleanup.shared.add {
                var m = mode
                _ = tcsetattr(input, TCSANOW, &m)
            }
        }
        rstd_set_readline_name(strdup("rstdoctor"))
        rstd_set_catch_signals(0)
        rstd_set_change_environment(0)
        rstd_set_completion(readlineComplete)
        using_history()
        stifle_history(Self.historyLimit)
        if let p = historyPath {
            try? FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            _ = read_history(p)
        }
    }

    deinit {
        if let t = restoreToken { Cleanup.shared.remove(t) }
        if wakeRead >= 0 { close(wakeRead) }
        if wakeFD >= 0 { close(wakeFD) }
    }

    package func read(prompt: String) -> LineInput {
        drainWake()
        ReadlineGlobals.result = nil
        rl_callback_handler_install(prompt, readlineLineHandler)
        var installed = true
        defer { if installed { rl_callback_handler_remove() } }
        let input = fileno(rstd_instream())
        while true {
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, nfds_t(wakeRead >= 0 ? 2 : 1), -1)
            if n < 0 {
                if errno == EINTR { continue }
                return .eof
            }
            if wakeRead >= 0, fds[1].revents & Int16(POLLIN) != 0 {
                drainWake()
                // Throw the typed line away and start a fresh prompt, as bash does.
                rl_replace_line("", 0)
                rl_callback_sigcleanup()
                FileHandle.standardOutput.write(Data("^C\n".utf8))
                return .interrupted
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                rl_callback_read_char()
                if let r = ReadlineGlobals.result {
                    ReadlineGlobals.result = nil
                    installed = false
                    if r == .eof { FileHandle.standardOutput.write(Data("\n".utf8)) }
                    return r
                }
                // A hang-up with nothing readable would spin: treat it as the end of input.
                if fds[0].revents & Int16(POLLIN) == 0 { return .eof }
            }
        }
    }

    package func remember(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return }
        // Skip a repeat of the previous line, as HISTCONTROL=ignoredups does.
        if let last = rstd_last_history_line(), String(cString: last) == line { return }
        add_history(line)
        guard let p = historyPath else { return }
        // Append as we go, so a crash loses nothing; keep the file bounded.
        if !FileManager.default.fileExists(atPath: p) {
            _ = write_history(p)
            chmod(p, 0o600)
        } else {
            _ = append_history(1, p)
        }
        _ = history_truncate_file(p, Self.historyLimit)
    }

    private func drainWake() {
        guard wakeRead >= 0 else { return }
        var buf = [UInt8](repeating: 0, count: 64)
        while Glibc.read(wakeRead, &buf, buf.count) > 0 {}
    }
}

/// State the C callbacks reach (they cannot capture context). Only touched on the thread that
/// runs the session loop.
enum ReadlineGlobals {
    nonisolated(unsafe) static var completer: ((String, String) -> [String]?)?
    nonisolated(unsafe) static var matches: [String] = []
    nonisolated(unsafe) static var matchIndex = 0
    nonisolated(unsafe) static var result: LineInput?
}

private func readlineLineHandler(_ line: UnsafeMutablePointer<CChar>?) {
    // Removing the handler here keeps readline from printing the next prompt before our output.
    rl_callback_handler_remove()
    guard let line else {
        ReadlineGlobals.result = .eof
        return
    }
    ReadlineGlobals.result = .line(String(cString: line))
    free(line)
}

private func readlineComplete(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    let word = text.map { String(cString: $0) } ?? ""
    var before = ""
    if let buf = rstd_line_buffer() {
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buf).assumingMemoryBound(to: UInt8.self), count: strlen(buf))
        before = String(decoding: bytes.prefix(max(0, Int(start))), as: UTF8.self)
    }
    guard let text, let candidates = ReadlineGlobals.completer?(before, word) else {
        rstd_set_completion_over(0)
        return nil
    }
    rstd_set_completion_over(1)
    ReadlineGlobals.matches = candidates.filter { $0.hasPrefix(word) }
    ReadlineGlobals.matchIndex = 0
    return rl_completion_matches(text, readlineNextMatch)
}

private func readlineNextMatch(_ text: UnsafePointer<CChar>?, _ state: Int32) -> UnsafeMutablePointer<CChar>? {
    if state == 0 { ReadlineGlobals.matchIndex = 0 }
    guard ReadlineGlobals.matchIndex < ReadlineGlobals.matches.count else { return nil }
    defer { ReadlineGlobals.matchIndex += 1 }
    return strdup(ReadlineGlobals.matches[ReadlineGlobals.matchIndex])
}
