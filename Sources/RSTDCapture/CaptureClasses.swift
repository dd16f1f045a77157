import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// The classes the RST classifier can assign; their meaning lives in knowledge/capture-classes.yaml.
package enum RSTClass: String, Sendable, CaseIterable, Codable {
    case synAnswer = "syn-answer"
    case challengeAckAnswer = "challenge-ack-answer"
    case afterHandshake = "after-handshake"
    case ownSynAbort = "own-syn-abort"
    case afterOwnFin = "after-own-fin"
    case statelessUnknownFlow = "stateless-unknown-flow"
    case intoTimeWait = "into-time-wait"
    case oldDuplicateAck = "old-duplicate-ack"
    case afterIdle = "after-idle"
    case injectedTTL = "injected-ttl"
    case injectedContinued = "injected-endpoint-continued"
    case injectedFlowLabel = "injected-flowlabel"
    case injectedMAC = "injected-mac"
    case untranslatedAnswer = "untranslated-answer"
    case afterUntranslatedReset = "after-untranslated-reset"
    case beyondWindowAnswer = "beyond-window-answer"
    case routerBuilt = "router-built"
    case abortWithUnread = "abort-with-unread"
    case abortWithData = "abort-with-data"
    case abort = "abort"
    case afterReset = "after-reset"
    case midStream = "mid-stream"
    case withPayloadText = "with-payload-text"
    case noContext = "no-context"

    /// The class's place in `allCases` (arrays of per-class counters and infos; no hashing of the name).
    package var index: Int {
        switch self {
        case .synAnswer: 0
        case .challengeAckAnswer: 1
        case .afterHandshake: 2
        case .ownSynAbort: 3
        case .afterOwnFin: 4
        case .statelessUnknownFlow: 5
        case .intoTimeWait: 6
        case .oldDuplicateAck: 7
        case .afterIdle: 8
        case .injectedTTL: 9
        case .injectedContinued: 10
        case .injectedFlowLabel: 11
        case .injectedMAC: 12
        case .untranslatedAnswer: 13
        case .afterUntranslatedReset: 14
        case .beyondWindowAnswer: 15
        case .routerBuilt: 16
        case .abortWithUnread: 17
        case .abortWithData: 18
        case .abort: 19
        case .afterReset: 20
        case .midStream: 21
        case .withPayloadText: 22
        case .noContext: 23
        }
    }
}

/// The cause ids of the knowledge base (a public interface: JSON, metrics, scripts).
package enum CauseIDs {
    package static let all: Set<String> = [
        "no-listener", "syn-conflict", "accept-queue-overflow", "half-open-after-restart", "firewall-reset",
        "time-wait-assassination", "application-abort", "idle-timeout", "unread-data-close", "duplicate-ip",
        "conntrack-invalid", "conntrack-table-full", "orphan-memory-pressure", "syn-flood", "paws-timestamps",
    ]
}

/// What one RST class means: the cause it points to, a title, and the explanation template.
package struct CaptureClassInfo: Sendable, Hashable {
    package var id: RSTClass
    package let cause: String?
    /// Other causes the wire cannot tell apart from `cause` for this class (the explanation names them).
    package let also: [String]
    package var title: String
    /// The explanation template, compiled (`explain` is its text).
    package var template: ExplainTemplate
    package var explain: String { template.text }
    /// `cause` then `also`, as records list them.
    package let causes: [String]

    init(id: RSTClass, cause: String?, also: [String] = [], title: String, template: ExplainTemplate) {
        self.id = id
        self.cause = cause
        self.also = also
        self.title = title
        self.template = template
        causes = (cause.map { [$0] } ?? []) + also
    }
}

