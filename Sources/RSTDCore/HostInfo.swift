import Foundation

/// Who and where a diagnosis is about.
package struct HostInfo: Sendable, Codable {
    package var hostname: String
    package var kernel: String
    package var netns: String
    package var port: Int?
    package var peer: String?
    package var started: Date
    package var window: Double
    package var source: String

    package init(hostname: String, kernel: String, netns: String, port: Int?, peer: String?, started: Date, window: Double, source: String) {
        self.hostname = hostname
        self.kernel = kernel
        self.netns = netns
        self.port = port
        self.peer = peer
        self.started = started
        self.window = window
        self.source = source
    }
}
