import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDJournal
import RSTDData
import RSTDSystem
import RSTDCore

/// A tiny HTTP/1.1 responder for `record --metrics ADDR`: GET /metrics answers with the body the
/// closure renders (OpenMetrics), anything else 404; one connection at a time, `Connection: close`,
/// requests bounded to 8 KiB and 2 s. Enough for Prometheus scrapes; nothing else is served.
package final class MetricsServer: @unchecked Sendable {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    private let fd: Int32
    private let body: @Sendable () -> String
    private let lock = NSLock()
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    package let port: UInt16

    /// `host` is numeric (Validate.address).
    package init(host: String, port: UInt16, body: @escaping @Sendable () -> String) throws {
        self.body = body
        let v6 = host.contains(":")
        let s = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            _ = host.withCString { inet_pton(AF_INET6, $0, &a.sin6_addr) }
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            _ = host.withCString { inet_pton(AF_INET, $0, &a.sin_addr) }
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0, listen(s, 16) == 0 else {
            let why = String(cString: strerror(errno))
            close(s)
            throw Failure(description: "\(why) (is another process using the port?)")
        }
        var bound = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        let raw = withUnsafeBytes(of: bound) { Array($0) }
        self.port = UInt16(raw[2]) << 8 | UInt16(raw[3])
        fd = s
    }

    package func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "rstdoctor-metrics"
        t.start()
    }

    package func stop() {
        lock.lock()
        let was = stopping
        stopping = true
        lock.unlock()
        if !was { done.wait() }
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    private func loop() {
        defer {
            close(fd)
            done.signal()
        }
        while !isStopping {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let c = accept(fd, nil, nil)
            guard c >= 0 else { continue }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            serve(c)
            close(c)
        }
    }

    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var req = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 2048)
        while req.count < 8192 {
            let n = read(c, &buf, buf.count)
            if n <= 0 { break }
            req += buf[0..<n]
            if req.count >= 4 && req.suffix(4) == [13, 10, 13, 10] { break }
            if let text = String(bytes: req, encoding: .utf8), text.contains("\r\n\r\n") || text.contains("\n\n") { break }
        }
        let line = String(decoding: req.prefix { $0 != 10 && $0 != 13 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let status: String, type: String, payload: String
        if parts.count >= 2, parts[0] == "GET" || parts[0] == "HEAD", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            status = "200 OK"
            type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
            payload = parts[0] == "HEAD" ? "" : body()
        } else {
            status = "404 Not Found"
            type = "text/plain; charset=utf-8"
            payload = "rstdoctor record serves only /metrics\n"
        }
        let out = Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)".utf8)
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            sent += n
        }
    }
}
