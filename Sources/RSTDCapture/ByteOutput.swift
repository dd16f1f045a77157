import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Bytes written to a file descriptor through a buffer, or kept in memory (fd -1). The buffer is
/// raw memory the writer appends to with plain stores (an array's uniqueness and capacity checks on
/// every append were a third of the cost of a JSON record); a memory output grows, a file output is
/// written out by `flushIfFull()` between records.
/// JSON strings and fields: ByteOutput+JSON.swift.
package final class ByteOutput {
    /// The buffer and what it holds (set by this file and ByteOutput+JSON.swift only).
    private(set) var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private var capacity: Int
    let fd: Int32
    private static let chunk = 1 << 16

    package init(fd: Int32 = -1) {
        self.fd = fd
        capacity = Self.chunk + 8192
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deallocate()
        if fd > 2 { close(fd) }
    }

    /// What is buffered (all that was written, for a memory output).
    package var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// An unlinked temporary file (nil when none can be made).
    static func temporary() -> ByteOutput? {
        var template = Array("\(NSTemporaryDirectory())/rstdoctor-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return ByteOutput(fd: fd)
    }

    /// Room for `n` more bytes; returns where they go.
    @inline(__always) func room(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count + n > capacity { grow(n) }
        return base + count
    }

    @inline(never) private func grow(_ n: Int) {
        let c = max(capacity * 2, count + n)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }

    /// A file output writes what it holds once a chunk is full (called between records).
    @inline(__always) func flushIfFull() { if fd >= 0, count >= Self.chunk { flush() } }

    @inline(__always) func byte(_ b: UInt8) {
        room(1).pointee = b
        count += 1
    }

    @inline(__always) func append(_ p: UnsafeRawBufferPointer) {
        guard let src = p.baseAddress, p.count > 0 else { return }
        UnsafeMutableRawPointer(room(p.count)).copyMemory(from: src, byteCount: p.count)
        count += p.count
    }

    @inline(__always) func append(_ p: UnsafeBufferPointer<UInt8>) { append(UnsafeRawBufferPointer(p)) }

    /// Literal text (no escaping).
    @inline(__always) func raw(_ s: StaticString) {
        // A one-character literal may be held as a scalar.
        guard s.hasPointerRepresentation else { return s.withUTF8Buffer { append($0) } }
        let n = s.utf8CodeUnitCount
        Self.copySmall(s.utf8Start, n, to: room(n))
        count += n
    }

    /// Text as it is (no escaping).
    func write(_ s: String) {
        var s = s
        s.withUTF8 { append($0) }
        flushIfFull()
    }

    /// Text as it is, without the flush check (inside a record or an explanation).
    @inline(__always) func text(_ s: String) {
        var s = s
        s.withUTF8 { append($0) }
    }

    /// Writes out what is buffered (a memory output keeps it).
    package func flush() {
        guard fd >= 0, count > 0 else { return }
        var off = 0
        while off < count {
            let n = Foundation.write(fd, base + off, count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }  // a closed pipe: nothing more can be written
            off += n
        }
        count = 0
    }

    /// Appends everything written to `other` (a temporary file or memory).
    func append(contentsOf other: ByteOutput) {
        other.flush()
        guard other.fd >= 0 else {
            append(UnsafeRawBufferPointer(start: other.base, count: other.count))
            flushIfFull()
            return
        }
        flush()
        lseek(other.fd, 0, SEEK_SET)
        while true {
            let p = room(Self.chunk)
            let n = Foundation.read(other.fd, p, Self.chunk)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
            if fd >= 0 { flush() }
        }
    }

    /// Replaces the bytes from `start` on with `s` (an explanation's capitalised first piece).
    func replace(from start: Int, with s: String) {
        count = start
        text(s)
    }

    /// The bytes from `start` on, as text.
    func string(from start: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: count - start), as: UTF8.self)
    }

    /// Upper-cases the ASCII letter at `i` (a byte already written).
    func upperASCII(at i: Int) {
        if base[i] >= 0x61 && base[i] <= 0x7A { base[i] -= 0x20 }
    }

    /// The byte at `i` (already written).
    func at(_ i: Int) -> UInt8 { base[i] }

    /// Forgets what is buffered (a scratch output reused from record to record).
    func reset() { count = 0 }

    // MARK: numbers and addresses, written as bytes

    /// An integer in decimal, as `"\(v)"` writes it.
    @inline(__always) func decimal(_ v: Int) {
        if v < 0 { byte(0x2D) }
        decimal(UInt64(v.magnitude))
    }

    @inline(__always) func decimal(_ v: UInt64) { count += NumberText.decimal(v, into: room(20)) }

    /// A time span as `Seconds.render` writes it (whole numbers and their unit without a string).
    func seconds(_ v: Double) {
        if let (n, unit) = Seconds.parts(v) {
            decimal(n)
            raw(unit)
        } else {
            text(Seconds.render(v))
        }
    }

    /// An address as `IPAddress.text` writes it (IPv4 dotted decimal without a string).
    @inline(__always) func address(_ a: IPAddress) {
        guard !a.isV6 else { return text(a.text) }
        count += IPAddress.writeDotted(UInt32(truncatingIfNeeded: a.lo), into: room(15))
    }
}
