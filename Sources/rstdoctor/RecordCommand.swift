import ArgumentParser
import Foundation
import RSTDJournal
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// `rstdoctor record`: the flight recorder (docs/record.md).
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record every TCP reset (kernel reason, state, task, the wire's view), counters and socket snapshots into a journal, until SIGINT/SIGTERM.",
        discussion: """
            Later, `rstdoctor check --since 2h` diagnoses a past period from the journal. Needs root for \
            the kernel tracepoints and the RST-only capture; without them it records what it can and the \
            journal says what it could not. Exit codes: 0 stopped by a signal (losses, if any, are in the \
            journal), 2 usage error, 3 could not run (journal refused or locked), or rows were lost and \
            the journal could not record even that (disk still full at the end).
            """
    )

    @Option(help: ArgumentHelp("Record inside this network namespace (see `ip netns list`).", valueName: "NAME")) var netns: String?
    @Option(help: ArgumentHelp("Record inside the network namespace of this process.", valueName: "PID")) var pid: String?
    @Option(help: ArgumentHelp("The journal (default /var/lib/rstdoctor/journal.db as root, else $XDG_STATE_HOME/rstdoctor/journal.db).", valueName: "PATH"))
    var journal: String?
    @Option(help: ArgumentHelp("Delete what is older than this (default 7d).", valueName: "DURATION")) var retain: String = "7d"
    @Option(help: ArgumentHelp("Keep the journal under this size, oldest rows first (default 256MiB).", valueName: "SIZE")) var maxSize: String = "256MiB"
    @Option(help: ArgumentHelp("Only resets to or from this port (repeatable).", valueName: "PORT")) var port: [String] = []
    @Option(help: ArgumentHelp("Serve OpenMetrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).", valueName: "ADDR")) var metrics: String?
    @Option(help: ArgumentHelp("Write a node_exporter textfile (rstdoctor.prom) into this directory every 10 s.", valueName: "DIR")) var textfile: String?
    @Flag(help: "If the journal is not a usable rstdoctor journal, move it aside (PATH.broken-TIME) and start a new one.")
    var newJournal = false
    @Flag(help: "No RST-only capture (no TTL / payload text).") var noCapture = false
    @Option(help: .hidden) var tracefs: String = TracefsInstance.defaultRoot
    @Option(help: .hidden) var counterInterval: String = "10s"

    func run() async throws {
        var o = RecorderOptions()
        let path: String
        let retainSeconds: Double
        let maxBytes: Int64
        var listen: (host: String, port: UInt16)?
        var textDir: String?
        do {
            if let target = try namespaceTarget(netns: netns, pid: pid) { o.target = target }
            o.ports = try port.map { try Validate.port($0) }
            path = try Validate.path(journal ?? RecordSettings.defaultJournal())
            retainSeconds = try Validate.duration(retain, min: 60, max: 366 * 86400)
            maxBytes = try RecordSettings.size(maxSize)
            o.counterInterval = try Validate.duration(counterInterval, min: 1, max: 3600)
            if let m = metrics { listen = try RecordSettings.listenAddress(m) }
            if let d = textfile {
                textDir = try Validate.path(d)
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                    throw Failure.usage("--textfile takes an existing directory (node_exporter's --collector.textfile.directory)")
                }
            }
        } catch let e as RSTDCore.ValidationError {
            throw Failure.usage(e.message)
        }
        o.wire = !noCapture
        o.tracefsRoot = tracefs

        let j: Journal
        do {
            j = try Journal.openForWriting(path: path)
        } catch let e where newJournal && [.foreign, .corrupt].contains(e.kind) {
            let aside = try? Journal.moveAside(path: path)
            FileHandle.standardError.write(Data("rstdoctor record: \(Sanitize.terminal(e.message)); moved it to \(Sanitize.terminal(aside ?? "?")) and starting a new journal.\n".utf8))
            do { j = try Journal.openForWriting(path: path) } catch { throw Failure.couldNotRun(Sanitize.terminal(error.description)) }
        } catch {
            throw Failure.couldNotRun("cannot record: \(Sanitize.terminal(error.message)). \(Sanitize.terminal(error.fix)).")
        }

        let reasons = try? TraceReasonMap.bundled()
        let writer = JournalWriter(journal: j)
        writer.maxAge = retainSeconds
        writer.maxBytes = maxBytes
        let recorder = Recorder(options: o, writer: writer, reasons: reasons)
        let stats = RecorderMetrics(writer: writer, ports: Set(o.ports.map(Int.init)))
        recorder.onEvent = { e in stats.count(e) }
        recorder.onNote = { n in FileHandle.standardError.write(Data("rstdoctor record: \(Sanitize.terminal(n))\n".utf8)) }

        var server: MetricsServer?
        if let listen {
            do {
                server = try MetricsServer(host: listen.host, port: listen.port) { stats.render() }
                server?.start()
            } catch {
                throw Failure.couldNotRun("cannot serve metrics on \(listen.host):\(listen.port): \(error)")
            }
        }
        let textWriter = textDir.map { TextfileWriter(directory: $0) }

        Cleanup.shared.installSignalHandlers()
        let stop = StopFlag()
        let token = Cleanup.shared.onInterrupt { _ in stop.set() }
        defer { Cleanup.shared.removeInterruptHandler(token) }
        writer.start()
        FileHandle.standardError.write(Data("rstdoctor record: recording \(o.target.display) into \(Sanitize.terminal(path)) (retain \(Sanitize.terminal(retain)), max \(Sanitize.terminal(maxSize))); stop with Ctrl-C or SIGTERM.\n".utf8))
        let textTask = textWriter.map { tw in
            Task.detached {
                while !stop.isSet {
                    tw.write(stats.render(openMetrics: false))
                    for _ in 0..<50 where !stop.isSet { try? await Task.sleep(nanoseconds: 200_000_000) }
                }
            }
        }
        await Task.detached { await recorder.run(shouldStop: { stop.isSet }) }.value
        writer.stop()
        await textTask?.value
        textWriter?.write(stats.render(openMetrics: false))
        server?.stop()
        let s = recorder.currentStats
        FileHandle.standardError.write(Data("rstdoctor record: stopped; \(s.events) reset(s) recorded, \(writer.dropped) dropped, \(writer.lost) lost; journal \(Sanitize.terminal(path)).\n".utf8))
        if writer.unreportedLoss > 0 {
            // The journal cannot say so itself (still unwritable, e.g. the disk still full): the exit code does.
            let why = writer.lastError.map { Sanitize.terminal($0.message) } ?? "write error"
            let where_ = Sanitize.terminal((path as NSString).deletingLastPathComponent)
            throw Failure.couldNotRun("\(writer.unreportedLoss) row(s) could not be written to the journal and the journal "
                                      + "could not record the loss either (\(why)); free space in \(where_)")
        }
    }
}
