import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Faults in the analysis' large tables (flow table, finished connections, pending RSTs) on a thread
/// of its own, for a capture large enough to fill them. Their slots are touched at random, so each
/// first touch of a page was a page fault on the analysis thread: 1 GB capture, about 3000 faults
/// (12 ms of that thread, the critical path of the pipeline). madvise(MADV_POPULATE_WRITE) makes
/// the pages present without writing them, so it may run while the analysis writes the same memory
/// (a page either thread faults first is simply there for the other), and a region freed meanwhile
/// (a table grown) only makes the call fail. Memory stays bounded by the tables' own sizes.
enum Prefault {
    /// Captures from this size on are assumed to fill the tables.
    static let minFileSize = 64 << 20

    /// Starts faulting in `regions` (address, byte count), in that order; returns at once.
    static func start(_ regions: [(Int, Int)]) {
        #if os(Linux)
        let t = Thread {
            for (address, count) in regions { populate(address, count) }
        }
        t.name = "rstdoctor-prefault"
        t.start()
        #endif
    }

    private static func populate(_ address: Int, _ count: Int) {
        #if os(Linux)
        // Whole pages only (madvise wants an aligned start): the pages at the edges fault as before.
        let page = max(4096, sysconf(Int32(_SC_PAGESIZE)))
        let start = (address + page - 1) & ~(page - 1)
        let end = (address + count) & ~(page - 1)
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, 23)  // MADV_POPULATE_WRITE (Linux 5.14); older kernels: EINVAL, no effect
        #endif
    }
}
