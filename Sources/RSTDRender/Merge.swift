import Foundation
import RSTDInfer
import RSTDCore

/// `rstdoctor report --merge a.json b.json …`: check JSON of several hosts read back and lined up
/// (client and server of one connection, or a fleet).
package enum Merge {
    /// The schema of `report --merge --format json`.
    package static let schema = "rstdoctor.merge/1"
    /// The largest check JSON file `report --merge` reads.
    package static let maxFileBytes: Int64 = 256 << 20

    /// One host's result: what reports render, and the JSON as it was read (for the merged JSON).
    package struct Input: Sendable {
        package var report: HostReport
        package var json: JSON
    }

    /// Parses check JSON bytes; `origin` names them in errors and in the report.
    package static func parse(_ data: Data, origin: String) throws(ValidationError) -> Input {
        let p = Sanitize.line(origin)
        let json: JSON
        do { json = try JSONDecoder().decode(JSON.self, from: data) } catch {
            throw ValidationError("\(p) is not valid JSON: give the output of `rstdoctor check --format json` (or `report --format json`)")
        }
        do {
            var r = try HostReport(json: json)
            r.origin = origin
            return Input(report: r, json: json)
        } catch {
            throw ValidationError("\(p): \(error.message)")
        }
    }

    /// The hosts, with names that tell them apart (the file name is added where two would read the same).
    package static func hosts(_ inputs: [Input]) -> [HostReport] {
        var hosts = inputs.map(\.report)
        let labels = hosts.map(\.label)
        for i in hosts.indices where labels.filter({ $0 == labels[i] }).count > 1 {
            let file = (hosts[i].origin as NSString).lastPathComponent
            hosts[i].name = "\(labels[i]) [\(file.isEmpty ? "#\(i + 1)" : file)]"
        }
        // Still equal (same file name twice): number them.
        let again = hosts.map(\.label)
        for i in hosts.indices where again.filter({ $0 == again[i] }).count > 1 { hosts[i].name = "\(again[i]) #\(i + 1)" }
        return hosts
    }

    /// `report --merge --format json`: each host's check JSON as read, plus the causes lined up.
    package static func json(_ inputs: [Input]) -> JSON {
        let hs = hosts(inputs)
        let r = Report(hosts: hs, context: ReportContext())
        let causes: [JSON] = r.allCauses.map { id in
            .object([
                ("id", .string(id)),
                ("title", .string(r.title(id))),
                ("max_probability", .double((r.maxProbability(id) * 1000).rounded() / 1000)),
                ("probability", .object(hs.map { h in (h.label, h.cause(id).map { .double(($0.probability * 1000).rounded() / 1000) } ?? .null) })),
            ])
        }
        // Findings (causes that make no RST) lined up the same way; an old file's are moved there when read.
        let findings: [JSON] = r.allFindings.map { id in
            .object([
                ("id", .string(id)),
                ("title", .string(r.title(id, in: \.findings))),
                ("max_probability", .double((r.maxProbability(id, in: \.findings) * 1000).rounded() / 1000)),
                ("probability", .object(hs.map { h in
                    (h.label, h.finding(id).map { .double(($0.probability * 1000).rounded() / 1000) } ?? .null)
                })),
            ])
        }
        return .object([
            ("schema", .string(schema)),
            ("hosts", .array(zip(hs, inputs).map { h, i in .object([("name", .string(h.label)), ("file", .string(h.origin)), ("result", i.json)]) })),
            ("causes", .array(causes)),
            ("findings", .array(findings)),
        ])
    }

}
