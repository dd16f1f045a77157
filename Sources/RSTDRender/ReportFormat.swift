import Foundation
import RSTDInfer
import RSTDCore

/// The formats of `rstdoctor report`, and one call that renders a diagnosis in any of them
/// (what the REPL's `report` command needs).
package enum ReportFormat: String, Sendable, CaseIterable {
    case markdown, html, json

    /// Accepts the names users type (`md` for markdown).
    package init?(name: String) {
        switch name.lowercased() {
        case "markdown", "md": self = .markdown
        case "html", "htm": self = .html
        case "json": self = .json
        default: return nil
        }
    }

    /// The report of one diagnosis; JSON is exactly `check --format json`.
    package func render(_ d: Diagnosis) -> String {
        switch self {
        case .json: return CheckJSON.render(d).serialized() + "\n"
        case .html: return HTMLReport.render(Report(hosts: [HostReport(d)], context: d.context))
        case .markdown: return MarkdownReport.render(Report(hosts: [HostReport(d)], context: d.context))
        }
    }

    /// The report of saved results (`--merge`, `--session`); JSON of several hosts is rstdoctor.merge/1.
    package func render(_ inputs: [Merge.Input], context: ReportContext) -> String {
        switch self {
        case .json: return (inputs.count == 1 ? inputs[0].json : Merge.json(inputs)).serialized() + "\n"
        case .html: return HTMLReport.render(Report(hosts: Merge.hosts(inputs), context: context))
        case .markdown: return MarkdownReport.render(Report(hosts: Merge.hosts(inputs), context: context))
        }
    }
}
