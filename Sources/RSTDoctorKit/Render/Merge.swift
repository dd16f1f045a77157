import Foundation

/// `rstdoctor report --merge a.json b.json …`: check JSON of several hosts read back and lined up
/// (client and server of one connection, or a fleet).
public enum Merge {
    /// The schema of `report --merge --format json`.
    public static let schema = "rstdoctor.merge/1"
    static let maxFileBytes: Int64 = 256 << 20

    /// One host's result: what reports render, and the JSON as it was read (for the merged JSON).
    public struct Input: Sendable {
        public var report: HostReport
        public var json: JSON
    }

    /// Reads a check JSON file, size-bounded; errors name the file and say what is wrong with it.
    public static func read(file path: String) throws(ValidationError) -> Input {
        let p = Sanitize.line(path)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw ValidationError("cannot read \(p): no such file, or no permission to read it")
        }
        if let size = attrs[.size] as? NSNumber, size.int64Value > maxFileBytes {
            throw ValidationError("\(p) is \(size.int64Value >> 20) MiB: too large for a check JSON file (at most \(maxFileBytes >> 20) MiB)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(p): it is not a readable file")
        }
        return try parse(data, origin: path)
    }

    /// Parses check JSON bytes; `origin` names them in errors and in the report.
    public static func parse(_ data: Data, origin: String) throws(ValidationError) -> Input {
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
    public static func hosts(_ inputs: [Input]) -> [HostReport] {
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
    public static func json(_ inputs: [Input]) -> JSON {
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
        return .object([
            ("schema", .string(schema)),
            ("hosts", .array(zip(hs, inputs).map { h, i in .object([("name", .string(h.label)), ("file", .string(h.origin)), ("result", i.json)]) })),
            ("causes", .array(causes)),
        ])
    }

}
