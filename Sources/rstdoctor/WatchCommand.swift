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

/// `rstdoctor watch`: streams every TCP reset the kernel sends or receives, with its reason.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Stream every TCP reset this host sends or receives, with the kernel's reason and the cause it points to.",
        discussion: """
            Uses the kernel tracepoints tcp:tcp_send_reset and tcp:tcp_receive_reset (reasons need \
            Linux 6.10+) in a tracefs instance of its own, removed on exit. Needs root.
            Exit status: 0 no reset seen, 1 resets seen that point to a cause, 2 usage error, \
            3 could not trace.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(help: "Stop after this many seconds (default: until Ctrl-C).") var seconds: String?
    @Option(help: "Stop after this many resets.") var count: Int?
    @Option(help: "Only resets to or from this TCP port.") var port: String?
    @Option(help: "Only resets to or from this peer address.") var peer: String?
    @Option(help: "Only resets of this network namespace (by its addresses).") var netns: String?
    @Option(help: "Output format: text or json (JSON Lines).") var format: Format = .text
    @Option(help: .hidden) var tracefs: String = TracefsInstance.defaultRoot

    func run() async throws {
        var filter = TraceFilter()
        var duration: Double?
        do {
            if let s = seconds { duration = try Validate.duration(s, min: 0.1, max: 7 * 86400) }
            if let p = port { filter.port = Int(try Validate.port(p)) }
            if let a = peer { filter.peer = try Validate.address(a) }
            if let n = netns { _ = try Validate.netnsName(n) }
            if let c = count, c < 1 { throw RSTDCore.ValidationError("--count must be 1 or more") }
        } catch {
            FileHandle.standardError.write(Data("rstdoctor watch: \(error)\n".utf8))
            throw ExitCode(2)
        }

        func fail(_ p: TraceUnavailable) -> ExitCode {
            FileHandle.standardError.write(Data("rstdoctor watch: could not trace: \(Sanitize.terminal(p.reason)).\n\(Sanitize.terminal(p.fix))\n".utf8))
            return ExitCode(3)
        }

        var notes: [String] = []
        if let n = netns {
            do {
                filter.addresses = try await NetnsAddresses.read(netns: n)
            } catch {
                throw fail(error)
            }
            notes.append("The RST tracepoints are global (they carry no namespace): showing resets sent from or received at the addresses of netns \(n) (\((filter.addresses ?? []).sorted().joined(separator: ", "))); those of other namespaces are counted apart. Listener resets print a wildcard address and are shown with [listener] whenever their port matches.")
        }

        let reasons: TraceReasonMap
        do { reasons = try TraceReasonMap.bundled() } catch {
            FileHandle.standardError.write(Data("rstdoctor watch: the built-in reason map is broken: \(error). Rebuild rstdoctor.\n".utf8))
            throw ExitCode(3)
        }
        var options = TraceSession.Options(filter: filter, reasons: reasons)
        options.root = tracefs
        let session = TraceSession(options: options)
        session.keepEvents = false

        Cleanup.shared.installSignalHandlers()
        let stop = StopFlag()
        let token = Cleanup.shared.onInterrupt { _ in stop.set() }
        defer {
            Cleanup.shared.removeInterruptHandler(token)
            session.stop()
        }

        do { try session.start() } catch {
            throw fail(error)
        }
        notes += session.notes
        for n in notes { FileHandle.standardError.write(Data("note: \(Sanitize.terminal(n))\n".utf8)) }
        if format == .text {
            let limit = duration.map { "for \(Seconds.render($0))" } ?? "until Ctrl-C"
            FileHandle.standardError.write(Data("Watching TCP resets \(limit) (tracefs instance \(session.instance.name))…\n".utf8))
        }

        let started = Date()
        // Printed as they come and counted: nothing per reset is kept.
        var seen = WatchTally()
        func emit(_ events: [ResetEvent]) {
            for e in events {
                if let c = count, seen.total >= c { break }
                seen.add(e)
                print(format == .json ? WatchOutput.jsonLine(e) : WatchOutput.line(e))
            }
            fflush(nil)
        }
        while !stop.isSet {
            if let d = duration, Date().timeIntervalSince(started) >= d { break }
            if let c = count, seen.total >= c { break }
            let left = duration.map { max(0.01, $0 - Date().timeIntervalSince(started)) } ?? 0.2
            emit(session.poll(timeout: min(0.2, left)))
        }
        emit(session.stop())
        let elapsed = Date().timeIntervalSince(started)
        switch format {
        case .text: print(WatchOutput.summaryText(seen, seconds: elapsed, elsewhere: session.elsewhere), terminator: "")
        case .json: print(WatchOutput.jsonSummary(seen, seconds: elapsed, reasonReported: session.reasonReported, notes: notes, filter: filter, elsewhere: session.elsewhere))
        }
        fflush(nil)
        if seen.kinds.contains(where: { $0.event.cause != nil }) { throw ExitCode(1) }
    }
}
