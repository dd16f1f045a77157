import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Reads a saved capture (pcap or pcapng) through libpcap and analyses it in one pass.
package enum CaptureFile {
    /// Analyses the file. Throws when it cannot be opened at all; when it breaks part-way, what was
    /// read is analysed and the report's `error` says where reading stopped. Records go to `sink` as
    /// they become final (by default they are kept in the report, up to `maxListedResets`).
    /// `readerThread`: read and decode on a second thread (`ReaderThread`); nil: when it pays.
    package static func analyze(
        path: String, classes: CaptureClasses, options: CaptureOptions = CaptureOptions(), fastReader: Bool = true,
        sink: (any ResetSink)? = nil, readerThread: Bool? = nil
    ) throws(CaptureError) -> CaptureReport {
        // Plain pcap files are read without libpcap (FastPcapReader); it hands anything odd back.
        var skip: UInt64 = 0
        var fastAnalyzer: CaptureAnalyzer?
        let threaded = readerThread ?? ReaderThread.wanted
        if fastReader, let fast = FastPcapReader(path: path) {
            // The reader thread starts before the analyzer is made (its tables take a few milliseconds).
            let thread = threaded ? ReaderThread(fast) : nil
            let a = CaptureAnalyzer(classes: classes, options: options, source: path, linkType: fast.linkType, sink: sink)
            // A large capture fills the analyzer's tables: their pages are faulted in on another core.
            var st = stat()
            if thread != nil, stat(path, &st) == 0, st.st_size >= Prefault.minFileSize {
                // Those touched at random from the start first; the ring fills in order.
                Prefault.start(a.flows.storage + a.finishedFlows.storage + a.hosts.storage + [a.pending.storage])
            }
            switch thread.map({ $0.run(a) }) ?? run(fast, a) {
            case nil: return a.report()
            case let frame?:
                skip = frame - 1
                fastAnalyzer = a
            }
        }
        // libpcap refuses pcapng files whose interfaces differ in link type or snapshot length
        // (dumpcap with several -i): those are read with our own pcapng reader, decided before any
        // record is written (the output streams).
        if fastAnalyzer == nil, PcapngReader.isPcapng(path: path), let lt = PcapngReader.mixedInterfaces(path: path) {
            let reader = try PcapngReader(path: path)
            let analyzer = CaptureAnalyzer(classes: classes, options: options, source: path, linkType: lt, sink: sink)
            let error = run(reader, analyzer)
            return analyzer.report(error: error.map { stopped(analyzer, $0) })
        }
        let handle = try PcapHandle.open(file: path)
        defer { handle.close() }
        let analyzer = fastAnalyzer
            ?? CaptureAnalyzer(classes: classes, options: options, source: path, linkType: handle.linkType, sink: sink)
        let error = run(handle, analyzer, skip: skip)
        return analyzer.report(error: error.map { stopped(analyzer, $0) })
    }

    private static func stopped(_ analyzer: CaptureAnalyzer, _ e: String) -> String {
        "reading stopped after frame \(analyzer.packets): \(Sanitize.line(e)). "
            + "The file is damaged or cut short; the packets before that point are analysed."
    }

    /// Feeds every packet `reader` vouches for; returns the frame libpcap must read from, if any.
    static func run(_ reader: FastPcapReader, _ analyzer: CaptureAnalyzer) -> UInt64? {
        var decoder = PacketDecoder(linkType: reader.linkType)
        var p = DecodedPacket()
        var frame: UInt64 = 0
        while true {
            switch reader.next() {
            case .packet(let buf, let time):
                frame += 1
                _ = analyzer.take(buf, frame: frame, time: time, decoder: &decoder, into: &p)
            case .end:
                return nil
            case .handOver(let f):
                return f
            }
        }
    }

    /// Feeds every packet of a pcapng file read by `PcapngReader` (per-interface link types).
    static func run(_ reader: PcapngReader, _ analyzer: CaptureAnalyzer) -> String? {
        var decoders: [Int32: PacketDecoder] = [:]
        var p = DecodedPacket()
        var frame: UInt64 = 0
        var linkTypes = Set<Int32>()
        while true {
            switch reader.next() {
            case .packet(let buf, let time, _, let lt):
                frame += 1
                linkTypes.insert(lt)
                var decoder = decoders[lt] ?? PacketDecoder(linkType: lt)
                _ = analyzer.take(buf, frame: frame, time: time, decoder: &decoder, into: &p)
                decoders[lt] = decoder
            case .end:
                return nil
            case .error(let e):
                return e
            }
        }
    }

    /// Feeds every packet of `handle` to `analyzer` until the end, an error, or `stop()` returns true
    /// (checked on read timeouts and every 4096 packets), after the first `skip` frames (already fed).
    /// Returns libpcap's error text, if any.
    @discardableResult
    package static func run(
        _ handle: PcapHandle, _ analyzer: CaptureAnalyzer, onPacket: ((UnsafeRawBufferPointer, Double, Int) -> Void)? = nil,
        onReset: ((ResetRecord) -> Void)? = nil, stop: (() -> Bool)? = nil, skip: UInt64 = 0
    ) -> String? {
        var decoder = PacketDecoder(linkType: handle.linkType)
        var p = DecodedPacket()
        var frame: UInt64 = 0
        while true {
            switch handle.next() {
            case .packet(let buf, let time, let wireLength):
                frame += 1
                // Frames already read by FastPcapReader.
                if frame <= skip { continue }
                onPacket?(buf, time, wireLength)
                _ = analyzer.take(buf, frame: frame, time: time, decoder: &decoder, into: &p)
                if let onReset, analyzer.hasFinal { analyzer.takeFinal().forEach(onReset) }
                if frame & 0xFFF == 0, let stop, stop() { return nil }
            case .timeout:
                // No packet for a while: judgements waiting for later packets become final on time.
                if let onReset {
                    analyzer.settleDue(now: Date().timeIntervalSince1970)
                    analyzer.takeFinal().forEach(onReset)
                }
                if let stop, stop() { return nil }
            case .end:
                return nil
            case .error(let e):
                // pcap_breakloop makes pcap_next_ex fail with -2 or an error; a requested stop is not an error.
                if let stop, stop() { return nil }
                return e
            }
        }
    }
}
