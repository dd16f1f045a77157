import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

/// A saved collection (`rstdoctor collect -o DIR`): every raw output as a file under raw/, and
/// manifest.json listing the checks, their status and which file holds which output.
/// `rstdoctor check --from DIR` runs the same rules on it, on any machine.
package enum Bundle {
    package static let schema = "rstdoctor.bundle/1"

    struct Manifest: Codable {
        struct Part: Codable {
            var name: String
            var file: String
            var exitCode: Int32?
        }
        struct Check: Codable {
            var id: String
            var status: CheckStatus
            var reason: String
            var fix: String?
            var durationMs: Int
            var window: Double?
            var samples: [[Part]]
        }
        var schema: String
        var host: HostInfo
        var checks: [Check]
        /// `--answer` given to `collect`, and facts from `--observe` / `--pcap` (capture, kernel
        /// trace): `check --from` uses them as the live run did. Absent in older bundles.
        var answers: [String: String]?
        var facts: [StoredFact]?
    }

    /// What a bundle holds.
    package struct Contents: Sendable {
        package var records: [CheckRecord]
        package var host: HostInfo
        package var answers: [String: String]
        package var facts: [Fact]
    }

    /// Writes the bundle into a new temporary directory beside DIR, then renames it into place,
    /// so an interrupted or failed write never leaves a half-written bundle.
    package static func write(_ records: [CheckRecord], host: HostInfo, answers: [String: String] = [:], facts: [Fact] = [],
                              to dir: String) throws(ValidationError) {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir) {
            let contents = (try? fm.contentsOfDirectory(atPath: dir)) ?? ["?"]
            if !contents.isEmpty { throw ValidationError("\(Sanitize.terminal(dir)) already exists and is not empty: choose a new "
                + "directory for -o") }
        }
        let parent = (dir as NSString).deletingLastPathComponent.isEmpty ? "." : (dir as NSString).deletingLastPathComponent
        let tmp = parent + "/.rstdoctor-collect-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let token = Cleanup.shared.add { try? FileManager.default.removeItem(atPath: tmp) }
        defer { Cleanup.shared.run(token) }
        do {
            try fm.createDirectory(atPath: tmp + "/raw", withIntermediateDirectories: true)
            var checks: [Manifest.Check] = []
            for r in records {
                var samples: [[Manifest.Part]] = []
                for (si, s) in r.samples.enumerated() {
                    var parts: [Manifest.Part] = []
                    for (pi, p) in s.parts.enumerated() {
                        let file = "raw/\(r.id)-\(si + 1)-\(pi + 1).txt"
                        try Data(p.text.utf8).write(to: URL(fileURLWithPath: tmp + "/" + file))
                        parts.append(.init(name: p.name, file: file, exitCode: p.exitCode))
                    }
                    samples.append(parts)
                }
                checks.append(.init(id: r.id, status: r.status, reason: r.reason, fix: r.fix, durationMs: r.durationMs, window: r.window, samples: samples))
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            enc.dateEncodingStrategy = .iso8601
            try enc.encode(Manifest(schema: schema, host: host, checks: checks, answers: answers.isEmpty ? nil : answers,
                                    facts: facts.isEmpty ? nil : facts.map(StoredFact.init))).write(to: URL(fileURLWithPath: tmp + "/manifest.json"))
            if fm.fileExists(atPath: dir) { try fm.removeItem(atPath: dir) }
            try fm.moveItem(atPath: tmp, toPath: dir)
        } catch {
            throw ValidationError("could not write the bundle to \(Sanitize.terminal(dir)): \(error.localizedDescription) — check the "
                + "path, free space and permissions")
        }
    }

    /// Reads a bundle back into check records. Paths inside the manifest must stay inside DIR.
    package static func read(_ dir: String) throws(ValidationError) -> ([CheckRecord], HostInfo) {
        let c = try contents(dir)
        return (c.records, c.host)
    }

    /// Reads everything a bundle holds: records, the host (with the focus it was collected for),
    /// answers and observed facts.
    package static func contents(_ dir: String) throws(ValidationError) -> Contents {
        let manifestPath = dir + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw ValidationError("\(Sanitize.terminal(dir)) is not a bundle: no readable manifest.json "
                + "(make one with `rstdoctor collect -o DIR`)")
        }
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let m: Manifest
        do { m = try dec.decode(Manifest.self, from: data) } catch {
            throw ValidationError("\(Sanitize.terminal(manifestPath)) is not a valid rstdoctor manifest: \(error.localizedDescription)")
        }
        guard m.schema == schema else { throw ValidationError("\(Sanitize.terminal(manifestPath)) has schema "
            + "\(Sanitize.terminal(m.schema)); this rstdoctor reads \(schema)") }
        var records: [CheckRecord] = []
        for c in m.checks {
            var samples: [RawOutput] = []
            for s in c.samples {
                var parts: [RawOutput.Part] = []
                for p in s {
                    guard p.file.hasPrefix("raw/"), !p.file.contains(".."), !p.file.contains("\0") else {
                        throw ValidationError("manifest entry \(Sanitize.terminal(p.file)) points outside the bundle's raw/ folder")
                    }
                    guard let d = FileManager.default.contents(atPath: dir + "/" + p.file) else {
                        throw ValidationError("the bundle is incomplete: \(Sanitize.terminal(p.file)) is missing")
                    }
                    parts.append(.init(name: p.name, text: String(decoding: d, as: UTF8.self), exitCode: p.exitCode))
                }
                samples.append(RawOutput(parts: parts))
            }
            records.append(CheckRecord(id: c.id, status: c.status, reason: c.reason, fix: c.fix, durationMs: c.durationMs, samples: samples, window: c.window))
        }
        var host = m.host
        host.source = "bundle \(dir)"
        return Contents(records: records, host: host, answers: m.answers ?? [:], facts: (m.facts ?? []).map(\.fact))
    }
}
