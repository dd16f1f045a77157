/// Numbers written as decimal text into memory, without making a String (ByteOutput's numbers).
///
/// `double` writes `Double.description`'s bytes for the values a capture record holds (times, gaps):
/// positive or negative, from 0.0001 to 2^53 in plain decimal (`1700000000.00071`, `3.0`,
/// `0.0005800724029541016`), from 1e-7 to 0.0001 in exponent form (`1.0013580322265625e-05`), as
/// `description` does. Its digits are the shortest that read back as the same Double, the closest to
/// it among those, the even one of two as close. Other values and powers of two (whose rounding
/// interval is lopsided) return nil: the caller writes `description`.
/// Self-contained: bench/double-text checks it against `description` on 200 million values.
enum NumberText {
    /// Writes `v` at `p` (room for 32 bytes); returns the number of bytes, or nil.
    static func double(_ v: Double, into p: UnsafeMutablePointer<UInt8>) -> Int? {
        let bits = v.bitPattern
        let fraction = bits & (1 << 52 - 1)
        let biased = Int(truncatingIfNeeded: bits >> 52) & 0x7FF
        var n = 0
        if bits >> 63 != 0 {
            p[0] = 0x2D
            n = 1
        }
        if biased == 0 && fraction == 0 {
            p[n] = 0x30; p[n + 1] = 0x2E; p[n + 2] = 0x30
            return n + 3
        }
        // 0.0001 ... 2^53, not a power of two.
        guard fraction != 0, biased <= 1075, v.magnitude >= 1e-7 else { return nil }
        let m = fraction | 1 << 52
        let e = biased - 1075  // v = m * 2^e, -76 <= e <= 0
        // The integers at scale 10^k whose value reads back as v lie within half a unit in the last
        // place of v: strictly between (2m - 1) * 2^(e-1) * 10^k and (2m + 1) * 2^(e-1) * 10^k, that
        // is (2m * 5^k -+ 5^k) / 2^(1 - e - k). There is one once the interval is a unit wide.
        var k = e == 0 ? 0 : (-e &* 78913) >> 18
        var lo: UInt64, hi: UInt64
        if e == 0 {
            (lo, hi) = (m, m)
        } else {
            while true {
                let d = pow5[k]
                let x = U128(m, d)
                let u = U128(hi: x.hi << 1 | x.lo >> 63, lo: x.lo << 1)
                // u - d and u + d are odd and the divisor even: never exact.
                lo = u.minus(d).shifted(1 - e - k) &+ 1
                hi = u.plus(d).shifted(1 - e - k)
                if lo <= hi { break }
                k += 1
                guard k < pow5.count else { return nil }
            }
        }
        // The shortest: drop digits while a multiple of ten is left in [lo, hi].
        var q = k
        while (lo &+ 9) / 10 <= hi / 10 {
            lo = (lo &+ 9) / 10
            hi /= 10
            q -= 1
        }
        var t = lo
        if lo < hi {
            // Several with that many digits: the one closest to v, v * 10^q = m * 5^q / 2^s.
            let s = -e - q
            guard q >= 0, s > 0 else { return nil }
            let x = U128(m, pow5[q])
            var r = x.shifted(s)
            switch x.restAgainstHalf(s) {
            case 1: r &+= 1
            case 0: if r & 1 == 1 { r &+= 1 }  // a tie (a short dyadic value): the even one
            default: break
            }
            guard r >= lo, r <= hi else { return nil }
            t = r
        }
        if v.magnitude < 0.0001 {
            // t * 10^-q as d.ddde-XX: the first digit, the others after a point (if any), the exponent.
            let len = decimal(t, into: p + n + 1)
            p[n] = p[n + 1]
            if len > 1 {
                p[n + 1] = 0x2E
                n += len + 1
            } else {
                n += 1
            }
            let x = q - (len - 1)  // 5 ... 7 here
            p[n] = 0x65; p[n + 1] = 0x2D; p[n + 2] = 0x30 &+ UInt8(truncatingIfNeeded: x / 10)
            p[n + 3] = 0x30 &+ UInt8(truncatingIfNeeded: x % 10)
            return n + 4
        }
        // t * 10^-q, as plain decimal with at least one digit after the point.
        if q <= 0 {
            n += decimal(t, into: p + n)
            for _ in 0..<(-q) { p[n] = 0x30; n += 1 }
            p[n] = 0x2E; p[n + 1] = 0x30
            return n + 2
        }
        // (t < 10^q when q > 19: a value below 1.)
        let scale = q < 20 ? pow10[q] : 0
        n += decimal(scale == 0 ? 0 : t / scale, into: p + n)
        p[n] = 0x2E
        n += 1
        var f = scale == 0 ? t : t % scale
        var i = n + q
        while i > n + 1 {
            let r = Int(truncatingIfNeeded: f % 100) &* 2
            f /= 100
            i -= 2
            p[i] = pairs[r]
            p[i + 1] = pairs[r + 1]
        }
        if i > n { p[n] = UInt8(truncatingIfNeeded: f) &+ 0x30 }
        return n + q
    }