/// knowledge/capture-classes.yaml, loaded and checked: every class the classifier uses is defined
/// once, every cause is a known cause id, every placeholder is one the classifier fills.
package struct CaptureClasses: Sendable {
    package private(set) var byClass: [RSTClass: CaptureClassInfo]
    /// The same, by `RSTClass.index` (looked up for every RST).
    private var infos: [CaptureClassInfo]

    init(byClass: [RSTClass: CaptureClassInfo]) {
        self.byClass = byClass
        infos = RSTClass.allCases.map { c in
            byClass[c] ?? CaptureClassInfo(id: c, cause: nil, title: c.rawValue, template: ExplainTemplate(""))
        }
    }

    package static let file = "knowledge/capture-classes.yaml"

    /// The placeholders `CaptureAnalyzer` fills in explanations.
    package static let placeholders = Set(ExplainTemplate.Slot.allCases.map(\.rawValue))

    package subscript(c: RSTClass) -> CaptureClassInfo { infos[c.index] }

    /// Parses the YAML text of capture-classes.yaml.
    package static func load(yaml text: String, file: String = CaptureClasses.file) throws(KnowledgeProblem) -> CaptureClasses {
        let doc = try YNode.load(text, file: file)
        try doc.allowOnly(["classes"])
        guard let list = doc["classes"]?.sequence else { throw doc.problem("`classes` must be a list") }
        var out: [RSTClass: CaptureClassInfo] = [:]
        for item in list {
            try item.allowOnly(["id", "cause", "also", "title", "explain"])
            let idText = try item.string("id")
            guard let id = RSTClass(rawValue: idText) else {
                throw item.problem("unknown class `\(idText)` (the classifier knows: \(RSTClass.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard out[id] == nil else { throw item.problem("class `\(idText)` is defined twice") }
            let cause = try item.optionalString("cause")
            if let cause, !CauseIDs.all.contains(cause) {
                throw item["cause"]?.problem("`\(cause)` is not a cause id (known: \(CauseIDs.all.sorted().joined(separator: ", ")))")
                    ?? item.problem("bad cause")
            }
            var also: [String] = []
            if let node = item["also"] {
                guard let list = node.sequence else { throw node.problem("`also` must be a list of cause ids") }
                for a in list {
                    guard let id = a.scalar, CauseIDs.all.contains(id), id != cause, !also.contains(id) else {
                        throw a.problem("`also` lists cause ids other than `cause`, each once (known: \(CauseIDs.all.sorted().joined(separator: ", ")))")
                    }
                    also.append(id)
                }
                if cause == nil, !also.isEmpty { throw node.problem("`also` needs a `cause` to be an alternative to") }
            }
            let explain = try item.string("explain")
            for name in Self.names(in: explain) where !placeholders.contains(name) {
                throw item["explain"]?.problem("unknown placeholder {\(name)} (known: \(placeholders.sorted().joined(separator: ", ")))")
                    ?? item.problem("bad placeholder")
            }
            out[id] = CaptureClassInfo(
                id: id, cause: cause, also: also, title: try item.string("title"), template: ExplainTemplate(explain))
        }
        for c in RSTClass.allCases where out[c] == nil {
            throw doc.problem("class `\(c.rawValue)` is used by the classifier but not defined")
        }
        return CaptureClasses(byClass: out)
    }

    /// Reads the file at `path`.
    package static func load(path: String) throws(KnowledgeProblem) -> CaptureClasses {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw KnowledgeProblem(file: path, line: 1, "cannot read the file (missing or not UTF-8)")
        }
        return try load(yaml: text, file: path)
    }

    /// The copy embedded in the binary at build time (make embed).
    package static func embedded() throws(KnowledgeProblem) -> CaptureClasses {
        guard let text = KnowledgeFiles.embeddedFile(file) else {
            throw KnowledgeProblem(file: file, line: 1, "not embedded in this build: rebuild, or give the file with --classes")
        }
        return try load(yaml: text, file: file)
    }

    /// `{name}` placeholders in a template.
    static func names(in template: String) -> [String] { placeholders(in: template).map(\.name) }

    /// Fills `{name}` placeholders; unknown names are left as they are.
    package static func render(_ template: String, _ values: [String: String]) -> String {
        render(template) { values[$0] }
    }

    /// Fills `{name}` placeholders with what `value` returns; names it returns nil for are left as they are.
    package static func render(_ template: String, value: (String) -> String?) -> String {
        var out = ""
        out.reserveCapacity(template.utf8.count + 96)
        var literal = template.startIndex
        for p in placeholders(in: template) {
            out += template[literal..<p.range.lowerBound]
            out += value(p.name) ?? String(template[p.range])
            literal = p.range.upperBound
        }
        out += template[literal...]
        return out
    }

    /// The `{name}` placeholders of a template (braces included in `range`), scanning bytes: a name
    /// holds no brace, and a `{` with no `}` before the next `{` or the end stays text. The one scan
    /// behind `render` and ExplainTemplate's compiled pieces.
    static func placeholders(in template: String) -> [(range: Range<String.Index>, name: String)] {
        let u = template.utf8
        var out: [(range: Range<String.Index>, name: String)] = []
        var i = u.startIndex
        while i != u.endIndex {
            guard u[i] == UInt8(ascii: "{") else { i = u.index(after: i); continue }
            var j = u.index(after: i)
            while j != u.endIndex, u[j] != UInt8(ascii: "}"), u[j] != UInt8(ascii: "{") { j = u.index(after: j) }
            guard j != u.endIndex, u[j] == UInt8(ascii: "}") else { i = j; continue }
            let end = u.index(after: j)
            out.append((i..<end, String(template[u.index(after: i)..<j])))
            i = end
        }
        return out
    }
}
