import Foundation
import RSTDSystem

/// Ring-buffer pages read from the per-CPU `trace_pipe_raw` files: one buffer, with where each page
/// starts, how long it is and which CPU it came from.
package struct RawPages: Sendable {
    package var bytes: [UInt8] = []
    package var pages: [(cpu: Int, start: Int, count: Int)] = []
    package var isEmpty: Bool { pages.isEmpty }
    package init() {}

    package mutating func append(cpu: Int, _ page: UnsafeRawBufferPointer) {
        pages.append((cpu, bytes.count, page.count))
        bytes.append(contentsOf: page)
    }
}

/// The binary reader's files: `per_cpu/cpuN/trace_pipe_raw` of the instance. Reading one hands out
/// the oldest page of that CPU's ring buffer (the part written so far when it is the page being
/// written), consumed as `trace_pipe` consumes lines; the kernel formats nothing.
extension TracefsInstance {
    /// The tracefs root's description of the ring buffer's pages and event headers.
    package func ringBufferLayout() -> (RingBufferLayout?, String) {
        guard let page = try? String(contentsOfFile: root + "/events/header_page", encoding: .utf8),
              let event = try? String(contentsOfFile: root + "/events/header_event", encoding: .utf8) else {
            return (nil, "\(root)/events/header_page or header_event cannot be read")
        }
        return RingBufferLayout.parse(headerPage: page, headerEvent: event)
    }

    /// Opens every CPU's `trace_pipe_raw` non-blocking; on failure none stays open.
    package func openRawPipes() throws(TraceUnavailable) {
        files.lock()
        defer { files.unlock() }
        try checkNotRemoved()
        let dir = path + "/per_cpu"
        let cpus = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .compactMap { $0.hasPrefix("cpu") ? Int($0.dropFirst(3)) : nil }.sorted()
        var opened: [(cpu: Int, fd: Int32)] = []
        for cpu in cpus {
            let f = open("\(dir)/cpu\(cpu)/trace_pipe_raw", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard f >= 0 else {
                let err = errno
                for o in opened { close(o.fd) }
                throw Self.permissionProblem(what: "could not open \(dir)/cpu\(cpu)/trace_pipe_raw", errno: err)
            }
            opened.append((cpu, f))
        }
        guard !opened.isEmpty else {
            throw TraceUnavailable("\(dir) lists no CPU", fix: "Nothing to do: the text trace_pipe is read instead.")
        }
        lock.lock()
        rawPipes = opened
        lock.unlock()
    }

    package var readsRawPipes: Bool {
        lock.lock(); defer { lock.unlock() }
        return !rawPipes.isEmpty
    }

    /// Waits up to `timeout` seconds for trace data on any CPU and returns the pages read, at most
    /// `maxPages` (the rest stays in the kernel's buffer for the next call).
    package func readRawPages(timeout: Double, maxPages: Int = 1024) -> RawPages {
        lock.lock()
        let pipes = rawPipes
        lock.unlock()
        var out = RawPages()
        guard !pipes.isEmpty else { return out }
        var fds = pipes.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), Int32(max(0, min(timeout, 1.0)) * 1000))
        // Read every CPU even when poll timed out (as readLines does): its wake-up may lag the data.
        // One page per read(2), whatever the buffer size; 64 KiB holds the largest sub-buffer.
        let size = 65536
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buf.deallocate() }
        for p in pipes {
            while out.pages.count < maxPages {
                let n = Glibc.read(p.fd, buf.baseAddress, size)
                if n <= 0 { break }
                out.append(cpu: p.cpu, UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            }
        }
        return out
    }
}
