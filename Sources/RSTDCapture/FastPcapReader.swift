import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Reads a classic pcap file with read(2) into one buffer it reuses (`bufferSize` a read; small enough
/// to stay in the core's cache) and hands out frames in place, each valid until the next call: one
/// copy (kernel to buffer) where libpcap's offline reader makes two (fread into stdio's buffer, then
/// into its own). Not mapped: a file truncated while it is read (a `tcpdump -W` ring reusing it)
/// would kill a mapped reader with SIGBUS, and mapping measured slower (ReaderThread says how much).
/// Only for the plain cases it reads exactly as libpcap does: pcap 2.4, micro- or nanosecond magic
/// in either byte order, a link type whose file value is its DLT value, sane record lengths. At
/// anything else it stops and says at which frame, and the caller lets libpcap read from there (same
/// frames, libpcap's own errors).
final class FastPcapReader {
    enum Next {
        case packet(UnsafeRawBufferPointer, time: Double)
        case end
        /// A record this reader does not vouch for: libpcap must read from this frame (counted from 1).
        case handOver(frame: UInt64)
    }

    let linkType: Int32
    private let fd: Int32
    private let swapped: Bool
    private let nano: Bool
    private let snaplen: UInt32
    private let buf: UnsafeMutableRawPointer
    /// How many bytes of the buffer a read fills (a record longer than that takes more of it).
    private let window: Int

    private var start = 0
    private var end = 0
    private var eof = false
    private var frame: UInt64 = 0

    /// Link types libpcap reports with the value stored in the file (no LINKTYPE_ to DLT_ mapping).
    private static let sameValue: Set<UInt32> = [0, 1, 113, 228, 229, 239, 276]
    /// libpcap's largest capture length for these link types (MAXIMUM_SNAPLEN): no frame handed out
    /// is longer (the reader thread sizes the room it copies frames into by it).
    static let maxCaplen: UInt32 = 262_144
    /// How much a read asks for by default: 256 KiB stays in the core's cache (1 GB capture, reader
    /// thread's CPU with 64 KiB, 128 KiB, 256 KiB, 1 MiB: 123, 118, 114, 117 ms).
    static let readSize = 256 << 10

    /// Opens `path` if it is a pcap file this reader handles; nil otherwise (libpcap reads it).
    /// `bufferSize`: how much a read asks for (a longer record is read whole anyway).
    init?(path: String, bufferSize: Int = FastPcapReader.readSize) {
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var hdr = [UInt8](repeating: 0, count: 24)
        let n = hdr.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, 24) }
        func le32(_ o: Int) -> UInt32 { UInt32(hdr[o]) | UInt32(hdr[o + 1]) << 8 | UInt32(hdr[o + 2]) << 16 | UInt32(hdr[o + 3]) << 24 }
        func le16(_ o: Int) -> UInt16 { UInt16(hdr[o]) | UInt16(hdr[o + 1]) << 8 }
        let magic = n == 24 ? le32(0) : 0
        let (swapped, nano): (Bool, Bool)
        switch magic {
        case 0xA1B2_C3D4: (swapped, nano) = (false, false)
        case 0xA1B2_3C4D: (swapped, nano) = (false, true)
        case 0xD4C3_B2A1: (swapped, nano) = (true, false)
        case 0x4D3C_B2A1: (swapped, nano) = (true, true)
        default: Foundation.close(fd); return nil
        }
        let major = swapped ? le16(4).byteSwapped : le16(4)
        let minor = swapped ? le16(6).byteSwapped : le16(6)
        let snap = swapped ? le32(16).byteSwapped : le32(16)
        let lt = swapped ? le32(20).byteSwapped : le32(20)
        guard major == 2, minor == 4, snap > 0, Self.sameValue.contains(lt) else { Foundation.close(fd); return nil }
        self.fd = fd
        self.swapped = swapped
        self.nano = nano
        self.snaplen = snap
        self.linkType = Int32(lt)
        window = max(bufferSize, 4096)
        // Room for the largest record after the page the bytes left over are moved into.
        buf = UnsafeMutableRawPointer.allocate(byteCount: max(window, 4096 + 16 + Int(Self.maxCaplen)), alignment: 4096)
    }

    deinit {
        Foundation.close(fd)
        buf.deallocate()
    }

    /// Makes at least `need` bytes available from `start`; false at the end of the file.
    @inline(__always)
    private func fill(_ need: Int) -> Bool {
        if end - start >= need { return true }
        if eof { return false }
        if start > 0 {
            // The bytes left over go just before a page boundary: the kernel copies to whole pages.
            let left = end - start
            let to = (4096 - left % 4096) % 4096
            if left > 0 { memmove(buf + to, buf + start, left) }
            start = to
            end = to + left
        }
        while end - start < need {
            let r = Foundation.read(fd, buf + end, max(window, start + need) - end)
            if r <= 0 { eof = true; return false }
            end += r
        }
        return true
    }

    /// The next frame; valid until the following call.
    @inline(__always)
    func next() -> Next {
        guard fill(16) else {
            // A clean end has no bytes left; a cut-short header is libpcap's to report.
            return end == start ? .end : .handOver(frame: frame + 1)
        }
        let h = buf + start
        var sec = h.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        var frac = h.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        var caplen = h.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        var len = h.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        if swapped { sec = sec.byteSwapped; frac = frac.byteSwapped; caplen = caplen.byteSwapped; len = len.byteSwapped }
        // libpcap truncates or rejects such records, and reports a cut-short one: let it.
        guard caplen <= snaplen, caplen <= Self.maxCaplen, caplen <= len || len == 0 else { return .handOver(frame: frame + 1) }
        guard fill(16 + Int(caplen)) else { return .handOver(frame: frame + 1) }
        frame += 1
        let data = UnsafeRawBufferPointer(start: buf + start + 16, count: Int(caplen))
        start += 16 + Int(caplen)
        // As PcapHandle computes it from libpcap's nanosecond timestamps.
        let ns = nano ? UInt64(frac) : UInt64(frac) &* 1000
        return .packet(data, time: Double(sec) + Double(ns) * 1e-9)
    }
}
