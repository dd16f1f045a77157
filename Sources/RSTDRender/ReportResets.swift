import Foundation
import RSTDInfer
import RSTDCore

/// The resets of a report in groups before the list (issue 15, "groups before lists"): one row per
/// host, source, direction, sender, receiver, service port, class or kernel reason and cause, with the
/// rules that fired for that cause on that host as its "why".
extension Report {
    package struct ResetGroup: Sendable {
        package var host: String
        package var source: String
        package var direction: String
        package var from: String
        package var to: String
        /// The service side's port (`ResetView.servicePort`).
        package var port: Int?
        /// The capture's class, or the kernel's reason.
        package var label: String
        package var cause: String
        package var count = 0
        package var first: Double?
        package var last: Double?
        /// The wire's own explanation, when every reset of the group gives the same one.
        package var explain: String?
    }

    /// The groups, largest first (then in time order); at most `limit`.
    package func resetGroups(limit: Int = 200) -> [ResetGroup] {
        var out: [ResetGroup] = []
        var index: [String: Int] = [:]
        for (host, r) in resets {
            let port = ResetView.servicePort(r, focus: hosts.first { $0.label == host }?.port)
            let label = ResetView.string(r, "class") ?? ResetView.string(r, "reason") ?? ""
            let g = ResetGroup(host: host, source: ResetView.source(r), direction: ResetView.direction(r),
                               from: ResetView.string(r, "src") ?? "", to: ResetView.string(r, "dst") ?? "", port: port,
                               label: label, cause: ResetView.cause(r))
            let key = [g.host, g.source, g.direction, g.from, g.to, port.map(String.init) ?? "", g.label, g.cause]
                .joined(separator: "\u{1F}")
            let i = index[key] ?? { out.append(g); index[key] = out.count - 1; return out.count - 1 }()
            let explain = ResetView.explain(r)
            out[i].explain = out[i].count == 0 ? explain : (out[i].explain == explain ? explain : "")
            out[i].count += 1
            if let t = ResetView.time(r) {
                out[i].first = min(out[i].first ?? t, t)
                out[i].last = max(out[i].last ?? t, t)
            }
        }
        let order = out.enumerated().sorted { a, b in
            a.element.count != b.element.count ? a.element.count > b.element.count : a.offset < b.offset
        }
        return order.prefix(limit).map(\.element)
    }

    /// Why a group's resets point to their cause: the wire's own reading, then the rules that fired
    /// for the cause on that host (rule id, weight, explanation with the values filled in).
    package func why(_ g: ResetGroup) -> (wire: String?, rules: [HostReport.EvidenceItem]) {
        let host = hosts.first { $0.label == g.host }
        let rules = host?.cause(g.cause)?.forEvidence.filter { $0.weight > 0 } ?? []
        return ((g.explain?.isEmpty ?? true) ? nil : g.explain, Array(rules.prefix(3)))
    }

    /// The time span of a group: one time, or first – last.
    package static func span(_ g: ResetGroup) -> String {
        guard let a = g.first else { return "" }
        let first = ResetView.timeText(["time": .double(a)])
        guard let b = g.last, b - a >= 0.001 else { return first }
        let last = ResetView.timeText(["time": .double(b)])
        // Same day: the second time without its date.
        let sameDay = first.count > 11 && last.count > 11 && first.prefix(11) == last.prefix(11)
        return first + " – " + (sameDay ? String(last.dropFirst(11)) : last)
    }

    /// Whether any reset carries the wire's explanation: the list's "Why" column only then.
    package var resetsExplained: Bool { resets.contains { !ResetView.explain($0.record).isEmpty } }

    /// The remedies to show for a cause (or, `in: \.findings`, a finding): the concrete ones (this run's
    /// port, peer and process filled in, from check JSON) of the host where it is most likely, else
    /// causes.yaml's.
    package func remedies(_ id: String, in list: HostReport.List = \.causes) -> [HostReport.RemedyItem] {
        let best = hosts.compactMap { $0.item(id, in: list) }.max { $0.probability < $1.probability }
        if let concrete = best?.remedies, !concrete.isEmpty { return concrete }
        return (context.remedies[id] ?? []).map { HostReport.RemedyItem(text: $0.text, change: $0.change, verify: $0.verify) }
    }
}
