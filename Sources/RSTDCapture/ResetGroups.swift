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

/// Accumulates the groups, one dictionary look-up per RST and kind.
struct ResetGroupCounter {
    static let maxGroups = 4096

    private struct PortKey: Hashable { var cls: UInt8; var port: UInt16 }
    private struct PeerKey: Hashable { var cls: UInt8; var addr: IPAddress }
    private var ports: [PortKey: Int] = [:]
    private var peers: [PeerKey: Int] = [:]
    private var groups = ResetGroups()

    /// Counts one RST: class index `ci`, the server's port, its sender.
    mutating func add(classIndex ci: Int, cls: RSTClass, cause: String?, port: UInt16, sender: IPAddress,
                      stateless: Bool, frame: Int, time: Double) {
        let c = UInt8(truncatingIfNeeded: ci)
        if let i = ports[PortKey(cls: c, port: port)] {
            Self.bump(&groups.byPort[i], stateless: stateless, time: time)
        } else if ports.count < Self.maxGroups {
            ports[PortKey(cls: c, port: port)] = groups.byPort.count
            groups.byPort.append(ResetGroup(port: Int(port), peer: nil, class: cls.rawValue, cause: cause, count: 1,
                                            stateless: stateless ? 1 : 0, firstFrame: frame, firstTime: time, lastTime: time))
        } else {
            groups.notGrouped += 1
        }
        if let i = peers[PeerKey(cls: c, addr: sender)] {
            Self.bump(&groups.byPeer[i], stateless: stateless, time: time)
        } else if peers.count < Self.maxGroups {
            peers[PeerKey(cls: c, addr: sender)] = groups.byPeer.count
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
