import Foundation
import RSTDCore

/// Everything rstdoctor creates on the host (tracefs instance, capture handle, child process,
/// temporary file) registers its undo here, so that a normal end, an error, SIGINT and SIGTERM
/// all remove it. Signal handlers only set a flag and wake a dispatch source; the undo runs on a
/// normal thread.
package final class Cleanup: @unchecked Sendable {
    package static let shared = Cleanup()

    private let lock = NSLock()
    private var actions: [Int: @Sendable () -> Void] = [:]
    private var next = 0
    private var sources: [DispatchSourceSignal] = []
    private var interruptHandlers: [Int: @Sendable (Int32) -> Void] = [:]
    private var firstInterrupt: Int32?
    /// A stop asked for by a caller that handles Ctrl-C itself (`stopEarly`): long operations end
    /// early as for an interrupt, but a later signal does not count as the second one.
    private var requestedStop: Int32?

    /// The signal (SIGINT, SIGTERM) that asked a long operation to stop early, if one came.
    package var interruptSignal: Int32? {
        lock.lock(); defer { lock.unlock() }
        return firstInterrupt ?? requestedStop
    }

    /// Forgets the last interrupt, for a caller that handles every Ctrl-C itself (the REPL cancels the
    /// running command and goes on; a later Ctrl-C must not count as a second one).
    package func clearInterrupt() {
        lock.lock(); defer { lock.unlock() }
        firstInterrupt = nil
        requestedStop = nil
    }

    /// Ends the running observation window early, as a first interrupt would (its closing readings
    /// are still taken), without arming the "second signal quits" path: the guided session's Ctrl-C
    /// during `observe`. `clearInterrupt` ends it.
    package func stopEarly(_ sig: Int32 = SIGINT) {
        lock.lock(); defer { lock.unlock() }
        requestedStop = sig
    }

    /// Sleeps for `seconds`, or less when SIGINT/SIGTERM asks to stop early (an observation window
    /// cut short still yields what it saw).
    package func sleep(seconds: Double) async {
        let end = Date().addingTimeInterval(seconds)
        while interruptSignal == nil, !Task.isCancelled {
            let left = end.timeIntervalSinceNow
            if left <= 0 { return }
            try? await Task.sleep(nanoseconds: UInt64(min(left, 0.05) * 1e9))
        }
    }

    /// Registers an undo action; call `remove` with the token once it has been undone normally.
    @discardableResult
    package func add(_ action: @escaping @Sendable () -> Void) -> Int {
        lock.lock(); defer { lock.unlock() }
        next += 1
        actions[next] = action
        return next
    }

    /// Runs and forgets one undo action (no-op if it already ran).
    package func run(_ token: Int) {
        lock.lock()
        let action = actions.removeValue(forKey: token)
        lock.unlock()
        action?()
    }

    package func remove(_ token: Int) {
        lock.lock(); defer { lock.unlock() }
        actions.removeValue(forKey: token)
    }

    /// Runs every pending undo action, newest first.
    package func runAll() {
        lock.lock()
        let pending = actions.sorted { $0.key > $1.key }.map(\.value)
        actions.removeAll()
        lock.unlock()
        for a in pending { a() }
    }

    /// While a long operation runs (check, watch, live capture, observe), the first SIGINT/SIGTERM
    /// calls `handler` instead of killing the process, so it can stop and print partial results.
    /// Without a handler, or at the second signal (a user pressing Ctrl-C again), the process kills
    /// its children, runs every undo action and exits with 128+signal.
    package func onInterrupt(_ handler: @escaping @Sendable (Int32) -> Void) -> Int {
        lock.lock(); defer { lock.unlock() }
        next += 1
        interruptHandlers[next] = handler
        return next
    }

    package func removeInterruptHandler(_ token: Int) {
        lock.lock(); defer { lock.unlock() }
        interruptHandlers.removeValue(forKey: token)
    }

    /// Installs the SIGINT / SIGTERM handling once per process.
    package func installSignalHandlers() {
        lock.lock(); defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [weak self] in self?.deliver(sig) }
            src.resume()
            sources.append(src)
        }
    }

    private func deliver(_ sig: Int32) {
        lock.lock()
        let handlers = Array(interruptHandlers.values)
        let again = firstInterrupt != nil
        if firstInterrupt == nil { firstInterrupt = sig }
        lock.unlock()
        if handlers.isEmpty || sig == SIGHUP || again {
            Self.killChildren()
            runAll()
            exit(128 + sig)
        }
        for h in handlers { h(sig) }
    }

    /// SIGINT, SIGTERM, SIGHUP or "signal N".
    package static func signalName(_ sig: Int32) -> String {
        switch sig {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(sig)"
        }
    }

    /// Kills the process group of every child still running (each command runs in a group of its own,
    /// see CommandRunner), so nothing rstdoctor started outlives it. Children are read from
    /// /proc/self/task/*/children.
    static func killChildren() {
        let fm = FileManager.default
        let tasks = (try? fm.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for t in tasks {
            guard let text = try? String(contentsOfFile: "/proc/self/task/\(t)/children", encoding: .utf8) else { continue }
            for word in text.split(separator: " ") {
                guard let pid = Int32(word.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { continue }
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
        }
    }
}
