import CPcap
import CNetns
import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// A live capture on one interface (optionally inside a network namespace), analysed as packets
/// arrive: start, then stop (or wait) for the report. `check --observe` runs one for its window.
///
/// The pcap handle is opened on a dedicated Thread that first joins the namespace with setns(2):
/// the socket stays bound to that namespace, and no Swift-concurrency thread ever changes namespace.
package final class LiveCapture: @unchecked Sendable {
    /// Counters for a progress line, delivered on the capture thread about twice a second.
    package struct Progress: Sendable {
        package var packets: Int
        package var tcpPackets: Int
        package var flows: Int
        package var resets: Int
    }

    package let interface: String
    package let netns: String?
    package let port: UInt16?
    package let peer: String?
    package let writeTo: String?
    package let classes: CaptureClasses
    package let options: CaptureOptions
    /// Called on the capture thread; set before `start`.
    package var onProgress: (@Sendable (Progress) -> Void)?
    /// Where the records go as they become final (default: kept in the report); set before `start`.
    package var sink: (any ResetSink)?
    /// Called on the capture thread for each RST as it is classified; set before `start`.
    package var onReset: (@Sendable (ResetRecord) -> Void)?

    private let lock = NSLock()
    private var stopRequested = false
    private var handle: PcapHandle?
    private var result: CaptureReport?
    private let opened = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var openError: CaptureError?
    private var cleanupToken: Int?
    private var started = false

    /// The BPF filter in use, known once started (it depends on the interface's link type).
    package private(set) var filter = ""

    /// `interface`, `netns`, `port` and `peer` must come from Validate (interface, netnsName, port, address).
    package init(interface: String, netns: String? = nil, port: UInt16? = nil, peer: String? = nil, writeTo: String? = nil,
                classes: CaptureClasses, options: CaptureOptions = CaptureOptions()) {
        self.interface = interface
        self.netns = netns
        self.port = port
        self.peer = peer
        self.writeTo = writeTo
        self.classes = classes
        // The analyzer applies the peer too: the kernel filter leaves it out when a port narrows the
        // capture (openLive), so that segments tied to a focused connection under other addresses pass.
        var o = options
        if o.peer == nil, let peer { o.peer = IPAddress(peer) }
        self.options = o
    }

    /// Opens the interface and starts capturing; returns once packets are being captured.
    package func start() throws(CaptureError) {
        lock.lock()
        guard !started else { lock.unlock(); throw CaptureError("this capture was already started") }
        started = true
        lock.unlock()
        let thread = Thread { [self] in self.body() }
        thread.name = "rstdoctor-capture"
        thread.start()
        opened.wait()
        if let e = openError { throw e }
        // SIGINT/SIGTERM or an error elsewhere: stop the thread, which closes the handle and the dump file.
        cleanupToken = Cleanup.shared.add { [self] in
            self.requestStop()
            _ = self.finished.wait(timeout: .now() + 2)
            self.finished.signal()
        }
    }

    /// Asks the capture to end; safe from any thread and from a signal handler's dispatch source.
    package func requestStop() {
        lock.lock()
        stopRequested = true
        let h = handle
        lock.unlock()
        h?.breakLoop()
    }

    private var stopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopRequested
    }

    /// Stops now and returns the analysis.
    package func stop() -> CaptureReport {
        requestStop()
        return wait(seconds: nil)
    }

    /// Waits until `seconds` have passed (then stops) or until stopped by `requestStop`, and returns the analysis.
    package func wait(seconds: Double?) -> CaptureReport {
        if let seconds {
            if finished.wait(timeout: .now() + seconds) == .timedOut {
                requestStop()
                finished.wait()
            }
        } else {
            finished.wait()
        }
        finished.signal()  // later waiters (a second stop, the cleanup action) return at once
        if let t = cleanupToken { Cleanup.shared.remove(t) }
        lock.lock(); defer { lock.unlock() }
        return result ?? CaptureAnalyzer(classes: classes, options: options, source: "live:\(interface)", linkType: LinkType.ethernet)
            .report(error: openError?.message ?? "the capture ended before it produced a report")
    }

    // MARK: the capture thread

    private func body() {
        let h: PcapHandle
        do {
            if let netns { try Self.enter(netns: netns) }
            (h, filter) = try Self.openLive(interface, port: port, peer: peer, netns: netns, keepPeer: writeTo != nil)
        } catch {
            openError = error
            opened.signal()
            finished.signal()
            return
        }
        var dumper: OpaquePointer?
        if let writeTo {
            dumper = pcap_dump_open(h.handle, writeTo)
            if dumper == nil {
                openError = CaptureError("cannot write \(Sanitize.line(writeTo)): \(String(cString: pcap_geterr(h.handle))). Give a writable path for -w.")
                h.close()
                opened.signal()
                finished.signal()
                return
            }
        }
        lock.lock()
        handle = h
        let stopEarly = stopRequested
        lock.unlock()
        opened.signal()

        let analyzer = CaptureAnalyzer(classes: classes, options: options, source: "live:\(interface)", linkType: h.linkType, sink: sink)
        analyzer.wantRecords = onReset != nil
        var lastProgress = Date()
        let progress = onProgress
        var error: String?
        if !stopEarly {
            error = CaptureFile.run(
                h, analyzer,
                onPacket: dumper.map { d in
                    { buf, time, wireLength in
                        var hdr = pcap_pkthdr()
                        hdr.ts.tv_sec = Int(time)
                        hdr.ts.tv_usec = Int(((time - time.rounded(.down)) * 1e6).rounded())
                        hdr.caplen = UInt32(buf.count)
                        hdr.len = UInt32(wireLength)
                        pcap_dump(UnsafeMutableRawPointer(d).assumingMemoryBound(to: UInt8.self), &hdr, buf.baseAddress?.assumingMemoryBound(to: UInt8.self))
                    }
                },
                onReset: onReset,
                stop: { [self] in
                    if let progress, Date().timeIntervalSince(lastProgress) >= 0.5 {
                        lastProgress = Date()
                        progress(Progress(packets: analyzer.packets, tcpPackets: analyzer.tcpPackets, flows: analyzer.flowCount, resets: analyzer.rstCount))
                    }
                    return self.stopping
                })
        }
        if let d = dumper {
            pcap_dump_flush(d)
            pcap_dump_close(d)
        }
        lock.lock()
        handle = nil
        lock.unlock()
        h.close()
        if let progress {
            progress(Progress(packets: analyzer.packets, tcpPackets: analyzer.tcpPackets, flows: analyzer.flowCount, resets: analyzer.rstCount))
        }
        let report = analyzer.report(error: error.map { "the capture stopped on an error: \(Sanitize.line($0))" })
        // The judgements still waiting for later packets became final at the end.
        if let onReset { analyzer.takeFinal().forEach(onReset) }
        lock.lock()
        result = report
        lock.unlock()
        finished.signal()
    }

    /// Moves the calling thread (only it) into the named network namespace, or the one at an
    /// absolute path (/proc/PID/ns/net for `--pid`).
    /// Moves the calling thread (only it) into the network namespace (a name under /run/netns or an
    /// absolute path such as /proc/PID/ns/net).
    static func enter(netns name: String) throws(CaptureError) {
        let path = name.hasPrefix("/") ? name : "/run/netns/\(name)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CaptureError("cannot open network namespace \(name) (\(path)): \(String(cString: strerror(errno))). List them with `ip netns list`.")
        }
        defer { close(fd) }
        guard rstd_setns_net(fd) == 0 else {
            throw CaptureError("cannot enter network namespace \(name): \(String(cString: strerror(errno))). Entering a namespace needs root (CAP_SYS_ADMIN).")
        }
    }

    private static func openLive(_ iface: String, port: UInt16?, peer: String?, netns: String?, keepPeer: Bool) throws(CaptureError)
        -> (PcapHandle, String) {
        // With a port, the peer is filtered by the analyzer, not the kernel: it keeps the segments tied
        // to a focused connection by their TCP fields whatever their addresses (an untranslated leak,
        // conntrack INVALID behind NAT, and the RST answering it). Without a port the kernel filter
        // keeps the peer, or the whole host's traffic would be copied; and a capture written to a file keeps
        // exactly the traffic asked for.
        let (p, filter) = try openFiltered(iface, netns: netns, snaplen: 262_144, bufferSize: 8 << 20) { linkType in
            BPFFilter.build(port: port, peer: port == nil || keepPeer ? peer : nil, linkType: linkType)
        }
        return (PcapHandle(handle: p, nano: false), filter)
    }

    /// Opens a live, non-promiscuous libpcap handle on `iface` (in the namespace the calling thread is
    /// in) with the BPF filter `filter` builds for its link type; on any error the handle is closed and
    /// the error says what to do. The caller owns the returned handle. `immediate`: every packet wakes
    /// the reader (live views); without it packets come in blocks at most 100 ms late, one wakeup per
    /// block (the recorder, which holds its joins longer than that anyway).
    static func openFiltered(_ iface: String, netns: String?, snaplen: Int32, bufferSize: Int32, immediate: Bool = true,
                             filter build: (Int32) -> String) throws(CaptureError) -> (OpaquePointer, String) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let place = netns.map { " in network namespace \($0)" } ?? ""
        guard let p = pcap_create(iface, &errbuf) else {
            throw CaptureError("cannot capture on \(iface)\(place): \(cText(errbuf)).")
        }
        pcap_set_snaplen(p, snaplen)
        pcap_set_promisc(p, 0)
        pcap_set_timeout(p, 100)
        pcap_set_immediate_mode(p, immediate ? 1 : 0)
        pcap_set_buffer_size(p, bufferSize)
        let rc = pcap_activate(p)
        if rc < 0 {
            let why = String(cString: pcap_geterr(p))
            pcap_close(p)
            var hint = "Check the name with `ip link`\(netns.map { " (inside the namespace: `ip -n \($0) link`)" } ?? "")."
            if rc == PCAP_ERROR_PERM_DENIED { hint = "Capturing needs root or CAP_NET_RAW: run with sudo." }
            throw CaptureError("cannot capture on \(iface)\(place): \(why). \(hint)")
        }
        let filter = build(pcap_datalink(p))
        var prog = bpf_program()
        guard pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let why = String(cString: pcap_geterr(p))
            pcap_close(p)
            throw CaptureError("the capture filter '\(filter)' does not compile on \(iface): \(why).")
        }
        defer { pcap_freecode(&prog) }
        guard pcap_setfilter(p, &prog) == 0 else {
            let why = String(cString: pcap_geterr(p))
            pcap_close(p)
            throw CaptureError("cannot set the capture filter on \(iface): \(why).")
        }
        return (p, filter)
    }
}
