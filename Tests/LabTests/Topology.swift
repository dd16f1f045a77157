import Foundation

/// The three shapes of lab network, with addresses only from 198.18.0.0/15 and fd00:5253:5444::/48.
enum Topology {
    static let port = 8080

    /// The wildcard address of a family, so a listener is IPv4-only or IPv6 like a real service's.
    static func any(_ v6: Bool) -> String { v6 ? "::" : "0.0.0.0" }

    /// Client and server addresses of one family.
    struct Ends: Sendable { var client: String; var server: String }

    enum Shape: Sendable { case pair, routed, bridged }

    /// The client and server addresses each shape uses.
    static func ends(_ shape: Shape, v6: Bool) -> Ends {
        switch (shape, v6) {
        case (.pair, false): return Ends(client: "198.18.1.1", server: "198.18.1.2")
        case (.pair, true): return Ends(client: "fd00:5253:5444:1::1", server: "fd00:5253:5444:1::2")
        case (.routed, false): return Ends(client: "198.18.2.1", server: "198.18.3.2")
        case (.routed, true): return Ends(client: "fd00:5253:5444:2::1", server: "fd00:5253:5444:3::2")
        case (.bridged, false): return Ends(client: "198.18.10.1", server: "198.18.10.5")
        case (.bridged, true): return Ends(client: "fd00:5253:5444:10::1", server: "fd00:5253:5444:10::5")
        }
    }

    /// `c` ── `s` on one veth pair (198.18.1.0/24, fd00:5253:5444:1::/64).
    @discardableResult
    static func pair(_ lab: Lab, v6: Bool = false) throws -> Ends {
        try lab.addNamespace("c")
        try lab.addNamespace("s")
        try lab.link("c", "eth0", "s", "eth0", macA: "02:52:53:44:01:01", macB: "02:52:53:44:01:02")
        try lab.address("c", "eth0", "198.18.1.1/24")
        try lab.address("s", "eth0", "198.18.1.2/24")
        try lab.address("c", "eth0", "fd00:5253:5444:1::1/64")
        try lab.address("s", "eth0", "fd00:5253:5444:1::2/64")
        let e = ends(.pair, v6: v6)
        try lab.waitReachable("c", e.server)
        return e
    }

    /// `c` ── `r` ── `s`: a router namespace in between (198.18.2.0/24 and 198.18.3.0/24,
    /// fd00:5253:5444:2::/64 and fd00:5253:5444:3::/64), forwarding on in `r` only.
    @discardableResult
    static func routed(_ lab: Lab, v6: Bool = false) throws -> Ends {
        for n in ["c", "r", "s"] { try lab.addNamespace(n) }
        try lab.sysctl("r", "net.ipv4.ip_forward", "1")
        try lab.sysctl("r", "net.ipv6.conf.all.forwarding", "1")
        try lab.link("c", "eth0", "r", "eth0", macA: "02:52:53:44:02:01", macB: "02:52:53:44:02:fe")
        try lab.link("s", "eth0", "r", "eth1", macA: "02:52:53:44:03:02", macB: "02:52:53:44:03:fe")
        try lab.address("c", "eth0", "198.18.2.1/24")
        try lab.address("r", "eth0", "198.18.2.254/24")
        try lab.address("r", "eth1", "198.18.3.254/24")
        try lab.address("s", "eth0", "198.18.3.2/24")
        try lab.address("c", "eth0", "fd00:5253:5444:2::1/64")
        try lab.address("r", "eth0", "fd00:5253:5444:2::fe/64")
        try lab.address("r", "eth1", "fd00:5253:5444:3::fe/64")
        try lab.address("s", "eth0", "fd00:5253:5444:3::2/64")
        try lab.route("c", "198.18.3.0/24", via: "198.18.2.254")
        try lab.route("s", "198.18.2.0/24", via: "198.18.3.254")
        try lab.route("c", "fd00:5253:5444:3::/64", via: "fd00:5253:5444:2::fe")
        try lab.route("s", "fd00:5253:5444:2::/64", via: "fd00:5253:5444:3::fe")
        let e = ends(.routed, v6: v6)
        try lab.waitReachable("c", e.server)
        return e
    }

    /// Hosts on one bridge held by namespace `br` (198.18.10.0/24): each host gets `eth0` with the
    /// given address (nil: none yet) and MAC, plugged into bridge port `p<host>`.
    static func bridged(_ lab: Lab, hosts: [(name: String, cidr: String?, mac: String)]) throws {
        try lab.addBridge("br")
        for h in hosts { try plug(lab, h.name, cidr: h.cidr, mac: h.mac) }
    }

    /// Creates host namespace `name` on the bridge (also used to "reboot" a host: same IP, same MAC).
    static func plug(_ lab: Lab, _ name: String, cidr: String?, mac: String, beforeLink: ((Lab) throws -> Void)? = nil) throws {
        try lab.addNamespace(name)
        try beforeLink?(lab)
        try lab.attach(name, "eth0", to: "br", port: "p\(name)", mac: mac)
        if let cidr { try lab.address(name, "eth0", cidr) }
    }
}

/// Socket steps shared by the scenarios.
enum Steps {
    /// Starts a server agent listening on `port`.
    static func listen(_ lab: Lab, in ns: String, addr: String, port: Int = Topology.port, backlog: Int = 16) throws -> (Agent, String) {
        let a = try lab.startAgent("server", in: ns)
        let r = a.call("listen", ["addr": addr, "port": port, "backlog": backlog])
        guard r.ok, let id = r.id else { throw LabError("listen failed in \(ns): \(r)") }
        return (a, id)
    }

    /// Connects client → server, accepts, and exchanges one request and one response.
    /// Returns the client's and the server's connection ids.
    static func connectAndExchange(_ lab: Lab, client: Agent, server: Agent, listener: String, to addr: String,
                                   sport: Int? = nil, _ ev: Evidence, tag: String = "setup") throws -> (c: String, s: String) {
        var args: [String: Any] = ["addr": addr, "port": Topology.port]
        if let sport { args["sport"] = sport }
        let c = ev.step("\(tag).connect", client.call("connect", args))
        guard c.ok, let cid = c.id else { throw LabError("setup connect to \(addr) failed: \(c)") }
        let s = server.call("accept", ["id": listener, "timeout": 3])
        guard s.ok, let sid = s.id else { throw LabError("setup accept failed: \(s)") }
        try expectOK(client.call("send", ["id": cid, "data": "GET /\n"]), "setup request")
        try expectOK(server.call("recv", ["id": sid]), "setup request read")
        try expectOK(server.call("send", ["id": sid, "data": "200 OK\n"]), "setup response")
        try expectOK(client.call("recv", ["id": cid]), "setup response read")
        return (cid, sid)
    }

    static func expectOK(_ r: AgentReply, _ what: String) throws {
        guard r.ok else { throw LabError("\(what) failed: \(r)") }
    }
}
