import Foundation
import XCTest

@testable import RSTDCapture

/// The plain-pcap reader reads exactly what libpcap reads: same report for every corpus and lab
/// capture, including damaged ones (handed back to libpcap at the first odd record).
final class FastPcapReaderTests: XCTestCase {
    func testSameReportAsLibpcapForEveryCapture() throws {
        var urls = try CaptureFixtures.corpusFiles().map { CaptureFixtures.corpus.appending(path: $0) }
        let lab = CaptureFixtures.root.appending(path: "Tests/LabTests/Fixtures/pcap")
        urls += try FileManager.default.contentsOfDirectory(atPath: lab.path).filter { $0.hasSuffix(".pcap") }.map { lab.appending(path: $0) }
        let mine = CaptureFixtures.fixtures.appending(path: "lab")
        urls += try FileManager.default.contentsOfDirectory(atPath: mine.path).map { mine.appending(path: $0) }
        var fast = 0, handedOver = 0
        let classes = try CaptureFixtures.classes()
        let options = CaptureOptions(maxListedResets: 1_000_000)
        for url in urls {
            let a: CaptureReport, b: CaptureReport
            do { b = try CaptureFile.analyze(path: url.path, classes: classes, options: options, fastReader: false) } catch {
                XCTAssertThrowsError(try CaptureFile.analyze(path: url.path, classes: classes, options: options), url.lastPathComponent)
                continue
            }
            a = try CaptureFile.analyze(path: url.path, classes: classes, options: options)
            let name = url.lastPathComponent
            XCTAssertEqual(a.packets, b.packets, name)
            XCTAssertEqual(a.tcpPackets, b.tcpPackets, name)
            XCTAssertEqual(a.malformed, b.malformed, name)
            XCTAssertEqual(a.resets, b.resets, name)
            XCTAssertEqual(a.connStates, b.connStates, name)
            XCTAssertEqual(a.linkType, b.linkType, name)
            XCTAssertEqual(a.firstTime, b.firstTime, name)
            XCTAssertEqual(a.lastTime, b.lastTime, name)
            XCTAssertEqual(a.error, b.error, name)
            if let r = FastPcapReader(path: url.path) {
                fast += 1
                var n = 0
                loop: while true {
                    switch r.next() {
                    case .packet: n += 1
                    case .end: break loop
                    case .handOver: handedOver += 1; break loop
                    }
                }
            }
        }
        XCTAssertGreaterThan(fast, 50, "most corpus files are plain pcap")
        XCTAssertGreaterThan(handedOver, 0, "damaged files are handed back to libpcap")
    }
}
