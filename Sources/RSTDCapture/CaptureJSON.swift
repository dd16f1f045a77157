import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Bytes written to a file descriptor through a buffer, or kept in memory (fd -1).
package final class ByteOutput {
    /// Unchecked exclusivity: appended to byte by byte, only from the thread writing the output.
    @exclusivity(unchecked) private(set) var bytes: [UInt8] = []
    let fd: Int32
    private static let chunk = 1 << 16

    package init(fd: Int32 = -1) {
        self.fd = fd
        bytes.reserveCapacity(Self.chunk + 4096)
    }

    /// An unlinked temporary file (nil when none can be made).
    static func temporary() -> ByteOutput? {
        var template = Array("\(NSTemporaryDirectory())/rstdoctor-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return ByteOutput(fd: fd)
    }

    deinit { if fd > 2 { close(fd) } }

    @inline(__always) func write(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
        if fd >= 0, bytes.count >= Self.chunk { flush() }
    }

    @inline(__always) func byte(_ b: UInt8) { bytes.append(b) }

    /// Writes out what is buffered (a memory output keeps it).
    package func flush() {
        guard fd >= 0, !bytes.isEmpty else { return }
        var off = 0
        bytes.withUnsafeBytes { b in
            while off < b.count {
                let n = Foundation.write(fd, b.baseAddress! + off, b.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }  // a closed pipe: nothing more can be written
                off += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends everything written to `other` (a temporary file or memory).
    func append(contentsOf other: ByteOutput) {
        other.flush()
        guard other.fd >= 0 else {
            bytes.append(contentsOf: other.bytes)
            if fd >= 0, bytes.count >= Self.chunk { flush() }
            return
        }
        flush()
        lseek(other.fd, 0, SEEK_SET)
        var buf = [UInt8](repeating: 0, count: Self.chunk)
        while true {
            let n = buf.withUnsafeMutableBytes { Foundation.read(other.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: buf[0..<n])
            if fd >= 0 { flush() }
        }
    }

    /// A JSON string literal: runs that need no escape are copied whole, found 8 bytes at a time.
    func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            bytes.append(0x22)
            var run = 0, i = 0
            let n = u.count
            while i < n {
                if i + 8 <= n, let base = u.baseAddress {
                    let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    if !Self.mayNeedEscape(w) { i += 8; continue }
                }
                // A word that may hold a byte to escape (or the last bytes): byte by byte.
                let end = min(n, i + 8)
                while i < end {
                    let b = u[i]
                    if b < 0x20 || b == 0x22 || b == 0x5C {
                        if run < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<i])) }
                        run = i + 1
                        escape(b)
                    }
                    i += 1
                }
            }
            if run < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<n])) }
            bytes.append(0x22)
        }
    }

    /// Whether one of the 8 bytes of `w` may be a control character, `"` or `\\` (never wrong when
    /// it says no; a yes is checked byte by byte).
    @inline(__always) static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- ones &* 0x20) & ~w & high
        let q = w ^ (ones &* 0x22), b = w ^ (ones &* 0x5C)
        return (control | ((q &- ones) & ~q & high) | ((b &- ones) & ~b & high)) != 0
    }

    private func escape(_ b: UInt8) {
        switch b {
        case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
        case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
        case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
        case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
        }
    }

    // The field writers append bytes directly (no string is made per field: a record has thirty).

    /// `"key":` or `,"key":` (keys are literals that need no escape).
    @inline(__always) private func key(_ key: StaticString, first: Bool) {
        if !first { bytes.append(0x2C) }
        bytes.append(0x22)
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    /// An integer in decimal, as `"\(v)"` writes it.
    @inline(__always) private func integer(_ v: Int64) {
        if v < 0 { bytes.append(0x2D) }
        var m = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, filled from the end
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                n += 1
                d[24 - n] = UInt8(truncatingIfNeeded: m % 10) + 0x30
                m /= 10
            } while m > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[(24 - n)...]))
        }
    }

    func field(_ k: StaticString, _ v: String?, first: Bool = false) {
        key(k, first: first)
        if let v { string(v) } else { null() }
    }

    func field(_ k: StaticString, _ v: Int, first: Bool = false) {
        key(k, first: first)
        integer(Int64(v))
    }

    func field(_ k: StaticString, _ v: UInt32) {
        key(k, first: false)
        integer(Int64(v))
    }

    func field(_ k: StaticString, _ v: Bool) {
        key(k, first: false)
        write(v ? "true" : "false")
    }

    func field(_ k: StaticString, _ v: Double?) {
        key(k, first: false)
        if let v, v.isFinite { write(v.description) } else { null() }
    }

    private func null() { bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }
}

