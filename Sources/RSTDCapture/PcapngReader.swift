import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// A pcapng reader for the files libpcap refuses: several interfaces with different link types or
/// snapshot lengths (what `dumpcap -i eth0 -i lo` writes). Each packet carries its interface's link
/// type and timestamp resolution. Used only as a fallback; libpcap reads everything else.
package final class PcapngReader {
    private let file: UnsafeMutablePointer<FILE>
    /// Our own allocation, so the packet pointer handed out stays valid until the next call.
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
    private var bigEndian = false
    private var interfaces: [(linkType: Int32, scale: Double)] = []
    /// Blocks larger than this are corrupt for our purposes (libpcap caps records similarly).
    private static let maxBlock = 16 << 20

    package init(path: String) throws(CaptureError) {
        guard let f = fopen(path, "rb") else {
            throw CaptureError("could not open \(Sanitize.line(path)): \(String(cString: strerror(errno))).")
        }
        setvbuf(f, stdioBuffer, _IOFBF, 1 << 20)
        file = f
    }

    /// glibc uses the size given to setvbuf only with a caller's buffer; freed after fclose.
    private let stdioBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 1 << 20)

    deinit {
        fclose(file)
        stdioBuffer.deallocate()
        buffer.deallocate()
    }

    /// Whether the file starts with a pcapng section header block.
    package static func isPcapng(path: String) -> Bool {
        guard let f = fopen(path, "rb") else { return false }
        defer { fclose(f) }
        var magic: UInt32 = 0
        guard fread(&magic, 4, 1, f) == 1 else { return false }
        return magic == 0x0A0D_0D0A
    }

    /// The first interface's link type when interfaces of one section differ in link type or
    /// snapshot length (libpcap refuses those files); nil otherwise. Reads only block headers.
    package static func mixedInterfaces(path: String) -> Int32? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var big = false
        var first: (UInt16, UInt32)?
        var head = [UInt8](repeating: 0, count: 16)
        func u32(_ o: Int) -> UInt32 {
            let v = UInt32(head[o]) | UInt32(head[o + 1]) << 8 | UInt32(head[o + 2]) << 16 | UInt32(head[o + 3]) << 24
            return big ? v.byteSwapped : v
        }
        while fread(&head, 1, 12, f) == 12 {
            let raw = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
            if raw == 0x0A0D_0D0A {
                let bom = UInt32(head[8]) | UInt32(head[9]) << 8 | UInt32(head[10]) << 16 | UInt32(head[11]) << 24
                guard bom == 0x1A2B_3C4D || bom == 0x4D3C_2B1A else { return nil }
                big = bom == 0x4D3C_2B1A
                first = nil
            }
            let type = big ? raw.byteSwapped : raw
            let len = Int(u32(4))
            guard len >= 12, len % 4 == 0, len <= maxBlock else { return nil }
            var used = 12
            if type == 1 && len >= 20 {
                guard fread(&head[12], 1, 4, f) == 4 else { return nil }
                used = 16
                let lt = big ? (UInt16(head[8]) << 8 | UInt16(head[9])) : (UInt16(head[8]) | UInt16(head[9]) << 8)
                let snap = u32(12)
                if let (l, s) = first {
                    if l != lt || s != snap { return Int32(l) }
                } else {
                    first = (lt, snap)
                }
            }
            guard fseek(f, len - used, SEEK_CUR) == 0 else { return nil }
        }
        return nil
    }

    package enum Next {
        case packet(UnsafeRawBufferPointer, time: Double, wireLength: Int, linkType: Int32)
        case end
        case error(String)
    }

    @inline(__always) private func u16(_ off: Int) -> UInt16 {
        let v = UInt16(buffer[off]) | UInt16(buffer[off + 1]) << 8
        return bigEndian ? v.byteSwapped : v
    }

    @inline(__always) private func u32(_ off: Int) -> UInt32 {
        let v = UInt32(buffer[off]) | UInt32(buffer[off + 1]) << 8 | UInt32(buffer[off + 2]) << 16 | UInt32(buffer[off + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    /// The next packet; the buffer is valid until the following call.
    package func next() -> Next {
        while true {
            var head = [UInt8](repeating: 0, count: 8)
            let got = fread(&head, 1, 8, file)
            if got == 0 { return .end }
            guard got == 8 else { return .error("the file ends in the middle of a block header") }
            var type = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
            if type == 0x0A0D_0D0A {
                // A section header: its byte-order magic decides how everything after it is read.
                var bom: UInt32 = 0
                guard fread(&bom, 4, 1, file) == 1 else { return .error("the file ends inside a section header") }
                if bom == 0x1A2B_3C4D { bigEndian = false } else if bom == 0x4D3C_2B1A { bigEndian = true } else {
                    return .error("bad section header byte-order magic")
                }
                interfaces.removeAll()
                for k in 0..<8 { buffer[k] = head[k] }
                let len = Int(u32(4))
                guard len >= 28, len % 4 == 0, len <= Self.maxBlock else { return .error("section header block of bad length \(len)") }
                buffer[8] = 0; buffer[9] = 0; buffer[10] = 0; buffer[11] = 0
                guard readRest(from: 12, total: len) else { return .error("the file ends inside a section header") }
                let major = u16(12)
                guard major == 1 else { return .error("unsupported pcapng version \(major).\(u16(14))") }
                continue
            }
            for k in 0..<8 { buffer[k] = head[k] }
            if bigEndian { type = type.byteSwapped }
            let len = Int(u32(4))
            guard len >= 12, len % 4 == 0, len <= Self.maxBlock else { return .error("block of bad length \(len)") }
            guard readRest(from: 8, total: len) else { return .error("the file ends in the middle of a block") }
            switch type {
            case 1:  // interface description
                guard len >= 20 else { return .error("interface block too short") }
                let lt = Int32(u16(8))
                var scale = 1e-6
                var o = 16
                while o + 4 <= len - 4 {
                    let code = u16(o), olen = Int(u16(o + 2))
                    if code == 0 { break }
                    guard o + 4 + olen <= len - 4 else { break }
                    if code == 9, olen >= 1 {
                        let r = buffer[o + 4]
                        scale = r & 0x80 != 0 ? pow(2, -Double(r & 0x7F)) : pow(10, -Double(r & 0x7F))
                    }
                    o += 4 + ((olen + 3) & ~3)
                }
                interfaces.append((lt, scale))
            case 6, 2:  // enhanced packet, obsolete packet
                guard len >= 32 else { return .error("packet block too short") }
                let ifid = type == 6 ? Int(u32(8)) : Int(u16(8))
                guard ifid < interfaces.count else { return .error("packet on undeclared interface \(ifid)") }
                let ts = UInt64(u32(12)) << 32 | UInt64(u32(16))
                let cap = Int(u32(20)), wire = Int(u32(24))
                guard cap <= len - 32 else { return .error("packet longer than its block") }
                let i = interfaces[ifid]
                return .packet(UnsafeRawBufferPointer(rebasing: buffer[28..<(28 + cap)]), time: Double(ts) * i.scale, wireLength: wire, linkType: i.linkType)
            case 3:  // simple packet: interface 0, no timestamp
                guard len >= 16, let i = interfaces.first else { return .error("simple packet block without interface") }
                let wire = Int(u32(8))
                let cap = min(wire, len - 16)
                return .packet(UnsafeRawBufferPointer(rebasing: buffer[12..<(12 + cap)]), time: 0, wireLength: wire, linkType: i.linkType)
            default:
                continue
            }
        }
    }

    private func readRest(from start: Int, total: Int) -> Bool {
        if buffer.count < total {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 8)
            bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
            buffer.deallocate()
            buffer = bigger
        }
        let need = total - start
        guard need > 0, let base = buffer.baseAddress else { return need == 0 }
        return fread(base + start, 1, need, file) == need
    }
}
