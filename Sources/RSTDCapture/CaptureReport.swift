import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// One RST found in a capture, classified (the `resets` entries of `rstdoctor.capture/1`).
package struct ResetRecord: Codable, Sendable, Hashable {
    /// Frame number counted from 1 in file order, as Wireshark numbers frames.
    package var frame: Int
    /// Seconds since the epoch.
    package var time: Double
    /// Seconds since the first packet of the capture.
    package var relTime: Double
    package var src: String
    package var sport: Int
    package var dst: String
    package var dport: Int
    /// TCP flags as letters, e.g. "R" or "RA".
    package var flags: String
    package var seq: UInt32
    package var ack: UInt32
    package var window: Int
    /// TTL (IPv4) or hop limit (IPv6) of the RST.
    package var ttl: Int
    /// "client", "server" or "unknown".
    package var sender: String
    /// How the roles were found: "handshake", "ports" (guessed: lower or well-known port = server) or "unknown".
    package var roles: String
    /// What the RST answered: "SYN", "SYN-ACK", "ACK", "challenge-ACK", "data", "FIN", "RST" or "none".
    package var answered: String
    package var answeredFrame: Int?
    /// Seconds from the answered packet to the RST.
    package var delay: Double?
    package var `class`: String
    package var cause: String?
    /// Every cause the wire leaves open for this RST: `cause` first, then the ones it cannot be told
    /// apart from (the class's `also`); empty when the class points to no cause.
    package var causes: [String]
    package var explain: String
    /// Shaped like a kernel reply without a socket: window 0, no options, seq from the segment's ack.
    package var stateless: Bool
    /// RST TTL minus the sender's usual TTL (0 when equal or unknown).
    package var ttlDelta: Int
    /// Silence in the connection before the packet the RST answered, in seconds.
    package var idleBefore: Double
    /// Text carried in the RST's payload (printable part), if any.
    package var payload: String?
    /// The tunnel the segment was carried in (e.g. "VXLAN"), if any.
    package var tunnel: String?
    /// Cooked (`-i any`) captures: "in" (received by the capturing host) or "out" (sent by it).
    package var direction: String? = nil
    /// Cooked captures: true when the capturing host built the RST (sent with no incoming copy),
    /// false when it received or forwarded it; nil when the capture does not say.
    package var localBuilt: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case frame, time, relTime = "rel_time", src, sport, dst, dport, flags, seq, ack, window, ttl, sender, roles, answered
        case answeredFrame = "answered_frame", delay, `class`, cause, causes, explain, stateless, ttlDelta = "ttl_delta"
        case idleBefore = "idle_before", payload, tunnel, direction, localBuilt = "local_built"
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(frame, forKey: .frame)
        try c.encode(time, forKey: .time)
        try c.encode(relTime, forKey: .relTime)
        try c.encode(src, forKey: .src)
        try c.encode(sport, forKey: .sport)
        try c.encode(dst, forKey: .dst)
        try c.encode(dport, forKey: .dport)
        try c.encode(flags, forKey: .flags)
        try c.encode(seq, forKey: .seq)
        try c.encode(ack, forKey: .ack)
        try c.encode(window, forKey: .window)
        try c.encode(ttl, forKey: .ttl)
        try c.encode(sender, forKey: .sender)
        try c.encode(roles, forKey: .roles)
        try c.encode(answered, forKey: .answered)
        try c.encode(answeredFrame, forKey: .answeredFrame)
        try c.encode(delay, forKey: .delay)
        try c.encode(`class`, forKey: .class)
        // `cause` is always present: null says "no single cause", absence would say nothing.
        try c.encode(cause, forKey: .cause)
        try c.encode(causes, forKey: .causes)
        try c.encode(explain, forKey: .explain)
        try c.encode(stateless, forKey: .stateless)
        try c.encode(ttlDelta, forKey: .ttlDelta)
        try c.encode(idleBefore, forKey: .idleBefore)
        try c.encodeIfPresent(payload, forKey: .payload)
        try c.encodeIfPresent(tunnel, forKey: .tunnel)
        try c.encodeIfPresent(direction, forKey: .direction)
        try c.encodeIfPresent(localBuilt, forKey: .localBuilt)
    }
}

/// How a connection that saw a RST ended, in Zeek's conn_state vocabulary.
package struct FlowOutcome: Codable, Sendable, Hashable {
    /// The originator (the SYN's sender, else the first packet's sender) and the responder.
    package var orig: String
    package var origPort: Int
    package var resp: String
    package var respPort: Int
    /// Zeek conn_state: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH.
    package var connState: String
    package var firstResetFrame: Int
    package var resets: Int
    package var cause: String?

    enum CodingKeys: String, CodingKey {
        case orig, origPort = "orig_port", resp, respPort = "resp_port", connState = "conn_state"
        case firstResetFrame = "first_reset_frame", resets, cause
    }
}

