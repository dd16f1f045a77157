import CPcap
import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Why a capture could not be opened or read to its end; the CLI turns it into exit 3.
package struct CaptureError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// One libpcap handle (a saved file or a live interface), read packet by packet with pcap_next_ex.
/// The frame buffer belongs to libpcap and is only valid until the next call: nothing is copied.
package final class PcapHandle: @unchecked Sendable {
    let handle: OpaquePointer
    package let linkType: Int32
    /// Whether timestamps are in nanoseconds (files are opened with nanosecond precision).
    let nano: Bool
    private var closed = false
    /// The stdio buffer of an offline file, freed once libpcap has closed the file.
    fileprivate var stdioBuffer: UnsafeMutablePointer<CChar>?
    private let lock = NSLock()

    init(handle: OpaquePointer, nano: Bool) {
        self.handle = handle
        self.linkType = pcap_datalink(handle)
        self.nano = nano
    }

    /// Opens a pcap or pcapng file.
    package static func open(file path: String) throws(CaptureError) -> PcapHandle {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let file = fopen(path, "rb") else {
            throw CaptureError("could not read \(Sanitize.line(path)): \(String(cString: strerror(errno))). Give a pcap or pcapng file as written by tcpdump -w, dumpcap or Wireshark.")
        }
        // A 1 MiB stdio buffer: libpcap reads each record with fread, and glibc's default 4 KiB
        // buffer would make that one read(2) per few packets.
        // glibc ignores the size unless given the buffer, which must outlive the FILE (freed after pcap_close).
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 1 << 20)
        setvbuf(file, buffer, _IOFBF, 1 << 20)
        guard let h = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            fclose(file)
            buffer.deallocate()
            let why = cText(errbuf)
            throw CaptureError("could not read \(Sanitize.line(path)) as a capture: \(Sanitize.line(why)). Give a pcap or pcapng file as written by tcpdump -w, dumpcap or Wireshark.")
        }
        let handle = PcapHandle(handle: h, nano: true)
        handle.stdioBuffer = buffer
        return handle
    }

    /// The link type's name as libpcap spells it (e.g. FDDI, NFLOG), for "not decoded" reports.
    package static func linkTypeName(_ t: Int32) -> String {
        if let n = pcap_datalink_val_to_name(t) { return String(cString: n) }
        return "DLT \(t)"
    }

    package enum Next {
        case packet(UnsafeRawBufferPointer, time: Double, wireLength: Int)
        /// Live capture: the read timeout expired with nothing to deliver.
        case timeout
        case end
        case error(String)
    }

    /// The next frame. The buffer stays valid only until the following call.
    @inline(__always)
    package func next() -> Next {
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let rc = pcap_next_ex(handle, &hdr, &data)
        switch rc {
        case 1:
            guard let hdr, let data else { return .timeout }
            let h = hdr.pointee
            let frac = Double(h.ts.tv_usec) * (nano ? 1e-9 : 1e-6)
            return .packet(UnsafeRawBufferPointer(start: data, count: Int(h.caplen)), time: Double(h.ts.tv_sec) + frac, wireLength: Int(h.len))
        case 0:
            return .timeout
        case -2:
            return .end
        default:
            return .error(String(cString: pcap_geterr(handle)))
        }
    }

    /// Makes a blocked `next()` on another thread return (live capture stop).
    package func breakLoop() { pcap_breakloop(handle) }

    /// Closes the handle once; safe to call from a cleanup action and from the owner.
    package func close() {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        pcap_close(handle)
        stdioBuffer?.deallocate()
        stdioBuffer = nil
    }

    deinit { close() }
}

