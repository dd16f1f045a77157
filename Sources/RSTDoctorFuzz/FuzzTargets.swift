import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDParse
import RSTDData
import RSTDCore

/// The fuzz targets (issue 8): each takes arbitrary bytes and drives one parser of untrusted input the
/// way the product does. A target must never crash, hang or allocate without bound on any input; when
/// it finds a way to, the input is kept under Tests/Fixtures/fuzz/<target>/ and
/// `FuzzRegressionTests` replays it in `make test`. Built with `-sanitize=fuzzer,address` by
/// `make fuzz` (fuzz/run.sh); in an ordinary build `rstdoctor-fuzz TARGET FILE...` replays inputs.
package enum FuzzTargets {
    package typealias Body = @Sendable ([UInt8]) -> Void

    /// Target name → body. One line each; names are what `make fuzz` prints.
    package static let all: [(name: String, body: Body)] = [
        ("packet", packet),
        ("capture-file", captureFile),
        ("ss", parser(["ss-sockets", "ss-listeners"])),
        ("nft-json", parser(["nft-json"])),
        ("iptables-save", parser(["iptables-save"])),
        ("kernel-log", parser(["kernel-log"])),
        ("trace-line", traceLines),
        ("expression", expression),
        ("knowledge-yaml", knowledgeYAML),
        ("host-parsers", parser(["sysctl", "proc-netstat", "sockstat", "ip-addr", "ip-neigh", "arping", "app-log"])),
    ]

    package static func target(_ name: String) -> Body? { all.first { $0.name == name }?.body }

    /// Lossy UTF-8, as the collector reads command output.
    static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: - Parsers of command output

    /// The first byte picks one of `ids` (when there are several); the rest is the command's output.
    /// A parser may reject its input (ParseError), never crash on it.
    static func parser(_ ids: [String]) -> Body {
        let parsers = ids.compactMap { Parsers.parser(id: $0) }
        precondition(parsers.count == ids.count, "unknown parser id in \(ids)")
        return { bytes in
            var rest = bytes[...]
            var pick = 0
            if parsers.count > 1, let b = rest.first { pick = Int(b) % parsers.count; rest = rest.dropFirst() }
            let raw = RawOutput(text(rest), name: "fuzz")
            if let facts = try? parsers[pick].parse(raw) {
                // What the engine and the renderers do with parsed values next.
                for (_, v) in facts.values { _ = v.display }
            }
        }
    }

    // MARK: - Packets

    static let linkTypes: [Int32] = [
        LinkType.ethernet, LinkType.raw, LinkType.linuxSLL, LinkType.linuxSLL2, LinkType.null, LinkType.loop,
        LinkType.ipv4, LinkType.ipv6, LinkType.rawOpenBSD, LinkType.rawLinktype, LinkType.fddi, LinkType.nflog,
    ]

    static let classes: CaptureClasses? = try? CaptureClasses.embedded()

    /// Packet decoding with the flow tracker. Input: one byte picking the link type, then records of
    /// [time step: 1 byte][length: 2 bytes LE][frame bytes]. A time step of 255 jumps two minutes so
    /// idle, TIME-WAIT and eviction paths run; the flow table is kept tiny for the same reason.
    static let packet: Body = { bytes in
        guard let classes, let first = bytes.first else { return }
        let lt = linkTypes[Int(first) % linkTypes.count]
        let analyzer = CaptureAnalyzer(
            classes: classes, options: CaptureOptions(idleThreshold: 5, maxFlows: 8, maxListedResets: 4),
            source: "fuzz", linkType: lt)
        var decoder = PacketDecoder(linkType: lt)
        var p = DecodedPacket()
        var i = 1
        var time = 1_700_000_000.0
        var frame: UInt64 = 0
        while i + 3 <= bytes.count {
            let step = bytes[i]
            time += step == 255 ? 120 : Double(step) * 0.01
            let len = min(Int(bytes[i + 1]) | Int(bytes[i + 2]) << 8, bytes.count - i - 3)
            let start = i + 3
            i = start + len
            frame += 1
            bytes[start..<start + len].withUnsafeBytes { buf in
                _ = analyzer.take(buf, frame: frame, time: time, decoder: &decoder, into: &p)
            }
        }
        let report = analyzer.report()
        precondition(report.rstCount <= Int(frame), "more RSTs than frames")
        _ = CaptureText.render(report, classes: classes)
        _ = report.json()
    }

    /// A whole capture file (pcap or pcapng) through libpcap and our pcapng fallback reader, as
    /// `rstdoctor capture FILE` reads it. The bytes go to a file in memory-backed /dev/shm.
    static let captureFile: Body = { bytes in
        guard let classes else { return }
        let path = "/dev/shm/rstdoctor-fuzz-\(getpid()).pcap"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
        defer { unlink(path) }
        if let report = try? CaptureFile.analyze(path: path, classes: classes, options: CaptureOptions(maxFlows: 8, maxListedResets: 4)) {
            _ = CaptureText.render(report, classes: classes)
            _ = report.json()
        }
    }

    // MARK: - Kernel trace

    static let reasons: TraceReasonMap? = try? TraceReasonMap.bundled()

    /// tracefs `trace_pipe` text through the line parser and the correlator that joins events; or,
    /// when the first byte is odd, an event `format` file (what the session reads to learn reasons).
    static let traceLines: Body = { bytes in
        guard let first = bytes.first else { return }
        let body = text(bytes.dropFirst())
        if first & 1 == 1 {
            if let f = try? EventFormat.parse(body) { _ = f.names(in: "reason") }
            return
        }
        var c = ResetCorrelator(reasons: reasons, filter: TraceFilter(port: 8080))
        var events = c.consume(body)
        events += c.flush()
        for e in events { _ = e.record }
    }

    // MARK: - Knowledge

    static let knowledge: KnowledgeBase = KnowledgeBase.load(.embedded).0

    /// A rule expression: parsed, type-checked against every declared fact, and evaluated three
    /// times, as the engine does: with every fact unknown, with every fact present (its type's sample
    /// value), and with extreme values (integers at the ends of Int64 and UInt64, empty record lists,
    /// records missing every field) so overflow and unknown paths run.
    static let expression: Body = { bytes in
        guard let e = try? ExprParser.parse(text(bytes[...])) else { return }
        guard let (checked, _, reads) = try? ExprChecker.check(e, scope: knowledge.exprScope) else { return }
        _ = ExprEvaluator(lookup: { _ in nil }).eval(checked)
        for extreme in [false, true] {
            _ = ExprEvaluator(lookup: { key in
                reads.contains(key) ? knowledge.declarations[key].map { sampleValue($0, extreme: extreme) } : nil
            }).eval(checked)
        }
    }

    static func sampleValue(_ d: FactDeclaration, extreme: Bool = false) -> FactValue {
        if d.type == .records {
            var r = Record()
            for (name, t) in d.fields { r[name] = sample(t, extreme: extreme) }
            return .records(extreme ? [r, [:]] : [r, r])
        }
        return sample(d.type, extreme: extreme)
    }

    static func sample(_ t: FactType, extreme: Bool = false) -> FactValue {
        switch t {
        case .int where extreme: .uint(UInt64.max)
        case .double where extreme: .double(Double.greatestFiniteMagnitude)
        case .int: .int(3)
        case .double: .double(0.5)
        case .bool: .bool(true)
        case .string: .string("fuzz")
        case .duration: .duration(1.5)
        case .records: .records([])
        }
    }

    static let knowledgePaths: [String] = KnowledgeFiles.embedded.files.keys.sorted()

    /// One knowledge or check file (the first byte picks which path it is loaded as), loaded on its
    /// own: the YAML reader and the loader behind that path (checks, causes, steps, questions, facts,
    /// rules, capture classes, trace reasons). Loading reports problems; it must never crash. Loading
    /// it alone, not beside the other embedded files, keeps a run fast enough to fuzz (a whole
    /// knowledge base takes a quarter of a second to compile in this build).
    static let knowledgeYAML: Body = { bytes in
        guard let first = bytes.first, !knowledgePaths.isEmpty else { return }
        let path = knowledgePaths[Int(first) % knowledgePaths.count]
        let input = text(bytes.dropFirst())
        if path.hasSuffix("capture-classes.yaml") {
            _ = try? CaptureClasses.load(yaml: input)
        } else if path.hasSuffix("trace-reasons.yaml") {
            _ = try? TraceReasonMap.load(yaml: input)
        } else {
            let (kb, problems) = KnowledgeBase.load(KnowledgeFiles(files: [path: input], origin: "fuzz"))
            for p in problems { _ = p.description }
            _ = kb.rules.count
        }
    }
}
