import Foundation
import XCTest

@testable import RSTDCapture
@testable import RSTDCore
@testable import RSTDData
@testable import RSTDInfer
@testable import RSTDKnowledge

/// The engine's list of a capture's RSTs is bounded (`CaptureFacts.list()`: at most 64 alike), but
/// the counts rules and explanations give cover every RST (issue 16): each listed record carries the
/// RSTs it stands for (`rsts`), and count() weighs records by it.
final class CaptureBoundedCountTests: XCTestCase {
    /// A pcap of `n` refused connections (SYN, then RST/ACK from a server with no listener), written
    /// the way tcpdump writes Ethernet captures. With `payloadEvery`, every so many RSTs carry a text.
    private func refusedCapture(_ n: Int, payloadEvery: Int = 0) throws -> URL {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(0xA1B2_C3D4); u16(2); u16(4); u32(0); u32(0); u32(262_144); u32(1)
        func frame(_ t: Int, src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8,
                   ttl: UInt8, window: UInt16, payload: [UInt8] = []) {
            var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
            func be16(_ v: UInt16) { f += [UInt8(v >> 8), UInt8(v & 0xFF)] }
            func be32(_ v: UInt32) { be16(UInt16(v >> 16)); be16(UInt16(v & 0xFFFF)) }
            f += [0x45, 0]; be16(UInt16(40 + payload.count)); be16(1); be16(0x4000); f += [ttl, 6]; be16(0); be32(src); be32(dst)
            be16(sport); be16(dport); be32(seq); be32(ack); f += [0x50, flags]; be16(window); be16(0); be16(0)
            f += payload
            u32(1_700_000_000 + UInt32(t / 1000)); u32(UInt32(t % 1000) * 1000); u32(UInt32(f.count)); u32(UInt32(f.count))
            d.append(contentsOf: f)
        }
        for k in 0..<n {
            let client: UInt32 = 0xC612_0002 + UInt32(k % 200), server: UInt32 = 0xC613_0001
            let sport = UInt16(20_000 + k)
            frame(2 * k, src: client, dst: server, sport: sport, dport: 80, seq: 1000, ack: 0, flags: 0x02, ttl: 64, window: 502)
            let text = payloadEvery > 0 && k % payloadEvery == 0 ? Array("refused by policy \(k)".utf8) : []
            frame(2 * k + 1, src: server, dst: client, sport: 80, dport: sport, seq: 0, ack: 1001, flags: 0x14, ttl: 63, window: 0,
                  payload: text)
        }
        let url = FileManager.default.temporaryDirectory.appending(path: "rstd-bounded-\(getpid())-\(n).pcap")
        try d.write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testCountsCoverEveryRSTBeyondTheBound() throws {
        let n = 300
        let url = try refusedCapture(n)
        let r = try CaptureFile.analyze(path: url.path, classes: CaptureFixtures.classes(), sink: CaptureFacts.list())
        XCTAssertEqual(r.rstCount, n)
        // The list stays bounded: 64 alike, the rest counted as not listed.
        XCTAssertEqual(r.resets.count, 64)
        XCTAssertEqual(r.resets.count + r.resetsNotListed, n)
        let cause = try XCTUnwrap(r.resets.first?.cause)
        let facts = CaptureFacts.facts(r).values
        guard case .records(let records)? = facts["capture.resets"] else { return XCTFail("no capture.resets") }
        XCTAssertEqual(records.compactMap { $0["rsts"]?.integer }.reduce(0, +), Int128(n))

        // count() over the records counts every RST, in a rule's explanation too.
        let kb = try KnowledgeTestSupport.load(KnowledgeTestSupport.root)
        let out = Engine(kb: kb).infer(KnowledgeTestSupport.store(facts))
        let evidence = out.causes.flatMap { $0.forEvidence + $0.against }
        let e = try XCTUnwrap(evidence.first { $0.rule == "capture-shows-\(cause)" }, "\(evidence.map(\.rule))")
        XCTAssertTrue(e.explain.contains("shows \(n) reset(s)"), e.explain)
    }

    /// A capture larger than the reader's buffer and batch: the reader thread (a RST's payload copied
    /// out of its read buffer), FastPcapReader on one thread and libpcap give the same bytes.
    func testSameBytesWithEveryReadingPath() throws {
        let url = try refusedCapture(20_000, payloadEvery: 7)
        func json(_ fast: Bool, _ thread: Bool) throws -> String {
            let out = ByteOutput()
            let sink = CaptureJSON(out: out, source: "x")
            let r = try CaptureFile.analyze(path: url.path, classes: CaptureFixtures.classes(), fastReader: fast, sink: sink,
                                            readerThread: thread)
            sink.finish(r)
            XCTAssertEqual(r.rstCount, 20_000)
            return String(decoding: out.bytes, as: UTF8.self)
        }
        let threaded = try json(true, true)
        XCTAssertTrue(threaded.contains("\"payload\":\"refused by policy 19999\""))
        XCTAssertEqual(threaded, try json(true, false))
        XCTAssertEqual(threaded, try json(false, false))
    }

    func testWeightsAreOneWhenNothingIsLeftOut() throws {
        let url = try refusedCapture(10)
        let r = try CaptureFile.analyze(path: url.path, classes: CaptureFixtures.classes(), sink: CaptureFacts.list())
        XCTAssertEqual(r.resets.count, 10)
        XCTAssertEqual(r.resetWeights, [Int](repeating: 1, count: 10))
    }
}
