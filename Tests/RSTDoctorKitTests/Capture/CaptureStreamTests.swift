import Foundation
import XCTest

@testable import RSTDCapture

/// The streamed output (issue 16): every RST is either listed or counted as not listed, whatever the
/// limit and the sink; the bytes do not depend on the reader (FastPcapReader or libpcap); the stream
/// says what the in-memory report says.
final class CaptureStreamTests: XCTestCase {
    /// Corpus and lab captures, pcap and pcapng, with and without RSTs.
    private func captures() throws -> [URL] {
        var urls = try CaptureFixtures.corpusFiles().map { CaptureFixtures.corpus.appending(path: $0) }
        let mine = CaptureFixtures.fixtures.appending(path: "lab")
        urls += try FileManager.default.contentsOfDirectory(atPath: mine.path).sorted().map { mine.appending(path: $0) }
        return urls
    }

    /// The JSON document written by the streaming sink, and the report.
    private func streamJSON(_ url: URL, _ options: CaptureOptions, fast: Bool = true) throws -> (Data, CaptureReport)? {
        let out = ByteOutput()
        let sink = CaptureJSON(out: out, source: url.lastPathComponent)
        guard let r = try? CaptureFile.analyze(path: url.path, classes: CaptureFixtures.classes(), options: options, fastReader: fast, sink: sink) else {
            return nil
        }
        sink.finish(r)
        return (Data(out.bytes), r)
    }

    func testListedPlusNotListedIsRSTCount() throws {
        var withResets = 0, files = 0
        for url in try captures() {
            for limit in [Int.max, 0, 1, 3] {
                var o = CaptureOptions()
                o.maxListedResets = limit
                guard let (data, r) = try streamJSON(url, o) else { continue }
                let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], url.lastPathComponent)
                let listed = try XCTUnwrap(obj["resets"] as? [[String: Any]]).count
                let notListed = try XCTUnwrap(obj["resets_not_listed"] as? Int)
                let count = try XCTUnwrap(obj["rst_count"] as? Int)
                XCTAssertEqual(listed + notListed, count, "\(url.lastPathComponent) --max-resets \(limit)")
                XCTAssertEqual(obj["schema"] as? String, "rstdoctor.capture/2")
                XCTAssertLessThanOrEqual(listed, limit)
                if limit == .max { XCTAssertEqual(notListed, 0, url.lastPathComponent) }
                let frames = try XCTUnwrap(obj["resets"] as? [[String: Any]]).compactMap { $0["frame"] as? Int }
                XCTAssertEqual(frames, frames.sorted(), "frame order: \(url.lastPathComponent)")
                if limit == .max && count > 0 { withResets += 1 }
                // The bounded list for the engine (check --pcap) keeps the same arithmetic.
                if limit == .max {
                    let list = CaptureFacts.list()
                    let r2 = try CaptureFile.analyze(path: url.path, classes: CaptureFixtures.classes(), options: o, sink: list)
                    XCTAssertEqual(r2.resets.count + r2.resetsNotListed, r2.rstCount, url.lastPathComponent)
                    XCTAssertEqual(r2.rstCount, r.rstCount)
                    // Every kind of RST stays represented.
                    XCTAssertEqual(Set(r2.resets.map(\.class)), Set(r.resetsByClass.keys), url.lastPathComponent)
                }
            }
            files += 1
        }
        XCTAssertGreaterThan(files, 10)
        XCTAssertGreaterThan(withResets, 5)
    }

    func testSameBytesWithEitherReader() throws {
        var compared = 0
        for url in try captures() {
            for limit in [Int.max, 2] {
                var o = CaptureOptions()
                o.maxListedResets = limit
                let a = try streamJSON(url, o, fast: true), b = try streamJSON(url, o, fast: false)
                XCTAssertEqual(a == nil, b == nil, url.lastPathComponent)
                guard let (da, _) = a, let (db, _) = b else { continue }
                XCTAssertEqual(String(decoding: da, as: UTF8.self), String(decoding: db, as: UTF8.self), url.lastPathComponent)
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 10)
    }

    /// The streamed document decodes to the in-memory report, and the streamed text (`--resets`) is
    /// the in-memory rendering.
    func testStreamSaysWhatTheReportSays() throws {
        for url in try captures().prefix(40) {
            guard let (data, _) = try streamJSON(url, CaptureOptions()),
                  let mem = try? CaptureFixtures.analyze(url, options: CaptureOptions()) else { continue }
            let back = try JSONDecoder().decode(CaptureReport.self, from: data)
            XCTAssertEqual(back.resets.map(\.frame), mem.resets.map(\.frame), url.lastPathComponent)
            XCTAssertEqual(back.resets.map(\.explain), mem.resets.map(\.explain), url.lastPathComponent)
            XCTAssertEqual(back.resetFlows, mem.resetFlows, url.lastPathComponent)
            XCTAssertEqual(back.groups, mem.groups, url.lastPathComponent)
            XCTAssertEqual(mem.json(), String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
                .replacingOccurrences(of: "\"source\":\"\(url.lastPathComponent)\"", with: "\"source\":\"\(url.path)\""))

            let out = ByteOutput()
            let text = CaptureTextStream(out: out, classes: try CaptureFixtures.classes(), listing: true)
            let r = try CaptureFile.analyze(path: url.path, classes: CaptureFixtures.classes(), options: CaptureOptions(), sink: text)
            text.finish(r)
            XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), CaptureText.render(mem, classes: try CaptureFixtures.classes()), url.lastPathComponent)
        }
    }
}
