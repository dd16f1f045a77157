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

/// `rstdoctor capture FILE | --live IFACE`: find every RST in a capture and explain it.
struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Find the RSTs in a packet capture and explain each one.",
        discussion: """
            Reads a pcap or pcapng file (tcpdump -w, dumpcap, Wireshark), or captures live with --live, follows \
            every TCP connection and says for each RST which side sent it, what it answered, whether the endpoint \
            or a device in between sent it, and the cause it points to.
            Exit status: 0 no RST points to a cause, 1 some RST points to a cause, 2 usage error, 3 could not read.
            """
    )

    @Argument(help: "A pcap or pcapng file to read.")
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Capture live on this interface instead of reading a file.", valueName: "IFACE"),
            completion: .custom { words, _, _ in Completions.interfaces(words) })
    var live: String?

    @Option(name: .long, help: "Only connections with this TCP port on either side.")
    var port: String?

    @Option(name: .long, help: ArgumentHelp("Only connections with this address (numeric IPv4 or IPv6) on either side.", valueName: "ADDR"))
    var peer: String?

    @Option(name: .long, help: ArgumentHelp("Live: stop after this long (e.g. 30, 30s, 2m); default: until Ctrl-C.", valueName: "N"))
    var seconds: String?

    @Option(name: .long, help: ArgumentHelp("Live: capture inside this network namespace (/run/netns/NAME).", valueName: "NAME"))
    var netns: String?

    @Option(name: .short, help: ArgumentHelp("Live: also write the packets to this pcap file.", valueName: "FILE"))
    var w: String?

    @Option(name: .long, help: "Output format: text or json.")
    var format: String = "text"

    @Option(name: .long, help: ArgumentHelp("Silence before a segment that makes a RST answering it 'after idle' (default 5s).", valueName: "DURATION"))
    var idle: String?

    @Option(name: .long, help: ArgumentHelp("List at most this many RSTs one by one (all are counted; default: all).", valueName: "N"))
    var maxResets: Int?

    @Flag(name: .long, help: "Text: list each RST after the summary and the groups (JSON always lists them).")
    var resets = false

    @Option(name: .long, help: ArgumentHelp("Read the RST classes from this capture-classes.yaml instead of the built-in copy.", valueName: "PATH"))
    var classes: String?

    func run() throws {
        let setup: Setup
        do {
            setup = try makeSetup()
        } catch {
            Self.fail("rstdoctor capture: \(error.message)\nRun `rstdoctor capture --help` for the options.", code: 2)
        }
        let classes: CaptureClasses
        do {
            classes = try self.classes.map { try CaptureClasses.load(path: $0) } ?? CaptureClasses.embedded()
        } catch {
            Self.fail("rstdoctor capture: cannot load the RST classes: \(error)\nFix the file (see knowledge/capture-classes.yaml), or drop --classes to use the built-in one.", code: 3)
        }
        // The records are written as their judgements become final and then forgotten: memory stays
        // fixed however many RSTs the capture holds. Text lists single RSTs only with --resets.
        let out = ByteOutput(fd: STDOUT_FILENO)
        let json = setup.json ? CaptureJSON(out: out, source: setup.file ?? "live:\(setup.iface ?? "")") : nil
        let text = setup.json ? nil : CaptureTextStream(out: out, classes: classes, listing: resets)
        var options = setup.options
        if !setup.json && !resets { options.maxListedResets = 0 }
        // Reading a file, the output is written on another thread, as the file is read and decoded on
        // one (ReaderThread; measured: bench/capture); RSTDOCTOR_OUTPUT_THREAD=0 and
        // RSTDOCTOR_READER_THREAD=0 keep them on the analysis thread.
        let writer: any ResetSink = json.map { $0 as any ResetSink } ?? text!
        let oneThread = ProcessInfo.processInfo.environment["RSTDOCTOR_OUTPUT_THREAD"] == "0"
        let threaded: ThreadedSink? = setup.file != nil && !oneThread ? ThreadedSink(writer) : nil
        let sink: any ResetSink = threaded.map { $0 as any ResetSink } ?? writer
        let report: CaptureReport
        if let iface = setup.iface {
            report = runLive(iface: iface, setup: setup, options: options, sink: sink, classes: classes)
        } else if let path = setup.file {
            do {
                report = try CaptureFile.analyze(path: path, classes: classes, options: options, sink: sink)
            } catch {
                Self.fail("rstdoctor capture: \(error.message)", code: 3)
            }
        } else {
            Self.fail("rstdoctor capture: give a capture file, or --live IFACE to capture.", code: 2)
        }
        threaded?.finish()
        json?.finish(report)
        text?.finish(report)
        if report.error != nil { throw ExitCode(3) }
        throw ExitCode(report.pointsToCause ? 1 : 0)
    }

    struct Setup {
        var file: String?
        var iface: String?
        var netns: String?
        var seconds: Double?
        var writeTo: String?
        var port: UInt16?
        var peer: String?
        var json: Bool
        var options: CaptureOptions
    }

    /// Every user-supplied value validated before it reaches a path, a filter or a namespace.
    private func makeSetup() throws(RSTDCore.ValidationError) -> Setup {
        guard format == "text" || format == "json" else { throw RSTDCore.ValidationError("--format must be text or json, not '\(Sanitize.line(format))'") }
        if file != nil && live != nil { throw RSTDCore.ValidationError("give either a FILE to read or --live IFACE, not both") }
        if live == nil {
            if netns != nil || seconds != nil || w != nil { throw RSTDCore.ValidationError("--netns, --seconds and -w only apply to --live captures") }
        }
        let port = try self.port.map { (s: String) throws(RSTDCore.ValidationError) -> UInt16 in try Validate.port(s) }
        let peer = try self.peer.map { (s: String) throws(RSTDCore.ValidationError) -> String in try Validate.address(s) }
        var options = CaptureOptions(port: port, peer: peer.flatMap { IPAddress($0) })
        if let idle { options.idleThreshold = try Validate.duration(idle, min: 0.001, max: 86400 * 30) }
        if let maxResets {
            guard maxResets >= 0 && maxResets <= 10_000_000 else { throw RSTDCore.ValidationError("--max-resets must be between 0 and 10000000") }
            options.maxListedResets = maxResets
        }
        if let c = classes { _ = try Validate.path(c) }
        return Setup(
            file: try file.map { (s: String) throws(RSTDCore.ValidationError) -> String in try Validate.path(s) },
            iface: try live.map { (s: String) throws(RSTDCore.ValidationError) -> String in try Validate.interface(s) },
            netns: try netns.map { (s: String) throws(RSTDCore.ValidationError) -> String in try Validate.netnsName(s) },
            seconds: try seconds.map { (s: String) throws(RSTDCore.ValidationError) -> Double in try Validate.duration(s, min: 0.1, max: 86400) },
            writeTo: try w.map { (s: String) throws(RSTDCore.ValidationError) -> String in try Validate.path(s) },
            port: port, peer: peer, json: format == "json", options: options)
    }

    private func runLive(
        iface: String, setup: Setup, options: CaptureOptions, sink: any ResetSink, classes: CaptureClasses
    ) -> CaptureReport {
        let capture = LiveCapture(
            interface: iface, netns: setup.netns, port: setup.port, peer: setup.peer, writeTo: setup.writeTo,
            classes: classes, options: options)
        capture.sink = sink
        Cleanup.shared.installSignalHandlers()
        let interrupt = Cleanup.shared.onInterrupt { _ in capture.requestStop() }
        defer { Cleanup.shared.removeInterruptHandler(interrupt) }
        let tty = isatty(STDERR_FILENO) == 1
        if tty {
            capture.onProgress = { s in
                FileHandle.standardError.write(Data("\r\u{1B}[K\(s.packets) packets, \(s.tcpPackets) TCP, \(s.flows) connections, \(s.resets) RSTs".utf8))
            }
        }
        do {
            try capture.start()
        } catch {
            Self.fail("rstdoctor capture: \(error.message)", code: 3)
        }
        FileHandle.standardError.write(Data("Capturing on \(iface)\(setup.netns.map { " in network namespace \($0)" } ?? "") with filter '\(capture.filter)'\(setup.seconds.map { " for \(Seconds.render($0))" } ?? ""); Ctrl-C stops and prints the analysis.\n".utf8))
        let report = capture.wait(seconds: setup.seconds)
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        return report
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Cleanup.shared.runAll()
        Foundation.exit(code)
    }
}
