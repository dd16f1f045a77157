import ArgumentParser
import Foundation
import RSTDRender
import RSTDKnowledge
import RSTDData
import RSTDCore

/// A duration option (`--sample 500ms`, `--observe 10s`). A leading minus is parsed, so that
/// `--sample -1s` is refused as negative (with `parsing: .unconditional`) instead of being read as an
/// unknown option and leaving `--sample` "without a value".
struct DurationArgument: ExpressibleByArgument, Sendable {
    var text: String
    var seconds: Double

    init?(argument: String) {
        let negative = argument.hasPrefix("-")
        guard let s = Seconds.parse(negative ? String(argument.dropFirst()) : argument) else { return nil }
        text = argument
        seconds = negative ? -s : s
    }

    static var defaultCompletionKind: CompletionKind { .list(["500ms", "1s", "5s", "10s", "30s", "1m"]) }

    /// The value, within bounds, or a message that names the option and says what to write.
    func checked(_ option: String, min: Double, max: Double) throws -> Double {
        if seconds < 0 {
            throw Failure.usage("\(option) \(Sanitize.terminal(text)): a duration cannot be negative; write it like 500ms, 2s or 1m")
        }
        do { return try Validate.duration(text, min: min, max: max) } catch {
            throw Failure.usage("\(option) \(error.message)")
        }
    }
}

/// `--port`: a TCP port number, or a service name from /etc/services (`http`, `postgresql`).
struct PortArgument: ExpressibleByArgument, Sendable {
    var number: UInt16

    init?(argument: String) {
        if let n = UInt16(argument), n > 0 { number = n; return }
        guard let n = Self.service(argument) else { return nil }
        number = n
    }

    static func service(_ name: String) -> UInt16? {
        guard !name.isEmpty, let text = try? String(contentsOfFile: "/etc/services", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2, !f[0].hasPrefix("#"), f[1].hasSuffix("/tcp") else { continue }
            let names = [f[0]] + f.dropFirst(2).prefix { !$0.hasPrefix("#") }
            if names.contains(where: { $0 == name }) { return UInt16(f[1].dropLast(4)) }
        }
        return nil
    }

    static var defaultCompletionKind: CompletionKind { .custom { _, _, _ in Completions.listeningPorts() } }
}

/// `check --format`.
enum CheckFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json, openmetrics
}

extension ReportFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Values the shell completions offer, read from this host and the knowledge base when Tab is pressed.
enum Completions {
    static func knowledge() -> KnowledgeBase? {
        guard let files = try? KnowledgeFiles.resolve(dir: nil) else { return nil }
        return KnowledgeBase.load(files).0
    }

    static func checksAndSteps() -> [String] {
        guard let kb = knowledge() else { return [] }
        return kb.checks.map(\.id) + kb.steps.map(\.id)
    }

    static func answers() -> [String] {
        guard let kb = knowledge() else { return [] }
        return kb.questions.flatMap { q in q.answers.map { "\(q.id)=\($0.id)" } }
    }

    static func causes() -> [String] { knowledge()?.causes.map(\.id) ?? [] }

    static func namespaces() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).sorted()
    }

    static func interfaces() -> [String] {
        (((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []) + ["any"]).sorted()
    }

    /// The interfaces of the namespace the command line names (`--netns NAME`, asked of `ip -n NAME`,
    /// which needs root), else of this one; `any` always.
    static func interfaces(_ words: [String]) -> [String] {
        guard let i = words.lastIndex(where: { $0 == "--netns" }), i + 1 < words.count,
              let name = try? Validate.netnsName(words[i + 1]) else { return interfaces() }
        return (linkNames(ipLink(["-n", name, "-o", "link", "show"])) + ["any"]).sorted()
    }

    /// Interface names from `ip -o link show` lines ("2: eth0@if5: <BROADCAST,…"); the peer after @ dropped.
    static func linkNames(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", maxSplits: 2)
            guard f.count == 3 else { return nil }
            let name = f[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
            return (try? Validate.interface(name)).map { _ in name }
        }
    }

    /// Runs `ip` (argv, no shell) for at most 2 s: completion must not hang the shell.
    static func ipLink(_ args: [String]) -> String {
        let paths = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        guard let ip = paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return "" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let deadline = Date().addingTimeInterval(2)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); return "" }
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Listening TCP ports of this namespace, from /proc/net/tcp and tcp6 (state 0A).
    static func listeningPorts() -> [String] {
        var ports = Set<Int>()
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count > 3, f[3] == "0A", let colon = f[1].lastIndex(of: ":"),
                      let p = Int(f[1][f[1].index(after: colon)...], radix: 16) else { continue }
                ports.insert(p)
            }
        }
        return ports.sorted().map(String.init)
    }
}
