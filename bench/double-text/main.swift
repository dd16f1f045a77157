// bench/double-text: NumberText.double (Sources/RSTDCapture/NumberText.swift) against Double.description, value by value.
// Prints the number of values checked, written by it (the rest: description) and wrong (must be 0).
import Foundation
var buf = [UInt8](repeating: 0, count: 64)
var checked = 0, fast = 0, bad = 0
@inline(never) func check(_ v: Double) {
    checked += 1
    let n = buf.withUnsafeMutableBufferPointer { NumberText.double(v, into: $0.baseAddress!) }
    guard let n else { return }
    fast += 1
    let s = String(decoding: buf[0..<n], as: UTF8.self)
    if s != v.description {
        bad += 1
        if bad < 20 { print("MISMATCH", v.description, s) }
    }
}
// The values of real captures, from files of numbers (one per line: run.sh extracts them from JSON).
for path in CommandLine.arguments.dropFirst() {
    let text = try! String(contentsOfFile: path, encoding: .utf8)
    for line in text.split(separator: "\n") { if let v = Double(line) { check(v); check(-v) } }
}
print("files: checked \(checked) fast \(fast) bad \(bad)")
var x: UInt64 = 0x9E37_79B9_7F4A_7C15
func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
let N = Int(ProcessInfo.processInfo.environment["N"] ?? "10000000")!
for i in 0..<N {
    let r = next()
    switch i % 11 {
    case 8: check(Double(r >> 40) / Double(UInt64(1) << (10 + r % 40)))  // short dyadic values (ties)
    case 9: check(pow(10, Double(r % 3000) / 1000 - 7) * (1 + Double(r >> 40) / 1e9))  // 1e-7 to 1e-4
    case 10: check(Double(r % 1_000_000) / 1e6 - Double((r >> 30) % 1_000_000) / 1e6 + Double(r >> 50) / 4_194_304)
    case 0: check(Double(bitPattern: (r & 0x000F_FFFF_FFFF_FFFF) | (UInt64(1009 + r >> 58 % 67) << 52)))  // random bits in range
    case 1: check(1_700_000_000 + Double(r % 100_000_000_000) / 1e6)  // pcap timestamps
    case 2:
        let a = 1_700_000_000 + Double(r % 100_000_000_000) / 1e6, b = 1_700_000_000 + Double((r >> 20) % 100_000_000_000) / 1e6
        check(abs(a - b))  // differences of timestamps
    case 3: check(Double(r % 10_000_000_000) / [1.0, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9][Int(r >> 60) % 10])  // short decimals
    case 4: let d = Double(r % 1_000_000_000) / 1e9; check(d.nextUp); check(d.nextDown)
    case 5: check(Double(r >> 11) / 1e3)  // large
    case 6: check(Double(r % (1 << 53)))  // integers
    case 7: check(pow(10, Double(r % 2000) / 100 - 4) * (1 + Double(r >> 40) / 1e9))
    default: break
    }
}
print("checked \(checked) fast \(fast) bad \(bad)")
// NumberText.decimal against "\(v)" on integers of every length.
var ibad = 0
let ibuf = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
for i in 0..<(N / 4 + 64) {
    let r = next()
    let v = i < 64 ? (i == 0 ? 0 : UInt64(1) << UInt64(i - 1)) : r >> (r % 64)
    for w in [v, v &- 1, v &+ 1] {
        let n = NumberText.decimal(w, into: ibuf)
        if String(decoding: UnsafeBufferPointer(start: ibuf, count: n), as: UTF8.self) != "\(w)" { ibad += 1 }
    }
}
print("integers: bad \(ibad)")
