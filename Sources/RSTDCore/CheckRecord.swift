import Foundation

/// The status of a check in a diagnosis.
package enum CheckStatus: String, Sendable, Codable {
    case ok, finding, skipped, failed
}

/// What running one check produced: its raw outputs (one per sample), or why it has none.
package struct CheckRecord: Sendable, Codable {
    package var id: String
    package var status: CheckStatus
    package var reason: String
    package var fix: String?
    package var durationMs: Int
    /// One RawOutput per reading: two for counter checks (start and end of the window).
    package var samples: [RawOutput]
    package var window: Double?

    package init(id: String, status: CheckStatus, reason: String = "", fix: String? = nil, durationMs: Int = 0, samples: [RawOutput] = [], window: Double? = nil) {
        self.id = id
        self.status = status
        self.reason = reason
        self.fix = fix
        self.durationMs = durationMs
        self.samples = samples
        self.window = window
    }
}