    /// A 128-bit product, shifted and compared without 128-bit arithmetic's overflow checks.
    private struct U128 {
        var hi: UInt64, lo: UInt64
        init(hi: UInt64, lo: UInt64) { (self.hi, self.lo) = (hi, lo) }
        init(_ a: UInt64, _ b: UInt64) { (hi, lo) = a.multipliedFullWidth(by: b) }
        func minus(_ d: UInt64) -> U128 { U128(hi: hi &- (lo < d ? 1 : 0), lo: lo &- d) }
        func plus(_ d: UInt64) -> U128 {
            let l = lo &+ d
            return U128(hi: hi &+ (l < lo ? 1 : 0), lo: l)
        }
        /// The low 64 bits of self >> s (0 < s < 128).
        func shifted(_ s: Int) -> UInt64 { s >= 64 ? hi &>> UInt64(s - 64) : lo &>> UInt64(s) | hi &<< UInt64(64 - s) }
        /// The bits below bit `s` (0 < s < 128) against 2^(s-1): -1 less, 0 equal, 1 more.
        func restAgainstHalf(_ s: Int) -> Int {
            let b = s - 1
            let (top, below) = b >= 64
                ? (hi &>> UInt64(b - 64) & 1, (b == 64 ? 0 : hi &<< UInt64(128 - b)) | lo)
                : (lo &>> UInt64(b) & 1, b == 0 ? 0 : lo &<< UInt64(64 - b))
            return top == 0 ? -1 : (below == 0 ? 0 : 1)
        }
    }

    /// `v` in decimal at `p` (room for 20 bytes), as `"\(v)"` writes it, two digits at a time;
    /// returns the number of digits.
    @inline(__always) static func decimal(_ v: UInt64, into p: UnsafeMutablePointer<UInt8>) -> Int {
        if v < 10 {
            p[0] = UInt8(truncatingIfNeeded: v) &+ 0x30
            return 1
        }
        // log10 from the bit length (1233 / 4096 ~ log10 2), then one comparison.
        var len = ((64 &- v.leadingZeroBitCount) &* 1233) &>> 12
        if v >= pow10[len] { len &+= 1 }
        var x = v
        var i = len
        while i > 1 {
            let r = Int(truncatingIfNeeded: x % 100) &* 2
            x /= 100
            i -= 2
            p[i] = pairs[r]
            p[i + 1] = pairs[r + 1]
        }
        if i == 1 { p[0] = UInt8(truncatingIfNeeded: x) &+ 0x30 }
        return len
    }

    /// "00" to "99", one after the other.
    private static var pairs: UnsafePointer<UInt8> {
        let s: StaticString = """
            00010203040506070809101112131415161718192021222324252627282930313233343536373839\
            40414243444546474849505152535455565758596061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899
            """
        return s.utf8Start
    }

    private static let pow5: [UInt64] = [
        1, 5, 25, 125, 625, 3125, 15625, 78125, 390625, 1953125, 9765625, 48828125, 244140625, 1220703125,
        6103515625, 30517578125, 152587890625, 762939453125, 3814697265625, 19073486328125, 95367431640625,
        476837158203125, 2384185791015625, 11920928955078125, 59604644775390625, 298023223876953125,
        1490116119384765625, 7450580596923828125,
    ]
    private static let pow10: [UInt64] = [
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000,
        1000000000000, 10000000000000, 100000000000000, 1000000000000000, 10000000000000000, 100000000000000000,
        1000000000000000000, 10000000000000000000,
    ]
}
