import CPcap
import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// One RST as the wire showed it (the recorder's RST-only capture).
package struct WireRST: Sendable, Hashable {
    package var time: Double
    package var src: String
    package var sport: Int
    package var dst: String
    package var dport: Int
    package var ttl: Int
    package var flags: String
    /// "in", "out", or nil when the capture does not say.
    package var direction: String?
    package var payload: String?

    package init(time: Double, src: String, sport: Int, dst: String, dport: Int, ttl: Int, flags: String, direction: String?, payload: String?) {
        self.time = time
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
        self.ttl = ttl
        self.flags = flags
        self.direction = direction
        self.payload = payload
    }
}

/// An RST-only live capture on `any` (inside a namespace): a small filter so that only resets
/// reach user space, decoded with the project's decoder, queued for `drain()`. Bounded: at most
/// `maxQueued` RSTs wait; beyond that they are counted in `dropped`.
package final class RSTWireCapture: @unchecked Sendable {
    /// IPv4 with libpcap's tcpflags; IPv6 by the TCP flags byte behind a plain 40-byte header
    /// (libpcap cannot index TCP behind IPv6: `tcp[...]` is IPv4 only).
    package static let baseFilter = "(tcp[tcpflags] & tcp-rst != 0) or (ip6 and ip6[6] = 6 and ip6[53] & 4 != 0)"

    package let netns: String?
    package let ports: [UInt16]
    package let maxQueued = 100_000
    private let lock = NSLock()
    private var queue: [WireRST] = []
    private var stopRequested = false
    private var handle: OpaquePointer?
    private let opened = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var openError: CaptureError?
    package private(set) var dropped = 0
    package private(set) var seen = 0

    /// `netns` is a validated name or /proc/PID/ns/net; ports come from Validate.port.
    package init(netns: String?, ports: [UInt16]) {
        self.netns = netns
        self.ports = ports
    }

    package static func filter(ports: [UInt16]) -> String {
        guard !ports.isEmpty else { return baseFilter }
        return "(\(baseFilter)) and (" + ports.map { "port \($0)" }.joined(separator: " or ") + ")"
    }

    package func start() throws(CaptureError) {
        let t = Thread { [self] in self.body() }
        t.name = "rstdoctor-rst-capture"
        t.start()
        opened.wait()
        if let e = openError { throw e }
    }

    package func requestStop() {
        lock.lock()
        stopRequested = true
        let h = handle
        lock.unlock()
        if let h { pcap_breakloop(h) }
    }

    /// Waits for the capture thread to end (after `requestStop`).
    package func join() {
        finished.wait()
        finished.signal()
    }

    /// The RSTs captured since the last call.
    package func drain() -> [WireRST] {
        lock.lock(); defer { lock.unlock() }
        let out = queue
        queue = []
        return out
    }

    private var stopping: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    private func body() {
        defer { finished.signal() }
        if let netns {
            do { try LiveCapture.enter(netns: netns) } catch {
                openError = error
                opened.signal()
                return
            }
        }
        let p: OpaquePointer
        do {
            (p, _) = try LiveCapture.openFiltered("any", netns: netns, snaplen: 512, bufferSize: 4 << 20,
                                                immediate: false) { _ in Self.filter(ports: ports) }
        } catch {
            openError = error
            opened.signal()
            return
        }
        lock.lock(); handle = p; lock.unlock()
        opened.signal()
        var decoder = PacketDecoder(linkType: pcap_datalink(p))
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while !stopping {
            let r = pcap_next_ex(p, &hdr, &data)
            if r == 0 { continue }
            if r < 0 { break }
            guard let hdr, let data else { continue }
            let buf = UnsafeRawBufferPointer(start: data, count: Int(hdr.pointee.caplen))
            var pkt = DecodedPacket()
            guard decoder.decode(buf, into: &pkt) == .tcp, pkt.isRST else { continue }
            let time = Double(hdr.pointee.ts.tv_sec) + Double(hdr.pointee.ts.tv_usec) / 1e6
            let rst = WireRST(time: time, src: pkt.src.text, sport: Int(pkt.sport), dst: pkt.dst.text, dport: Int(pkt.dport),
                              ttl: Int(pkt.ttl), flags: TCPFlag.text(pkt.flags), direction: PacketType.direction(pkt.packetType),
                              payload: Self.text(pkt, buf))
            lock.lock()
            seen += 1
            if queue.count < maxQueued { queue.append(rst) } else { dropped += 1 }
            lock.unlock()
        }
        lock.lock(); handle = nil; lock.unlock()
        pcap_close(p)
    }

    /// The printable part of the payload (a middlebox's reason text), at most 200 characters.
    static func text(_ p: DecodedPacket, _ frame: UnsafeRawBufferPointer) -> String? {
        guard p.payloadCaptured > 0, p.payloadOffset >= 0, p.payloadOffset + p.payloadCaptured <= frame.count else { return nil }
        var s = ""
        for i in 0..<min(p.payloadCaptured, 200) {
            let c = frame[p.payloadOffset + i]
            s.append(c >= 0x20 && c < 0x7F ? Character(UnicodeScalar(c)) : ".")
        }
        return s.contains(where: \.isLetter) ? s : nil
    }
}
