import RSTDCore

/// ByteOutput's JSON: string literals (escaped where a byte needs it, found a word at a time) and
/// the `"key":value` fields of the capture records, written as bytes (no string per field).
extension ByteOutput {
    /// A JSON string literal: runs that need no escape are copied whole, found 8 bytes at a time.
    func string(_ s: String) {
        var s = s
        s.withUTF8 { string(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A JSON string literal of UTF-8 bytes (not in this output's own buffer).
    func string(bytes u: UnsafeRawBufferPointer) {
        // Short (a name, a flag, a state): looked at in two words, copied whole when clean.
        if u.count <= 16, let src = u.baseAddress, !Self.mayNeedEscape(short: src, u.count) {
            let n = u.count
            let p = room(n + 2)
            p[0] = 0x22
            Self.copySmall(src.assumingMemoryBound(to: UInt8.self), n, to: p + 1)
            p[n + 1] = 0x22
            count += n + 2
            return
        }
        byte(0x22)
        var run = 0, i = 0
        let n = u.count
        while i < n {
            if i + 8 <= n, let base = u.baseAddress {
                let w = (base + i).loadUnaligned(as: UInt64.self)
                if !Self.mayNeedEscape(w) { i += 8; continue }
            }
            // A word that may hold a byte to escape (or the last bytes): byte by byte.
            let end = min(n, i + 8)
            while i < end {
                let b = u[i]
                if Self.needsEscape(b) {
                    if run < i { append(UnsafeRawBufferPointer(rebasing: u[run..<i])) }
                    run = i + 1
                    escape(b)
                }
                i += 1
            }
        }
        if run < n { append(UnsafeRawBufferPointer(rebasing: u[run..<n])) }
        byte(0x22)
    }

    /// A JSON string literal of what `other` holds (a scratch output).
    func string(of other: ByteOutput) {
        string(bytes: UnsafeRawBufferPointer(start: other.base, count: other.count))
    }

    /// Ends a JSON string whose text was written as it is from `start` on (just after its opening
    /// quote): escaped in place, through `scratch`, when a byte needs it (an explanation is written
    /// straight into the output, and rarely needs an escape). With `checked`, the writer of the text
    /// knows no byte of it needs one (it looked at the bytes it did not know).
    func closeString(from start: Int, scratch: ByteOutput, checked: Bool = false) {
        guard !checked, needsEscape(from: start) else { return byte(0x22) }
        scratch.reset()
        scratch.append(UnsafeRawBufferPointer(start: base + start, count: count - start))
        count = start - 1
        string(of: scratch)
    }

    /// Whether one of the bytes written from `start` on needs a JSON escape.
    func needsEscape(from start: Int) -> Bool { Self.needsEscape(UnsafeRawPointer(base + start), count - start) }

    /// Whether one of `n` bytes is a control character, `"` or `\\`, looked at 8 bytes at a time.
    static func needsEscape(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            if i + 8 <= n, !mayNeedEscape((p + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            for k in i..<min(n, i + 8) {
                if needsEscape(p.load(fromByteOffset: k, as: UInt8.self)) { return true }
            }
            i += 8
        }
        return false
    }

    /// Whether a byte must be escaped in a JSON string: a control character, `"` or `\\`.
    @inline(__always) static func needsEscape(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5C }

    /// Whether one of the 8 bytes of `w` may be a control character, `"` or `\\` (never wrong when
    /// it says no; a yes is checked byte by byte).
    @inline(__always) static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- ones &* 0x20) & ~w & high
        let q = w ^ (ones &* 0x22), b = w ^ (ones &* 0x5C)
        return (control | ((q &- ones) & ~q & high) | ((b &- ones) & ~b & high)) != 0
    }

    /// Whether one of `n` <= 16 bytes may need an escape: overlapping loads, none past the end.
    @inline(__always) static func mayNeedEscape(short p: UnsafeRawPointer, _ n: Int) -> Bool {
        if n >= 8 {
            return mayNeedEscape(p.loadUnaligned(as: UInt64.self))
                || mayNeedEscape(p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
        }
        if n >= 4 {
            let a = UInt64(p.loadUnaligned(as: UInt32.self)), b = UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            return mayNeedEscape(a | b << 32)
        }
        for k in 0..<n where needsEscape(p.load(fromByteOffset: k, as: UInt8.self)) { return true }
        return false
    }

    private func escape(_ b: UInt8) {
        switch b {
        case 0x22: raw("\\\"")
        case 0x5C: raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        default:
            let hex: StaticString = "0123456789abcdef"
            raw("\\u00")
            byte(hex.utf8Start[Int(b >> 4)])
            byte(hex.utf8Start[Int(b & 15)])
        }
    }

    // The field writers append bytes directly (no string is made per field: a record has thirty).

    /// `"key":` or `,"key":` (keys are literals that need no escape), stored at once: a few words
    /// (byte by byte, and a copy call for the key, was a tenth of a record's cost).
    @inline(__always) func key(_ key: StaticString, first: Bool = false) {
        guard key.hasPointerRepresentation else {
            if !first { byte(0x2C) }
            byte(0x22)
            key.withUTF8Buffer { append($0) }
            return raw("\":")
        }
        let n = key.utf8CodeUnitCount
        let p = room(n + 4)
        var i = 0
        if !first {
            p[0] = 0x2C
            i = 1
        }
        p[i] = 0x22
        Self.copySmall(key.utf8Start, n, to: p + i + 1)
        p[i + n + 1] = 0x22
        p[i + n + 2] = 0x3A
        count += i + n + 3
    }

    /// Copies `n` bytes with a few loads and stores (short literals: no call to memcpy).
    @inline(__always) static func copySmall(_ s: UnsafePointer<UInt8>, _ n: Int, to d: UnsafeMutablePointer<UInt8>) {
        let src = UnsafeRawPointer(s), dst = UnsafeMutableRawPointer(d)
        if n >= 8 && n <= 16 {
            let a = src.loadUnaligned(as: UInt64.self), b = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            dst.storeBytes(of: a, as: UInt64.self)
            dst.storeBytes(of: b, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let a = src.loadUnaligned(as: UInt32.self), b = src.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            dst.storeBytes(of: a, as: UInt32.self)
            dst.storeBytes(of: b, toByteOffset: n - 4, as: UInt32.self)
        } else if n < 4 {
            for k in 0..<n { d[k] = s[k] }
        } else {
            dst.copyMemory(from: src, byteCount: n)
        }
    }

    @inline(__always) func field(_ k: StaticString, _ v: String?, first: Bool = false) {
        key(k, first: first)
        if let v { string(v) } else { null() }
    }

    @inline(__always) func field(_ k: StaticString, _ v: Int, first: Bool = false) {
        key(k, first: first)
        decimal(v)
    }

    @inline(__always) func field(_ k: StaticString, _ v: UInt32) {
        key(k)
        decimal(Int(v))
    }

    @inline(__always) func field(_ k: StaticString, _ v: Bool) {
        key(k)
        if v { raw("true") } else { raw("false") }
    }

    @inline(__always) func field(_ k: StaticString, _ v: Double?) {
        key(k)
        if let v, v.isFinite { double(v) } else { null() }
    }

    /// A Double as `description` writes it (made as a String only outside `NumberText`'s range).
    @inline(__always) func double(_ v: Double) {
        if let n = NumberText.double(v, into: room(32)) { count += n } else { text(v.description) }
    }

    /// A literal of the program's own (a `Word`) as a JSON string: it needs no escape (asserted).
    @inline(__always) func field(_ k: StaticString, word v: StaticString) {
        key(k)
        byte(0x22)
        let start = count
        raw(v)
        assert(!needsEscape(from: start), "a word needs a JSON escape")
        byte(0x22)
    }

    /// An IP address as a JSON string (its text needs no escape).
    @inline(__always) func field(_ k: StaticString, _ a: IPAddress, first: Bool = false) {
        key(k, first: first)
        byte(0x22)
        address(a)
        byte(0x22)
    }

    @inline(__always) func null() { raw("null") }
}
