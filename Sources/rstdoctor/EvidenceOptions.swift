import ArgumentParser
import Foundation
import RSTDInteractive
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDParse
import RSTDSystem
import RSTDData
import RSTDCore

/// The options that choose what evidence a diagnosis uses; shared by check, report and diagnose.
struct EvidenceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Focus on one service: its listener, queues, firewall rules and connections (a number or an "
        + "/etc/services name).", valueName: "PORT"))
    var port: PortArgument?

    @Option(help: ArgumentHelp("Focus on one remote host (numeric IPv4 or IPv6 address).", valueName: "ADDR"))
    var peer: String?

    @Option(help: ArgumentHelp("Run every check inside this network namespace (see `ip netns list`).", valueName: "NAME"),
            completion: .custom { _, _, _ in Completions.namespaces() })
    var netns: String?

    @Option(help: ArgumentHelp("Run every check inside the network namespace of this process (a container or pod).", valueName: "PID"))
    var pid: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Counter window: counters are read at its start and end (default "
        + "1s).", valueName: "DURATION"))
    var sample: DurationArgument?

    @Option(name: .customLong("answer"), help: ArgumentHelp("What only you know, as QUESTION=ANSWER "
        + "(see `rstdoctor knowledge list questions`).", valueName: "KEY=VALUE"),
            completion: .custom { _, _, _ in Completions.answers() })
    var answers: [String] = []

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Run only these checks or steps (ids).", valueName: "ID"),
            completion: .custom { _, _, _ in Completions.checksAndSteps() })
    var only: [String] = []

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Skip these checks or steps (ids).", valueName: "ID"),
            completion: .custom { _, _, _ in Completions.checksAndSteps() })
    var skip: [String] = []

    @Option(name: .customLong("log"), help: ArgumentHelp("An application log to search for reset errors (repeatable).", valueName: "PATH"),
            completion: .file())
    var logs: [String] = []

    @Option(name: .customLong("unit"), help: ArgumentHelp("A systemd unit whose journal to search for reset errors "
        + "(repeatable).", valueName: "NAME"))
    var units: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("The period asked about: log lines (--log, --unit) and kernel messages older "
        + "than this do not count (default 1h).", valueName: "DURATION"))
    var since: DurationArgument?

    @Option(help: ArgumentHelp("Diagnose a bundle saved by `rstdoctor collect` instead of this host.", valueName: "DIR"),
            completion: .directory)
    var from: String?

    @Option(help: ArgumentHelp("Classify the RSTs of a saved capture (pcap or pcapng) together with the host's "
        + "evidence.", valueName: "FILE"),
            completion: .file(extensions: ["pcap", "pcapng", "cap"]))
    var pcap: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Watch live for this long: capture of the focused traffic, kernel RST "
        + "tracepoints and counters (root).", valueName: "DURATION"))
    var observe: DurationArgument?

    /// Validates every value and builds the request.
    func request(kb: KnowledgeBase) throws -> DiagnosisRequest {
        var r = DiagnosisRequest()
        var o = CollectOptions()
        if let p = port { o.port = p.number }
        if let p = peer { o.peer = try Validate.address(p) }
        if let target = try namespaceTarget(netns: netns, pid: pid) { o.target = target }
        o.window = try sample?.checked("--sample", min: 0.05, max: 600) ?? 1
        let known = Set(kb.checks.map(\.id) + kb.steps.map(\.id))
        for id in only + skip where !known.contains(id) {
            let near = DidYouMean.hint(id, in: Array(known))
            throw Failure.usage("'\(Sanitize.terminal(id))' is neither a check nor a step id.\(near) "
                + "See `rstdoctor knowledge list checks` and `rstdoctor knowledge list steps`.")
        }
        o.only = Set(only)
        o.skip = Set(skip)
        o.logs = try logs.map { try Validate.path($0) }
        for l in o.logs where !FileManager.default.isReadableFile(atPath: l) {
            let missing = !FileManager.default.fileExists(atPath: l)
            throw Failure.couldNotRun("cannot read the log \(Sanitize.terminal(l)): "
                + "\(missing ? "there is no such file" : "permission denied"). "
                + "Give the application's log file (--log PATH, repeatable) or its systemd unit (--unit "
                    + "NAME)\(missing ? "" : ", or run with sudo").")
        }
        o.units = try units.map { try Validate.unit($0) }
        o.since = try since?.checked("--since", min: 1, max: 366 * 86400) ?? 3600
        r.collect = o
        for a in answers {
            let (k, v) = try DiagnosisRequest.parseAnswer(a, kb: kb)
            r.answers[k] = v
        }
        if let p = pcap {
            let path = try Validate.path(p)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw Failure.usage("cannot read the capture \(Sanitize.terminal(path)): check the path and its permissions")
            }
            // Read now: a file that is not a capture, whose link type cannot be decoded or that is
            // cut short ends the run (exit 3) before anything is collected.
            let result = Observation.pcap(path, catalog: kb.catalog, options: o)
            if let problem = result.problem { throw Failure.couldNotRun(problem) }
            r.extraRecords += result.records
            r.extraFacts += result.facts
        }
        if let d = observe {
            r.observe = try d.checked("--observe", min: 1, max: 3600)
            if from != nil { throw Failure.usage("--observe watches this host live; --from reads a saved bundle: give one or the other") }
        }
        if let f = from {
            r.bundle = try Validate.path(f)
            if netns != nil || pid != nil { throw Failure.usage("--from reads a saved bundle; --netns/--pid choose a live namespace: "
                + "give one or the other") }
        }
        return r
    }
}

/// `--netns NAME` or `--pid PID` (not both), validated and checked to exist: the namespace a command
/// reads or records in; nil for the host's own.
func namespaceTarget(netns: String?, pid: String?) throws -> NamespaceTarget? {
    if netns != nil && pid != nil { throw Failure.usage("--netns and --pid both choose a namespace: give one of them") }
    if let n = netns {
        let name = try Validate.netnsName(n)
        guard FileManager.default.fileExists(atPath: "/run/netns/\(name)") else {
            throw Failure.usage("there is no network namespace '\(name)' (/run/netns/\(name) is missing): see `ip netns list`")
        }
        return .named(name)
    }
    if let p = pid {
        let n = try Validate.pid(p)
        guard FileManager.default.fileExists(atPath: "/proc/\(n)/ns/net") else {
            throw Failure.usage("there is no process \(n) (or its namespace is not visible): check the PID with `ps -p \(n)`")
        }
        return .pid(n)
    }
    return nil
}
