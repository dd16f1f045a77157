import Foundation
import RSTDInfer
import RSTDCore

/// Reading `causes[]` and `findings[]` of check JSON into the report's items.
extension HostReport {
    /// The causes of resets and the findings, each sorted by probability (highest first). A /1 or /2
    /// file lists its findings among the causes: those (CheckJSON.legacyFindings) are moved, so an old
    /// file's syn-flood never reads as a cause of resets.
    static func causeItems(_ j: JSON, schema: String) -> (causes: [CauseItem], findings: [CauseItem]) {
        var causes = (j["causes"]?.arrayValue ?? []).prefix(10_000).map(causeItem)
        var findings = (j["findings"]?.arrayValue ?? []).prefix(10_000).map(causeItem)
        if schema != CheckJSON.schema {
            findings += causes.filter { CheckJSON.legacyFindings.contains($0.id) }
            causes.removeAll { CheckJSON.legacyFindings.contains($0.id) }
        }
        let order: (CauseItem, CauseItem) -> Bool = {
            $0.probability != $1.probability ? $0.probability > $1.probability : $0.id < $1.id
        }
        return (causes.sorted(by: order), findings.sorted(by: order))
    }

    static func causeItem(_ c: JSON) -> CauseItem {
        let reasons = c["unknown_reasons"]
        let unknown = (c["unknown"]?.arrayValue ?? []).compactMap(\.stringValue).map {
            (key: $0, reason: reasons?[$0]?.stringValue ?? "")
        }
        return CauseItem(id: c["id"]?.stringValue ?? "?", title: c["title"]?.stringValue ?? "",
                         probability: min(1, max(0, c["probability"]?.doubleValue ?? 0)),
                         forEvidence: (c["for"]?.arrayValue ?? []).map(evidenceItem),
                         against: (c["against"]?.arrayValue ?? []).map(evidenceItem), unknown: unknown,
                         remedies: (c["remedies"]?.arrayValue ?? []).map { r in
                             RemedyItem(text: r["text"]?.stringValue ?? "", change: r["change"]?.stringValue,
                                        verify: r["verify"]?.stringValue)
                         })
    }

    static func evidenceItem(_ e: JSON) -> EvidenceItem {
        let facts = e["facts"]?.objectValue ?? []
        let sources = e["sources"]
        return EvidenceItem(rule: e["rule"]?.stringValue ?? "", weight: e["weight"]?.doubleValue ?? 0,
                            explain: e["explain"]?.stringValue ?? "",
                            facts: facts.map { (key: $0.0, value: $0.1.scalarText, source: sources?[$0.0]?.stringValue ?? "") })
    }
}

/// The findings of a report: causes that make no RST, shown apart from the causes of resets.
extension Report {
    /// Every finding id of any host, highest probability (on any host) first.
    package var allFindings: [String] {
        Self.ranked(hosts.map { $0.findings.map(\.id) }) { maxProbability($0, in: \.findings) }
    }

    /// Findings shown: at or above Diagnosis.shown (15 %) on some host, highest first.
    package var shownFindings: [String] { allFindings.filter { maxProbability($0, in: \.findings) >= Diagnosis.shown } }
}