/// The JSON of `rstdoctor capture --format json` (docs/json-schema.md, `rstdoctor.capture/2`): one
/// document, the header, then every listed RST record on its own line as soon as it is final, the
/// reset connections (spooled to a temporary file meanwhile), then the summary. Memory stays fixed.
package final class CaptureJSON: ResetSink {
    package static let fullReport = CodingUserInfoKey(rawValue: "rstdoctor.capture.full")!
    private let out: ByteOutput
    private let flowSpool: ByteOutput
    private var resets = 0
    private var flows = 0

    package init(out: ByteOutput, source: String) {
        self.out = out
        flowSpool = out.fd >= 0 ? (ByteOutput.temporary() ?? ByteOutput()) : ByteOutput()
        out.write("{\"schema\":\"\(CaptureReport.schemaVersion)\",\"source\":")
        out.string(source)
        out.write(",\n\"resets\":[")
    }

    package func reset(_ r: ResetRecord) -> Bool {
        out.write(resets == 0 ? "\n" : ",\n")
        Self.encode(r, out)
        resets += 1
        return true
    }

    package func flow(_ o: FlowOutcome) {
        flowSpool.write(flows == 0 ? "\n{" : ",\n{")
        flowSpool.field("orig", o.orig, first: true)
        flowSpool.field("orig_port", o.origPort)
        flowSpool.field("resp", o.resp)
        flowSpool.field("resp_port", o.respPort)
        flowSpool.field("conn_state", o.connState)
        flowSpool.field("first_reset_frame", o.firstResetFrame)
        flowSpool.field("resets", o.resets)
        flowSpool.field("cause", o.cause)
        flowSpool.byte(0x7D)
        flows += 1
    }

    /// Ends the document with the reset connections and the summary (sorted keys), and flushes.
    package func finish(_ r: CaptureReport) {
        out.write("\n],\n\"reset_flows\":[")
        out.append(contentsOf: flowSpool)
        out.write("\n],\n")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let summary = (try? enc.encode(r)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        // The summary object's members continue the document.
        out.write(String(summary.dropFirst().drop { $0 == "\n" }))
        out.write("\n")
        out.flush()
    }

    /// The whole document of a report kept in memory.
    package static func document(_ r: CaptureReport) -> String {
        let out = ByteOutput()
        let w = CaptureJSON(out: out, source: r.source)
        for x in r.resets { _ = w.reset(x) }
        for o in r.resetFlows { w.flow(o) }
        w.finish(r)
        return String(decoding: out.bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// One record on one line, fields in the order of `ResetRecord.CodingKeys`.
    static func encode(_ x: ResetRecord, _ o: ByteOutput) {
        o.byte(0x7B)
        o.field("frame", x.frame, first: true)
        o.field("time", x.time)
        o.field("rel_time", x.relTime)
        o.field("src", x.src)
        o.field("sport", x.sport)
        o.field("dst", x.dst)
        o.field("dport", x.dport)
        o.field("flags", x.flags)
        o.field("seq", x.seq)
        o.field("ack", x.ack)
        o.field("window", x.window)
        o.field("ttl", x.ttl)
        o.field("sender", x.sender)
        o.field("roles", x.roles)
        o.field("answered", x.answered)
        if let f = x.answeredFrame { o.field("answered_frame", f) } else { o.field("answered_frame", nil as String?) }
        o.field("delay", x.delay)
        o.field("class", x.class)
        o.field("cause", x.cause)
        o.write(",\"causes\":[")
        for (i, c) in x.causes.enumerated() {
            if i > 0 { o.byte(0x2C) }
            o.string(c)
        }
        o.byte(0x5D)
        o.field("explain", x.explain)
        o.field("stateless", x.stateless)
        o.field("ttl_delta", x.ttlDelta)
        o.field("idle_before", x.idleBefore)
        if let p = x.payload { o.field("payload", p) }
        if let t = x.tunnel { o.field("tunnel", t) }
        if let d = x.direction { o.field("direction", d) }
        if let l = x.localBuilt { o.field("local_built", l) }
        o.byte(0x7D)
    }
}
