import Foundation
import RSTDData
import RSTDSystem
import RSTDCore
import CNetns

/// Reading and decoding on a thread of their own (the second core), flow tracking and judgement on
/// the caller's: the reader reads the file, decodes each frame and hands the decoded packets
/// over in batches, through a fixed pool of batches (memory stays fixed; the reader waits when the
/// analysis falls behind). Most of the reader's time is the first touch of each frame (page faults
/// and cache misses), which this takes off the analysis' core. The analysis sees the same packets in
/// the same order as with one thread, so the output is the same bytes. The file is read with read(2)
/// into one buffer of 256 KiB the reader reuses (it stays in the core's cache: with a buffer per batch,
/// 4 MiB in all, the copy missed it); the only frame bytes the analysis reads, a RST's payload, are
/// copied into the batch. Mapping the file instead cost more, measured again on Linux 6.18
/// (1 GB capture, reader thread's CPU): 240 ms mapped against 135 ms read, 173 ms mapped with a
/// software prefetch ahead of the headers. A mapped reader's loads of each record header wait for
/// memory one after the other (where a header is depends on the previous one's length), where the
/// kernel's copy streams the bytes into a buffer that stays in the core's cache; releasing the pages
/// behind (memory must stay bounded) also slowed the analysis thread by TLB shootdowns. And a file
/// truncated meanwhile (a `tcpdump -W` ring reusing it) would SIGBUS a mapped reader.
final class ReaderThread: @unchecked Sendable {
    /// What the analysis needs of a frame besides its decoded packet: the decoder's verdict, and
    /// where the frame's bytes were kept (a RST's with a payload; none otherwise).
    private struct Meta {
        var outcome: DecodeOutcome
        var undecoded: UndecodedKind
        var keptAt: UInt32
        var keptCount: UInt32
    }

    private final class Batch {
        /// 128 bytes each: copied out inline (with the rest in the same item, a call to memcpy).
        let packets: UnsafeMutablePointer<DecodedPacket>
        let meta: UnsafeMutablePointer<Meta>
        /// Each item's flow table hash (computed here, on the reader's core), for the analysis to
        /// prefetch its slot a few packets ahead: an array of their own, eight to a cache line.
        let hashes: UnsafeMutablePointer<Int>
        /// The frames the analysis reads (a RST's payload), copied out of the reader's buffer.
        let kept: UnsafeMutableRawPointer
        var keptCount = 0
        var count = 0
        /// Set on the last batch: nil at the end of the file, else the frame libpcap must read from.
        var last = false
        var handOver: UInt64?

        init(capacity: Int) {
            // Cache-line aligned (a packet on two lines, not three), with room for the lines fetched ahead.
            let extra = 2 * ReaderThread.writeAhead
            packets = UnsafeMutableRawPointer.allocate(byteCount: (capacity + extra) * MemoryLayout<DecodedPacket>.stride, alignment: 64)
                .bindMemory(to: DecodedPacket.self, capacity: capacity + extra)
            meta = .allocate(capacity: capacity + extra)
            hashes = .allocate(capacity: capacity + extra)
            kept = .allocate(byteCount: ReaderThread.keptSize, alignment: 16)
        }

        deinit {
            packets.deallocate()
            meta.deallocate()
            hashes.deallocate()
            kept.deallocate()
        }

        /// The bytes kept for item `k`.
        @inline(__always) func frame(_ m: Meta) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: m.keptCount > 0 ? kept + Int(m.keptAt) : nil, count: Int(m.keptCount))
        }
    }

    private static let batchSize = 8192
    /// 8 MiB of decoded packets, 6 ms of the analysis' work: the reader shares its core with the
    /// output thread, and with 4 batches the analysis waited for it (10.9 ms a run, median of 9, JSON
    /// of the 1 GB capture; 2.9 ms with 8; peak memory 45 -> 50 MB).
    private static let batches = 8
    /// How many items ahead the reader fetches the lines it will write (`read()`).
    private static let writeAhead = 16
    /// Room for the kept frames of a batch: one of the largest frames the reader hands out always
    /// fits in what is left.
    private static let largest = Int(FastPcapReader.maxCaplen)
    private static let keptSize = 2 * largest
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
        for _ in 0..<Self.batches {
            free.append(Batch(capacity: Self.batchSize))
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
            let n = b.count, packets = b.packets, meta = b.meta, hashes = b.hashes
            for k in 0..<n {
                if k + Self.prefetchDistance < n { analyzer.flows.prefetch(hash: hashes[k + Self.prefetchDistance]) }
                let m = meta[k]
                _ = analyzer.take(decoded: m.outcome, undecoded: m.undecoded, linkType: linkType, packet: packets[k], frame: b.frame(m))
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
            // Filled through locals, the batch's own fields written once at the end (the analysis
            // reads the fields of the batch next to it, maybe on the same cache line).
            let packets = b.packets, meta = b.meta, hashes = b.hashes, kept = b.kept
            var n = 0, keptCount = 0
            var last = false, handOver: UInt64?
            // A batch ends when it is full, or when the next frame kept might not fit.
            while n < Self.batchSize && keptCount <= Self.keptSize - Self.largest {
                switch reader.next() {
                case .packet(let buf, let time):
                    frame += 1
                    // The analysis' core read these lines last: they are fetched for writing ahead
                    // (each store waited for its line otherwise, twice as long when the two cores
                    // sit far apart, as they sometimes do on this VM).
                    let ahead = UnsafeRawPointer(packets + n + Self.writeAhead)
                    rstd_prefetch_write(ahead)
                    rstd_prefetch_write(ahead + 64)
                    if n & 3 == 0 { rstd_prefetch_write(meta + n + 2 * Self.writeAhead) }
                    if n & 7 == 0 { rstd_prefetch_write(hashes + n + 2 * Self.writeAhead) }
                    let outcome = decoder.decode(buf, into: &p)
                    p.frame = frame
                    p.time = time
                    var m = Meta(outcome: outcome, undecoded: decoder.undecoded, keptAt: 0, keptCount: 0)
                    if outcome == .tcp {
                        hashes[n] = FlowKey.hashValue(FlowKey.of(p).0)
                        // The analysis reads a frame's bytes for a RST's payload only.
                        if p.isRST && p.payloadCaptured > 0, let src = buf.baseAddress {
                            (kept + keptCount).copyMemory(from: src, byteCount: buf.count)
                            m.keptAt = UInt32(keptCount)
                            m.keptCount = UInt32(buf.count)
                            keptCount += (buf.count + 15) & ~15
                        }
                    } else {
                        hashes[n] = 0
                    }
                    (packets + n).initialize(to: p)
                    (meta + n).initialize(to: m)
                    n += 1
                    continue
                case .end:
                    last = true
                case .handOver(let f):
                    last = true
                    handOver = f
                }
                break
            }
            b.count = n
            b.keptCount = keptCount
            b.last = last
            b.handOver = handOver
            cond.lock()
            full.append(b)
            cond.broadcast()
            cond.unlock()
            if last { return }
        }
    }
}
