import Foundation
import RSTDCore

/// What collection needs from the knowledge files: the check definitions and the files themselves
/// (capture classes, trace reasons). RSTDCollect sees this, never the rules.
package struct CheckCatalog: Sendable {
    package var checks: [CheckDefinition]
    package var files: KnowledgeFiles

    package init(checks: [CheckDefinition], files: KnowledgeFiles) {
        self.checks = checks
        self.files = files
    }

    package func check(_ id: String) -> CheckDefinition? { checks.first { $0.id == id } }
}
