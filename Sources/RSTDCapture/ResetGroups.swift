import RSTDData
import RSTDSystem
import RSTDCore

/// RSTs of one class to one server port, or of one class from one sender: how many, when, how many
/// were shaped like a kernel's reply without a socket. Built from counters as RSTs are judged.
package struct ResetGroup: Codable, Sendable, Hashable {
    /// The server's port of the connections (by_port groups).
    package var port: Int?
    /// The RSTs' sender (by_peer groups).
    package var peer: String?
    package var `class`: String
    package var cause: String?
    package var count: Int
    /// How many were stateless (window 0, no options, seq from the segment's ack: a kernel's answer).
    package var stateless: Int
    package var firstFrame: Int
    package var firstTime: Double
    package var lastTime: Double

    enum CodingKeys: String, CodingKey {
        case port, peer, `class`, cause, count, stateless, firstFrame = "first_frame", firstTime = "first_time", lastTime = "last_time"
    }
}

/// The groups of a capture: by server port and by sender, largest first; `not_grouped` counts the
/// RSTs beyond the number of groups kept (memory stays fixed).
package struct ResetGroups: Codable, Sendable, Hashable {
    package var byPort: [ResetGroup] = []
    package var byPeer: [ResetGroup] = []
    package var notGrouped = 0

    enum CodingKeys: String, CodingKey {
        case byPort = "by_port", byPeer = "by_peer", notGrouped = "not_grouped"
    }

    package init() {}
}

/// Accumulates the groups, one look-up per RST and kind.
struct ResetGroupCounter {
    static let maxGroups = 4096

    // Group indexes by (class, port) and by (class, sender) in tables of their own (a Dictionary
    // hashed each key with SipHash: a million-RST capture spent 50 ms of its analysis thread there).
    private var ports = GroupIndex(capacity: ResetGroupCounter.maxGroups)
    private var peers = GroupIndex(capacity: ResetGroupCounter.maxGroups)
    private var groups = ResetGroups()

    /// Counts one RST: class index `ci`, the server's port, its sender.
    mutating func add(classIndex ci: Int, cls: RSTClass, cause: String?, port: UInt16, sender: IPAddress,
                      stateless: Bool, frame: Int, time: Double) {
        let c = UInt8(truncatingIfNeeded: ci)
        let (pi, pFound) = ports.slot(0, UInt64(port), c)
        if pFound {
            Self.bump(&groups.byPort[ports.index(pi)], stateless: stateless, time: time)
        } else if ports.count < Self.maxGroups {
            ports.insert(at: pi, 0, UInt64(port), c, index: groups.byPort.count)
            groups.byPort.append(ResetGroup(port: Int(port), peer: nil, class: cls.rawValue, cause: cause, count: 1,
                                            stateless: stateless ? 1 : 0, firstFrame: frame, firstTime: time, lastTime: time))
        } else {
            groups.notGrouped += 1
        }
        let tag = c | (sender.isV6 ? 0x80 : 0)
        let (si, sFound) = peers.slot(sender.hi, sender.lo, tag)
        if sFound {
            Self.bump(&groups.byPeer[peers.index(si)], stateless: stateless, time: time)
        } else if peers.count < Self.maxGroups {
            peers.insert(at: si, sender.hi, sender.lo, tag, index: groups.byPeer.count)
            groups.byPeer.append(ResetGroup(port: nil, peer: sender.text, class: cls.rawValue, cause: cause, count: 1,
                                            stateless: stateless ? 1 : 0, firstFrame: frame, firstTime: time, lastTime: time))
        } else {
            groups.notGrouped += 1
        }
    }

    private static func bump(_ g: inout ResetGroup, stateless: Bool, time: Double) {
        g.count += 1
        if stateless { g.stateless += 1 }
        g.firstTime = min(g.firstTime, time)
        g.lastTime = max(g.lastTime, time)
    }

    /// The groups, largest first (ties: first seen first).
    func result() -> ResetGroups {
        var g = groups
        let order: (ResetGroup, ResetGroup) -> Bool = { $0.count != $1.count ? $0.count > $1.count : $0.firstFrame < $1.firstFrame }
        g.byPort.sort(by: order)
        g.byPeer.sort(by: order)
        return g
    }
}

/// Group indexes by a key of two words and a tag byte (a class index; for a sender, with the
/// address family in its high bit): open addressing, a multiply-fold hash, at most half full.
private struct GroupIndex {
    private var k0: [UInt64]
    private var k1: [UInt64]
    private var tags: [UInt8]
    /// The group's index plus one; 0: empty.
    private var values: [Int32]
    private let mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var n = 64
        while n < capacity * 2 { n <<= 1 }
        k0 = [UInt64](repeating: 0, count: n)
        k1 = [UInt64](repeating: 0, count: n)
        tags = [UInt8](repeating: 0, count: n)
        values = [Int32](repeating: 0, count: n)
        mask = n - 1
    }

    /// Where the key is, or the empty slot it would go to.
    func slot(_ a: UInt64, _ b: UInt64, _ tag: UInt8) -> (Int, Bool) {
        var h = a &* 0x9E37_79B9_7F4A_7C15 ^ b &* 0xC2B2_AE3D_27D4_EB4F ^ UInt64(tag) &* 0x1656_67B1_9E37_79F9
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        var i = Int(truncatingIfNeeded: h ^ (h >> 32)) & mask
        while values[i] != 0 {
            if k1[i] == b, k0[i] == a, tags[i] == tag { return (i, true) }
            i = (i + 1) & mask
        }
        return (i, false)
    }

    func index(_ slot: Int) -> Int { Int(values[slot]) - 1 }

    mutating func insert(at slot: Int, _ a: UInt64, _ b: UInt64, _ tag: UInt8, index: Int) {
        k0[slot] = a
        k1[slot] = b
        tags[slot] = tag
        values[slot] = Int32(index + 1)
        count += 1
    }
}
