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
        if case .running = m { cancelledFlag = false }
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

    func deliver(_ sig: Int32) {
        // The session survives every Ctrl-C: none counts as the "second signal" that quits a check.
        if sig == SIGINT { Cleanup.shared.clearInterrupt() }
        lock.lock()
        let m = mode
        if sig == SIGINT, case .running = m { cancelledFlag = true }
        lock.unlock()
        if sig != SIGINT {
            if case .running(let cancel) = m { cancel() }
            message("\nrstdoctor: stopped by signal \(sig); the session is saved — `rstdoctor diagnose --resume` continues it\n")
            Cleanup.shared.runAll()
            exit(128 + sig)
        }
        switch m {
        case .running(let cancel):
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
