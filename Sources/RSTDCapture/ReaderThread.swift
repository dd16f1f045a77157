import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Reading and decoding on a thread of their own (the second core), flow tracking and judgement on
/// the caller's: the reader reads the file, decodes each frame and hands the decoded packets
/// over in batches, through a fixed pool of batches (memory stays fixed; the reader waits when the
/// analysis falls behind). Most of the reader's time is the first touch of each frame (page faults
/// and cache misses), which this takes off the analysis' core. The analysis sees the same packets in
/// the same order as with one thread, so the output is the same bytes. The file is read with read(2)
/// into the batches' own buffers (a batch's frames stay valid until the analysis is done with it: a
/// RST's payload is read there). Mapping the file instead cost more, measured again on Linux 6.18
/// (1 GB capture, reader thread's CPU): 240 ms mapped against 135 ms read, 173 ms mapped with a
/// software prefetch ahead of the headers. A mapped reader's loads of each record header wait for
/// memory one after the other (where a header is depends on the previous one's length), where the
/// kernel's copy streams the bytes into a buffer that stays in the core's cache; releasing the pages
/// behind (memory must stay bounded) also slowed the analysis thread by TLB shootdowns. And a file
/// truncated meanwhile (a `tcpdump -W` ring reusing it) would SIGBUS a mapped reader.
final class ReaderThread: @unchecked Sendable {
    struct Item {
        var outcome: DecodeOutcome
        var undecoded: UndecodedKind
        var p: DecodedPacket
        var frame: UnsafeRawBufferPointer
    }

    private final class Batch {
        let items: UnsafeMutablePointer<Item>
        /// Each item's flow table hash (computed here, on the reader's core), for the analysis to
        /// prefetch its slot a few packets ahead: an array of their own, eight to a cache line.
        let hashes: UnsafeMutablePointer<Int>
        /// The file bytes its frames point into (read mode).
        let buffer: UnsafeMutableRawPointer?
        var count = 0
        /// Set on the last batch: nil at the end of the file, else the frame libpcap must read from.
        var last = false
        var handOver: UInt64?

        init(capacity: Int, bufferSize: Int?) {
            items = .allocate(capacity: capacity)
            hashes = .allocate(capacity: capacity)
            buffer = bufferSize.map { UnsafeMutableRawPointer.allocate(byteCount: $0, alignment: 16) }
        }

        deinit {
            items.deallocate()
            hashes.deallocate()
            buffer?.deallocate()
        }
    }

    private static let batchSize = 8192
    private static let batches = 4
    /// How many packets ahead the analysis prefetches flow table slots (about one memory latency of work).
    private static let prefetchDistance = 12
    private let reader: FastPcapReader
    private let cond = NSCondition()
    private var free: [Batch] = []
    private var full: [Batch] = []

    /// Whether reading on a thread of its own is worth it: on a machine with two cores or more
    /// (RSTDOCTOR_READER_THREAD=0 keeps it on one thread, for measuring).
    static var wanted: Bool {
        ProcessInfo.processInfo.activeProcessorCount > 1 && ProcessInfo.processInfo.environment["RSTDOCTOR_READER_THREAD"] != "0"
    }

    /// Starts reading at once (the first batches are read while the analyzer is made).
    init(_ reader: FastPcapReader) {
        self.reader = reader
        reader.keepFrames = true
        for _ in 0..<Self.batches {
            free.append(Batch(capacity: Self.batchSize, bufferSize: reader.bufferSize))
        }
        let t = Thread { [self] in read() }
        t.name = "rstdoctor-reader"
        t.start()
    }

    /// Feeds every packet the reader vouches for to `analyzer`; returns the frame libpcap must read
    /// from, if any (as `CaptureFile.run` does on one thread). Called once.
    func run(_ analyzer: CaptureAnalyzer) -> UInt64? {
        let linkType = reader.linkType
        while true {
            cond.lock()
            while full.isEmpty { cond.wait() }
            let b = full.removeFirst()
            cond.unlock()
            let n = b.count
            for k in 0..<n {
                if k + Self.prefetchDistance < n { analyzer.flows.prefetch(hash: b.hashes[k + Self.prefetchDistance]) }
                // One copy out of the batch (reading the fields through the pointer made two per packet).
                let item = b.items[k]
                _ = analyzer.take(decoded: item.outcome, undecoded: item.undecoded, linkType: linkType, packet: item.p, frame: item.frame)
            }
            let (last, handOver) = (b.last, b.handOver)
            cond.lock()
            free.append(b)
            cond.broadcast()
            cond.unlock()
            if last { return handOver }
        }
    }

    private func read() {
        var decoder = PacketDecoder(linkType: reader.linkType)
        var p = DecodedPacket()
        var frame: UInt64 = 0
        while true {
            cond.lock()
            while free.isEmpty { cond.wait() }
            let b = free.removeLast()
            cond.unlock()
            b.count = 0
            b.last = false
            b.handOver = nil
            if let buffer = b.buffer { reader.adopt(buffer) }
            while b.count < Self.batchSize {
                switch reader.next() {
                case .packet(let buf, let time):
                    frame += 1
                    let outcome = decoder.decode(buf, into: &p)
                    p.frame = frame
                    p.time = time
                    b.hashes[b.count] = outcome == .tcp ? FlowKey.hashValue(FlowKey.of(p).0) : 0
                    (b.items + b.count).initialize(to: Item(outcome: outcome, undecoded: decoder.undecoded, p: p, frame: buf))
                    b.count += 1
                    continue
                case .needBuffer:
                    break
                case .end:
                    b.last = true
                case .handOver(let f):
                    b.last = true
                    b.handOver = f
                }
                break
            }
            cond.lock()
            full.append(b)
            cond.broadcast()
            cond.unlock()
            if b.last { return }
        }
    }
}