/// Packets that could not be analysed, and why (link type, encapsulation).
package struct NotDecoded: Codable, Sendable, Hashable {
    package var what: String
    package var packets: Int
}

/// The analysis of a capture: JSON schema `rstdoctor.capture/2` (DESIGN §8, docs/json-schema.md).
/// `CaptureJSON` writes it: the records first (streamed as they become final), the summary after.
package struct CaptureReport: Codable, Sendable {
    package static let schemaVersion = "rstdoctor.capture/2"
    package var schema = CaptureReport.schemaVersion
    /// The file read, or "live:IFACE".
    package var source: String
    package var linkType: String
    package var packets: Int
    package var tcpPackets: Int
    /// Frames with cut-short or inconsistent headers, skipped.
    package var malformed: Int
    /// Non-first IP fragments (no TCP header to read).
    package var fragments: Int
    /// Packets left out by --port / --peer.
    package var filteredOut: Int
    package var flows: Int
    package var firstTime: Double?
    package var lastTime: Double?
    package var rstCount: Int
    package var resetsByClass: [String: Int]
    /// By cause id; RSTs whose class points to no single cause are counted under "none".
    package var resetsByCause: [String: Int]
    package var connStates: [String: Int]
    package var tunnels: [String: Int]
    package var notDecoded: [NotDecoded]
    /// The listed records (empty when they went to a sink that wrote them).
    package var resets: [ResetRecord]
    /// RSTs found but not listed (beyond --max-resets); they are in the counts. Listed records plus
    /// this always make `rstCount`.
    package var resetsNotListed: Int
    package var resetFlows: [FlowOutcome]
    /// RSTs by class and server port, by class and sender.
    package var groups: ResetGroups
    /// Set when the file could not be read to its end: what was read is analysed above.
    package var error: String?
    /// How many RSTs each of `resets` stands for (a bounded list: `ResetList.weights()`); empty when
    /// each stands for itself. Not part of the JSON.
    package var resetWeights: [Int] = []

    enum CodingKeys: String, CodingKey {
        case schema, source, linkType = "link_type", packets, tcpPackets = "tcp_packets", malformed, fragments
        case filteredOut = "filtered_out", flows, firstTime = "first_time", lastTime = "last_time", rstCount = "rst_count"
        case resetsByClass = "resets_by_class", resetsByCause = "resets_by_cause", connStates = "conn_states", tunnels
        case notDecoded = "not_decoded", resets, resetsNotListed = "resets_not_listed", resetFlows = "reset_flows", groups, error
    }

    /// Whether some RST points to a cause (exit status 1 of `rstdoctor capture`).
    package var pointsToCause: Bool { resetsByCause.contains { $0.key != "none" && $0.value > 0 } }

    /// JSON as printed by `--format json` (CaptureJSON): records, then the summary with sorted keys.
    package func json() -> String { CaptureJSON.document(self) }

    /// Everything but the streamed parts (schema, source, resets, reset_flows), which CaptureJSON
    /// writes itself; with `CaptureJSON.fullReport` in the encoder's userInfo, everything.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if encoder.userInfo[CaptureJSON.fullReport] as? Bool == true {
            try c.encode(schema, forKey: .schema)
            try c.encode(source, forKey: .source)
            try c.encode(resets, forKey: .resets)
            try c.encode(resetFlows, forKey: .resetFlows)
        }
        try c.encode(linkType, forKey: .linkType)
        try c.encode(packets, forKey: .packets)
        try c.encode(tcpPackets, forKey: .tcpPackets)
        try c.encode(malformed, forKey: .malformed)
        try c.encode(fragments, forKey: .fragments)
        try c.encode(filteredOut, forKey: .filteredOut)
        try c.encode(flows, forKey: .flows)
        try c.encodeIfPresent(firstTime, forKey: .firstTime)
        try c.encodeIfPresent(lastTime, forKey: .lastTime)
        try c.encode(rstCount, forKey: .rstCount)
        try c.encode(resetsByClass, forKey: .resetsByClass)
        try c.encode(resetsByCause, forKey: .resetsByCause)
        try c.encode(connStates, forKey: .connStates)
        try c.encode(tunnels, forKey: .tunnels)
        try c.encode(notDecoded, forKey: .notDecoded)
        try c.encode(resetsNotListed, forKey: .resetsNotListed)
        try c.encode(groups, forKey: .groups)
        try c.encodeIfPresent(error, forKey: .error)
    }
}
