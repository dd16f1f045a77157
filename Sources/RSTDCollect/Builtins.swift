import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

extension Collector {
    /// Checks whose collection needs logic beyond one argv or file list.
    func builtin(_ name: String, _ c: CheckDefinition) async -> CheckRecord {
        switch name {
        case "arping": return await arping(c)
        case "app-logs": return await appLogs(c)
        case "counter-age": return await counterAge(c)
        case "capture":
            return skipped(c, "no capture to read", fix: "give a capture with --pcap FILE, or watch live with --observe 10s")
        case "kernel-trace":
            return skipped(c, "the kernel's RST tracepoints are read only while observing", fix: "run with --observe 10s (needs root and Linux ≥ 6.10 for reasons)")
        default:
            return CheckRecord(id: c.id, status: .failed, reason: "unknown builtin `\(name)` (a bug in checks/\(c.id).yaml)")
        }
    }

    /// Duplicate-address detection (ARP probes from 0.0.0.0) for each IPv4 address on each up interface,
    /// concurrently and bounded (at most 16 addresses; `probeArgv` says how long each listens, and why).
    func arping(_ c: CheckDefinition) async -> CheckRecord {
        guard runner.which("arping") != nil else { return skipped(c, "`arping` is not installed (not found on PATH)") }
        guard runner.which("ip") != nil else { return skipped(c, "`ip` (iproute2) is not installed, so the local addresses are unknown") }
        let r = await runner.run(["ip", "-j", "addr"], timeout: 2)
        guard case .success(let raw) = Self.interpret(r, name: "ip -j addr", timeout: 2) else {
            return CheckRecord(id: c.id, status: .failed, reason: "could not list local addresses with `ip -j addr`", fix: c.fix)
        }
        guard let parser = Parsers.parser(id: "ip-addr"), let facts = try? parser.parse(raw),
              case .records(let addrs)? = facts.values["addresses"] else {
            return CheckRecord(id: c.id, status: .failed, reason: "could not read the output of `ip -j addr`", fix: c.fix)
        }
        var targets: [(String, String)] = []
        for a in addrs {
            guard case .string(let fam)? = a["family"], fam == "inet",
                  case .string(let ifname)? = a["ifname"], case .string(let addr)? = a["address"],
                  case .string(let state)? = a["state"], state == "UP" || state == "UNKNOWN",
                  ifname != "lo", !addr.hasPrefix("127.") else { continue }
            // Host-derived values reach an argv: validate them like user input.
            guard let i = try? Validate.interface(ifname), let ad = try? Validate.address(addr) else { continue }
            targets.append((i, ad))
        }
        // Debian's `arping` is Thomas Habets' (DAD: -0 -i IFACE); iputils' is `-D -I IFACE`.
        let help = await runner.run(["arping", "--help"], timeout: 2)
        let habets = (help.stdout + help.stderr).contains("Habets")
        let capped = Array(targets.prefix(16))
        if capped.isEmpty {
            return CheckRecord(id: c.id, status: .ok, reason: "no IPv4 address on an up interface to test", samples: [RawOutput(parts: [])])
        }
        let parts = await withTaskGroup(of: RawOutput.Part?.self) { group in
            for (ifname, addr) in capped {
                group.addTask {
                    let argv = Self.probeArgv(habets: habets, ifname: ifname, address: addr)
                    let r = await runner.run(argv, timeout: c.timeout)
                    switch r.outcome {
                    case .exited(let code):
                        return RawOutput.Part(name: argv.joined(separator: " "), text: r.stdout, exitCode: code)
                    default:
                        return nil
                    }
                }
            }
            var out: [RawOutput.Part] = []
            for await p in group { if let p { out.append(p) } }
            return out.sorted { $0.name < $1.name }
        }
        if parts.isEmpty { return CheckRecord(id: c.id, status: .failed, reason: "no arping run finished", fix: c.fix) }
        var note = targets.count > capped.count ? "tested the first \(capped.count) of \(targets.count) addresses" : ""
        if parts.count < capped.count { note += (note.isEmpty ? "" : "; ") + "\(capped.count - parts.count) arping runs did not finish" }
        return CheckRecord(id: c.id, status: .ok, reason: note, samples: [RawOutput(parts: parts)])
    }

    /// Application logs named with --log (last 4 MiB of each) and --unit (journalctl, the --since period);
    /// the period goes with them so that only lines stamped inside it count.
    func appLogs(_ c: CheckDefinition) async -> CheckRecord {
        if options.logs.isEmpty && options.units.isEmpty {
            return skipped(c, "no application log given", fix: "name the service's log with --log PATH or its systemd unit with --unit NAME")
        }
        var parts: [RawOutput.Part] = []
        var errors: [String] = []
        for path in options.logs {
            guard let fh = FileHandle(forReadingAtPath: path) else {
                errors.append("cannot open \(Sanitize.line(path)) (missing or not readable)")
                continue
            }
            defer { try? fh.close() }
            let tail: UInt64 = 4 << 20
            if let end = try? fh.seekToEnd(), end > tail { try? fh.seek(toOffset: end - tail) } else { try? fh.seek(toOffset: 0) }
            let data = (try? fh.read(upToCount: Int(tail))) ?? Data()
            parts.append(.init(name: path, text: String(decoding: data, as: UTF8.self)))
        }
        for unit in options.units {
            let argv = ["journalctl", "-u", unit, "--since", "-\(Int(options.since.rounded(.up)))s", "-o", "short-iso", "--no-pager", "-q"]
            let r = await runner.run(argv, timeout: c.timeout)
            switch Self.interpret(r, name: argv.joined(separator: " "), timeout: c.timeout) {
            case .success(let o): parts.append(contentsOf: o.parts)
            case .failure(let f): errors.append(f.reason)
            }
        }
        if parts.isEmpty { return CheckRecord(id: c.id, status: .failed, reason: errors.joined(separator: "; "), fix: c.fix) }
        return CheckRecord(id: c.id, status: .ok, reason: errors.joined(separator: "; "), samples: [RawOutput(parts: parts + [periodPart()])])
    }

    /// `/proc/uptime` and what is known of the target namespace's age (see CounterAgeParser).
    func counterAge(_ c: CheckDefinition) async -> CheckRecord {
        let r = await runner.read("/proc/uptime", timeout: c.timeout)
        guard case .success(let up) = Self.interpret(r, name: "/proc/uptime", timeout: c.timeout) else {
            return CheckRecord(id: c.id, status: .failed, reason: "could not read /proc/uptime", fix: c.fix)
        }
        let fm = FileManager.default
        func nsLink(_ path: String) -> String? { try? fm.destinationOfSymbolicLink(atPath: path) }
        var ns = "unknown"
        switch options.target {
        case .host:
            if let me = nsLink("/proc/self/ns/net"), me == nsLink("/proc/1/ns/net") { ns = "init" }
        case .pid(let p):
            if let it = nsLink("/proc/\(p)/ns/net"), it == nsLink("/proc/1/ns/net") { ns = "init" }
        case .named(let name):
            // `ip netns add` bind-mounts the namespace there at creation; the nsfs inode keeps that time.
            if let m = (try? fm.attributesOfItem(atPath: "/run/netns/\(name)"))?[.modificationDate] as? Date {
                ns = String(format: "created %.0f now %.0f", m.timeIntervalSince1970, Date().timeIntervalSince1970)
            }
        }
        return CheckRecord(id: c.id, status: .ok, samples: [RawOutput(parts: up.parts + [.init(name: "namespace", text: ns)])])
    }
}
