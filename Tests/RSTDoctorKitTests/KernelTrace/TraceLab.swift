import Foundation
import XCTest

/// A throwaway pair of network namespaces (rstd-t-*) joined by a veth, 198.19.77.1 ↔ .2,
/// and the python3 socket programs that make the kernel send each kind of RST.
final class TraceLab {
    let client: String
    let server: String
    let clientIP = "198.19.77.1"
    let serverIP = "198.19.77.2"
    private let dir: URL

    static func skipUnlessPossible() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root: tracefs and network namespaces are root-only") }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/instances") else {
            throw XCTSkip("tracefs is not mounted at /sys/kernel/tracing")
        }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events/tcp/tcp_send_reset") else {
            throw XCTSkip("this kernel has no tcp:tcp_send_reset tracepoint")
        }
        guard run(["ip", "netns", "list"]).code == 0 else { throw XCTSkip("`ip netns` does not work here") }
        guard run(["python3", "-c", "pass"]).code == 0 else { throw XCTSkip("python3 is needed for the socket programs") }
    }

    init() throws {
        let tag = String(getpid() % 100000)
        client = "rstd-t-tr\(tag)c"
        server = "rstd-t-tr\(tag)s"
        dir = FileManager.default.temporaryDirectory.appending(path: "rstd-t-tr\(tag)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        teardown()
        let vc = "rstdtr\(tag)c", vs = "rstdtr\(tag)s"
        for argv in [
            ["ip", "netns", "add", client], ["ip", "netns", "add", server],
            ["ip", "link", "add", vc, "type", "veth", "peer", "name", vs],
            ["ip", "link", "set", vc, "netns", client], ["ip", "link", "set", vs, "netns", server],
            ["ip", "-n", client, "addr", "add", "\(clientIP)/24", "dev", vc],
            ["ip", "-n", server, "addr", "add", "\(serverIP)/24", "dev", vs],
            ["ip", "-n", client, "link", "set", vc, "up"], ["ip", "-n", server, "link", "set", vs, "up"],
            ["ip", "-n", client, "link", "set", "lo", "up"], ["ip", "-n", server, "link", "set", "lo", "up"],
        ] {
            let r = Self.run(argv)
            if r.code != 0 { teardown(); throw XCTSkip("could not build the lab (\(argv.joined(separator: " "))): \(r.err)") }
        }
        try Self.program.write(to: dir.appending(path: "rst.py"), atomically: true, encoding: .utf8)
    }

    func teardown() {
        _ = Self.run(["ip", "netns", "del", client])
        _ = Self.run(["ip", "netns", "del", server])
    }

    deinit { teardown(); try? FileManager.default.removeItem(at: dir) }

    /// connect to a closed port → the server's kernel sends NO_SOCKET.
    func connectToClosedPort(_ port: Int) -> String {
        Self.run(["ip", "netns", "exec", client, "python3", dir.appending(path: "rst.py").path, "closed", serverIP, String(port)]).out
    }

    /// The server closes with SO_LINGER {1,0} after reading the request (TCP_STATE), or
    /// without reading it (TCP_ABORT_ON_CLOSE).
    func serverCloses(_ kind: String, port: Int) -> String {
        let server = Self.start(["ip", "netns", "exec", self.server, "python3", dir.appending(path: "rst.py").path, kind, serverIP, String(port)])
        usleep(400_000)
        let out = Self.run(["ip", "netns", "exec", client, "python3", dir.appending(path: "rst.py").path, "client", serverIP, String(port)]).out
        server.waitUntilExit()
        return out
    }

    static let program = """
        import socket, struct, sys, time
        mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        if mode == "closed":
            s = socket.socket()
            try:
                s.connect((host, port)); print("connected")
            except OSError as e:
                print("errno", e.errno)
        elif mode in ("linger", "unread"):
            l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind((host, port)); l.listen(8); l.settimeout(5)
            c, _ = l.accept()
            if mode == "linger":
                c.recv(100); c.sendall(b"hello")
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
            else:
                time.sleep(0.3); c.sendall(b"hello"); c.close()
            time.sleep(0.2)
        elif mode == "client":
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"a request the server may not read")
            time.sleep(0.6)
            try:
                print("got", s.recv(100)); print("then", s.recv(100))
            except OSError as e:
                print("errno", e.errno)
        """

    @discardableResult
    static func run(_ argv: [String], timeout: Double = 20) -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (p.terminationStatus, o, e)
    }

    static func start(_ argv: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        return p
    }
}
