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

/// Routes SIGINT / SIGTERM (delivered by Cleanup on a background queue) to what the session is
/// doing: a running check is cancelled, a line being typed is thrown away, the session itself
/// survives Ctrl-C. SIGTERM ends the session (its file is already saved after every change).
package final class InterruptGate: @unchecked Sendable {
    enum Mode {
        case idle
        /// Readline is waiting; a byte on this pipe wakes it to drop the line.
        case reading(Int32)
        /// A plain reader blocks in fgets: Ctrl-C can only end the session.
        case plainReading
        case running(@Sendable () -> Void)
        /// An observation window: the first Ctrl-C ends the window early (what was gathered is
        /// kept, the closing readings are taken), a second one cancels it.
        case window(stopped: Bool, cancel: @Sendable () -> Void)
    }

    private let lock = NSLock()
    private var mode: Mode = .idle
    private var token: Int?
    /// Set when the current operation was cancelled by Ctrl-C.
    private var cancelledFlag = false
    private let message: @Sendable (String) -> Void

    package init(message: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.message = message
    }

    /// Takes over Ctrl-C for the session's lifetime.
    package func install() {
        Cleanup.shared.installSignalHandlers()
        token = Cleanup.shared.onInterrupt { [weak self] sig in self?.deliver(sig) }
    }

    package func uninstall() {
        if let t = token { Cleanup.shared.removeInterruptHandler(t) }
        token = nil
    }

    func set(_ m: Mode) {
        lock.lock(); defer { lock.unlock() }
        mode = m
        switch m {
        case .running, .window: cancelledFlag = false
        default: break
        }
    }

    package func idle() { set(.idle) }

    /// Whether Ctrl-C cancelled the operation that just ran.
    package var cancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelledFlag
    }

    /// Runs `work` as a task that Ctrl-C cancels; returns its result and whether it was cancelled.
    /// `started` runs once Ctrl-C is routed to the task (so a message printed there is a promise kept).
    package func cancellable<T: Sendable>(started: () -> Void = {}, _ work: @escaping @Sendable () async -> T) async -> (T, Bool) {
        let task = Task { await work() }
        set(.running({ task.cancel() }))
        started()
        let value = await task.value
        let was = cancelled
        set(.idle)
        return (value, was)
    }

    /// Runs an observation window that Ctrl-C ends early (the work sees `Cleanup.interruptSignal`
    /// and stops waiting) and a second Ctrl-C cancels. Returns the result and whether Ctrl-C came.
    package func stoppable<T: Sendable>(started: () -> Void = {}, _ work: @escaping @Sendable () async -> T) async -> (T, Bool) {
        let task = Task { await work() }
        set(.window(stopped: false, cancel: { task.cancel() }))
        started()
        let value = await task.value
        let was = cancelled
        set(.idle)
        // The early stop must not leak into the next command: its checks would be cut short.
        Cleanup.shared.clearInterrupt()
        return (value, was)
    }

    func deliver(_ sig: Int32) {
        // The session survives every Ctrl-C: none counts as the "second signal" that quits a check.
        if sig == SIGINT { Cleanup.shared.clearInterrupt() }
        lock.lock()
        let m = mode
        if sig == SIGINT {
            switch m {
            case .running: cancelledFlag = true
            case .window(false, let cancel):
                cancelledFlag = true
                mode = .window(stopped: true, cancel: cancel)
            default: break
            }
        }
        lock.unlock()
        if sig != SIGINT {
            if case .running(let cancel) = m { cancel() }
            if case .window(_, let cancel) = m { cancel() }
            message("\nrstdoctor: stopped by signal \(sig); the session is saved — `rstdoctor diagnose --resume` continues it\n")
            Cleanup.shared.runAll()
            exit(128 + sig)
        }
        switch m {
        case .running(let cancel):
            message("\n(cancelling…)\n")
            cancel()
        case .window(false, _):
            message("\n(stopping the window early: taking the closing readings and keeping what was seen; Ctrl-C again cancels it)\n")
            Cleanup.shared.stopEarly(sig)
        case .window(true, let cancel):
            message("\n(cancelling…)\n")
            cancel()
        case .reading(let fd):
            var b: UInt8 = 1
            _ = Glibc.write(fd, &b, 1)
        case .plainReading:
            message("\ninterrupted; the session is saved — `rstdoctor diagnose --resume` continues it\n")
            Cleanup.shared.runAll()
            exit(128 + sig)
        case .idle:
            break
        }
    }
}
