import Foundation
import RSTDCore

/// A flag one thread sets and others read: "stop now" for a loop running elsewhere.
package final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    package init() {}
    package func set() { lock.lock(); value = true; lock.unlock() }
    package var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
