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

/// Evidence a hook brings into a session: check records (capture, kernel-trace…) and facts.
package struct SessionEvidence: Sendable {
    package var records: [CheckRecord]
    package var facts: [Fact]
    /// One or two lines saying what was seen (e.g. "412 packets, 3 resets").
    package var summary: String

    package init(records: [CheckRecord] = [], facts: [Fact] = [], summary: String = "") {
        self.records = records
        self.facts = facts
        self.summary = summary
    }
}

/// Entry points other parts of rstdoctor provide to the guided session. The executable fills in
/// what this build has; a nil hook makes its command say "not available in this build".
package struct SessionHooks: Sendable {
    /// `observe <duration>`: counters, kernel RST tracepoints and a capture of the focused traffic
    /// over the window (as `check --observe`). Cancelled (Task cancellation) by Ctrl-C.
    package var observe: (@Sendable (_ seconds: Double, _ options: CollectOptions) async throws -> SessionEvidence)?
    /// `capture <file>`: decode a pcap / pcapng file and classify its resets.
    package var capture: (@Sendable (_ path: String, _ options: CollectOptions) async throws -> SessionEvidence)?
    /// `report [file] [--format F]`: render the diagnosis in any format but text (built in); returns the document.
    package var report: (@Sendable (_ diagnosis: Diagnosis, _ kb: KnowledgeBase, _ format: String) throws -> String)?
    /// The formats `report` accepts; text and json are always there (built in).
    package var reportFormats: [String]
    /// The systemd units of this host, for completing `unit`.
    package var units: (@Sendable () -> [String])?

    package init(observe: (@Sendable (Double, CollectOptions) async throws -> SessionEvidence)? = nil,
                capture: (@Sendable (String, CollectOptions) async throws -> SessionEvidence)? = nil,
                report: (@Sendable (Diagnosis, KnowledgeBase, String) throws -> String)? = nil,
                reportFormats: [String] = ["text", "json"]) {
        self.observe = observe
        self.capture = capture
        self.report = report
        self.reportFormats = reportFormats
    }
}
