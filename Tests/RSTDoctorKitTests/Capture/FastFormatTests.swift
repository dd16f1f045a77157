import Foundation
import XCTest

@testable import RSTDCapture
@testable import RSTDCore

/// The formatters made faster for capture records write what the slower ones wrote.
final class FastFormatTests: XCTestCase {
    func testIPv4TextIsDottedDecimal() {
        var values: [UInt32] = [0, 1, 9, 10, 99, 100, 255, 0x0A00_0001, 0xC0A8_0164, 0xFFFF_FFFF, 0x6464_6464, 0x0909_0909]
        var x: UInt32 = 0x1234_5678
        for _ in 0..<2000 {
            x = x &* 1_664_525 &+ 1_013_904_223
            values.append(x)
        }
        for v in values {
            XCTAssertEqual(IPAddress(v4: v).text, "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)")
        }
    }

    /// ByteOutput writes integers two digits at a time: what `"\(v)"` writes.
    func testDecimalIsStringInterpolation() {
        var values: [Int] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 4_294_967_295, .max, .min + 1, -1, -10, -100]
        var x: UInt64 = 0x1234_5678_9ABC
        for _ in 0..<5000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Int(truncatingIfNeeded: x >> (x & 63)))
        }
        for v in values {
            let o = ByteOutput()
            o.decimal(v)
            XCTAssertEqual(o.string(from: 0), "\(v)")
        }
        let o = ByteOutput()
        o.decimal(UInt64.max)
        XCTAssertEqual(o.string(from: 0), "\(UInt64.max)")
    }

    /// ByteOutput writes doubles with NumberText where it can: the bytes of `description`, on the values
    /// capture records hold (timestamps, their differences, short gaps) and their edges (bench/double-text
    /// checks 200 million more).
    func testDoubleIsDescription() {
        var values: [Double] = [0, -0.0, 1, 0.5, 3, 0.0001, 0.000_099_99, 0.001, 1e15, 9_007_199_254_740_991,
                                9_007_199_254_740_992, 9_007_199_254_740_994, 1e16, 1_700_000_000.000_71,
                                0.000_699_996_948_242_187_5, 0.000_580_072_402_954_101_6, 1e-5, 123.456, -2.25, 1e300, 5e-324]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<100_000 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let t = 1_700_000_000 + Double(x % 100_000_000_000) / 1e6
            switch i % 4 {
            case 0: values.append(t)
            case 1: values.append(t - (1_700_000_000 + Double((x >> 20) % 100_000_000_000) / 1e6))
            case 2: values.append(Double(bitPattern: (x & 0x000F_FFFF_FFFF_FFFF) | (UInt64(1009 + x >> 58 % 67) << 52)))
            default: values.append((Double(x % 1_000_000) / 1e6).nextUp)
            }
        }
        var fast = 0
        let o = ByteOutput()
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        defer { scratch.deallocate() }
        for v in values {
            if NumberText.double(v, into: scratch) != nil { fast += 1 }
            o.reset()
            o.double(v)
            XCTAssertEqual(o.string(from: 0), v.description)
        }
        XCTAssertGreaterThan(fast, values.count * 9 / 10)
    }

    /// ByteOutput writes a time span's whole number and unit as bytes: what `Seconds.render` writes.
    func testSecondsAsBytesIsRender() {
        var values: [Double] = [0, -0.001, -1, 0.000_000_4, 0.000_5, 0.000_999_9, 0.001, 0.5, 0.999_6, 1, 1.5, 59, 119.99, 120,
                                7199, 7200, 172_799, 172_800, 1e20, .infinity, .nan, 5e-324]
        var x = 0.000_001
        for _ in 0..<3000 {
            x = (x * 3.7).truncatingRemainder(dividingBy: 1e6) + 0.000_001_3
            values.append(x)
            values.append(x.rounded())
        }
        let o = ByteOutput()
        for v in values {
            o.reset()
            o.seconds(v)
            XCTAssertEqual(o.string(from: 0), Seconds.render(v), "\(v)")
        }
    }

    func testSecondsWholeIsPrintfs() {
        var values: [Double] = [0.4, 0.5, 1.5, 2.5, 3.5, 999.5, 1000.49, 1e-9, 0.000_499_9, 7199.9, 59.5, 1e14 + 0.5]
        var x = 0.001
        for _ in 0..<2000 {
            x = (x * 7.31).truncatingRemainder(dividingBy: 1e7) + 0.000_3
            values.append(x)
        }
        for v in values { XCTAssertEqual(Seconds.whole(v), String(format: "%.0f", v), "\(v)") }
        for v in [0.000_000_4, 0.000_7, 0.25, 0.999_6, 61.0, 300, 7000, 200_000] {
            XCTAssertFalse(Seconds.render(v).isEmpty)
        }
    }
}
