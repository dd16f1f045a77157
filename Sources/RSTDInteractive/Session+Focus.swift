import Foundation
import RSTDCollect
import RSTDKnowledge
import RSTDSystem
import RSTDData
import RSTDCore

/// What the session looks at: the port or service, the peer, the side this host is on, the
/// application's logs (a file or a systemd unit) and the network namespace. Asked first when a
/// session starts without it (as an engineer would), and changed at any time with `focus`,
/// `logs`, `unit`, `netns` and `pid`.
extension Session {
    /// The items of the opening interview, in the order they are asked.
    enum FocusItem: String, CaseIterable, Sendable {
        case port, peer, side, logs, netns
    }

    /// Whether a new live session knows nothing of the problem yet.
    var needsFocus: Bool {
        let t = state.target
        return t.bundle == nil && t.port == nil && t.peer == nil && t.logs.isEmpty && t.units.isEmpty && t.side == nil
            && t.netns == nil && t.pid == nil
    }

    /// The focus in a few words, for the prompt and the banner; empty when there is none.
    var focusSummary: String {
        let t = state.target
        var parts: [String] = []
        if let p = t.port { parts.append(":\(p)") }
        if let p = t.peer { parts.append("peer \(p)") }
        if let s = t.side { parts.append(s) }
        if let n = t.netns { parts.append("netns \(n)") }
        if let p = t.pid { parts.append("pid \(p)") }
        if !t.logs.isEmpty || !t.units.isEmpty { parts.append("logs \(t.logs.count + t.units.count)") }
        return Sanitize.line(parts.joined(separator: " "))
    }

    // MARK: the opening interview

    func beginInterview() {
        state.interview = FocusItem.port.rawValue
        say()
        say(
            SessionText.wrap(
                "First, what are we looking at? Five short questions; Enter skips one, `done` skips the rest, and `focus`, `logs`, "
                    + "`unit`, `netns` change any of it later.",
                indent: 0))
        askFocus(.port)
    }

    func askFocus(_ item: FocusItem) {
        state.interview = item.rawValue
        switch item {
        case .port:
            let ports = listeningPorts()
            let shown = ports.prefix(12).map { p in p.process.map { "\(p.port) (\(t($0)))" } ?? "\(p.port)" }
            say("Which port has the resets? The server's port, on this host or the one it connects to.")
            if !shown.isEmpty { say(style.dim("  Listening here: \(shown.joined(separator: ", "))\(ports.count > 12 ? ", …" : "")")) }
        case .peer:
            say("Which peer, if you know it? The other side's IP address (Enter if any or unknown).")
        case .side:
            say("Is this host the client (it connects) or the server (it listens)? `client`, `server`, Enter if both or unsure.")
        case .logs:
            say("Where does the application log? A file (/var/log/…) or a systemd unit name (Enter: none).")
        case .netns:
            let names = namespaces()
            say(
                "Does the service run in another network namespace or a container? A namespace name or a container's PID (Enter: this "
                    + "host's)."
            )
            if !names.isEmpty { say(style.dim("  Namespaces here: \(names.prefix(12).map(t).joined(separator: ", "))")) }
        }
    }

    /// One line typed during the interview. Returns false when it is a command to run instead.
    func interviewLine(_ line: String) async -> Bool {
        guard let item = state.interview.flatMap(FocusItem.init(rawValue:)) else { return false }
        let text = line.trimmingCharacters(in: .whitespaces)
        if text == "done" || text == "skip all" {
            await endInterview()
            return true
        }
        if !text.isEmpty && text != "-" && text != "skip" {
            let words = SessionCommands.words(text)
            // A command typed here runs as a command (`help`, `focus port 80`…), unless it is an answer.
            if let first = words.first, SessionCommands.spec(first.lowercased()) != nil, !plausible(text, for: item) { return false }
            let ok: Bool
            switch item {
            case .port: ok = setFocus(["port", text])
            case .peer: ok = setFocus(["peer", text])
            case .side: ok = setFocus(["side", text])
            case .logs: ok = text.hasPrefix("/") || text.hasPrefix(".") ? addLogs(text) : addUnit(text)
            case .netns: ok = Int32(text) != nil ? setNamespace(pid: text) : setNamespace(name: text)
            }
            if !ok { return true }  // the message said what is wrong; the same item is asked again
        }
        let all = FocusItem.allCases
        if let i = all.firstIndex(of: item), i + 1 < all.count {
            askFocus(all[i + 1])
        } else {
            await endInterview()
        }
        return true
    }

    func plausible(_ text: String, for item: FocusItem) -> Bool {
        switch item {
        case .port: return Int(text) != nil
        case .peer: return (try? Validate.address(text)) != nil
        case .side: return ["client", "server", "c", "s"].contains(text.lowercased())
        case .logs: return text.hasPrefix("/")
        case .netns: return Int32(text) != nil
        }
    }

    func endInterview() async {
        state.interview = nil
        say()
        say(focusSummary.isEmpty ? "No focus: I look at the whole host." : "Focus: \(focusSummary).")
        await quickChecks()
    }

    // MARK: commands

    /// `focus [port N | peer ADDR | side client|server | clear [what]]`.
    @discardableResult
    func setFocus(_ args: [String]) -> Bool {
        guard let what = args.first?.lowercased() else {
            say(
                focusSummary.isEmpty
                    ? "No focus: the whole host. `focus port 8080`, `focus peer 198.18.0.7`, `focus side client` set it."
                    : "Focus: \(focusSummary). `focus clear` forgets it.")
            return true
        }
        var target = state.target
        let value = args.count > 1 ? args[1] : nil
        switch what {
        case "port":
            guard let v = value else { say("usage: focus port <1-65535> — e.g. `focus port 8080`."); return false }
            guard let p = Self.port(v) else {
                say("`\(t(v))` is not a port: give a number from 1 to 65535, or a service name from /etc/services (http, postgresql…).")
                return false
            }
            target.port = p
        case "peer":
            guard let v = value else { say("usage: focus peer <address> — e.g. `focus peer 198.18.0.7`."); return false }
            do { target.peer = try Validate.address(v) } catch { say(error.message + " (`focus peer ADDRESS`)"); return false }
        case "side":
            switch value?.lowercased() {
            case "client", "c": target.side = "client"
            case "server", "s": target.side = "server"
            default: say("usage: focus side client|server — client: this host connects; server: it listens."); return false
            }
        case "clear":
            switch value?.lowercased() {
            case nil: target.port = nil; target.peer = nil; target.side = nil
            case "port": target.port = nil
            case "peer": target.peer = nil
            case "side": target.side = nil
            case let other?: say("`focus clear \(t(other))`: clear port, peer, side, or all three with `focus clear`."); return false
            }
        default:
            say(
                "`focus \(t(what))` is not something I can focus on: `focus port N`, `focus peer ADDR`, `focus side client|server`, "
                    + "`focus clear`; logs with `logs PATH` / `unit NAME`, namespaces with `netns NAME` / `pid PID`."
            )
            return false
        }
        return retarget(target)
    }

    /// A port number or a service name from /etc/services.
    static func port(_ text: String) -> Int? {
        if let n = Int(text) { return (1...65535).contains(n) ? n : nil }
        guard let services = try? String(contentsOfFile: "/etc/services", encoding: .utf8) else { return nil }
        for line in services.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2, !f[0].hasPrefix("#"), f[1].hasSuffix("/tcp") else { continue }
            let names = [f[0]] + f.dropFirst(2).prefix { !$0.hasPrefix("#") }
            if names.contains(where: { $0 == text }), let n = Int(f[1].dropLast(4)) { return n }
        }
        return nil
    }

    @discardableResult
    func addLogs(_ path: String) -> Bool {
        guard FileManager.default.isReadableFile(atPath: path) else {
            say("Cannot read \(t(path)): check the path and permissions (`logs PATH` takes the application's log file).")
            return false
        }
        var target = state.target
        if !target.logs.contains(path) { target.logs.append(path) }
        return retarget(target)
    }

    @discardableResult
    func addUnit(_ name: String) -> Bool {
        do { _ = try Validate.unit(name) } catch { say(error.message + ", e.g. `unit nginx`."); return false }
        var target = state.target
        if !target.units.contains(name) { target.units.append(name) }
        return retarget(target)
    }

    @discardableResult
    func setNamespace(name: String) -> Bool {
        var target = state.target
        if ["host", "none"].contains(name) {
            target.netns = nil
        } else {
            do { target.netns = try Validate.netnsName(name) } catch { say(error.message + "."); return false }
            guard namespaces().contains(name) else {
                let near = DidYouMean.hint(name, in: namespaces())
                say(
                    "There is no network namespace `\(t(name))` (/run/netns).\(near) `ip netns list` lists them; `netns host` goes "
                        + "back to this host's."
                )
                return false
            }
        }
        target.pid = nil
        return retarget(target)
    }

    @discardableResult
    func setNamespace(pid text: String) -> Bool {
        guard let p = Int32(text), p > 0, FileManager.default.fileExists(atPath: "/proc/\(p)/ns/net") else {
            say("`\(t(text))` is not a running process here: give a container's PID (`docker inspect -f '{{.State.Pid}}' NAME`).")
            return false
        }
        var target = state.target
        target.pid = p
        target.netns = nil
        return retarget(target)
    }

    /// Adopts a new target. Another namespace is another host: what the checks read before is
    /// dropped (answers stay). New logs are read at once.
    func retarget(_ target: SessionState.Target) -> Bool {
        let old = state.target
        guard target != old else { say("Focus unchanged: \(focusSummary.isEmpty ? "the whole host" : focusSummary)."); return true }
        if target.bundle != nil && (target.netns != old.netns || target.pid != old.pid) {
            say("This session reads a bundle (--from): its namespace is the one it was collected in.")
            return false
        }
        do { try adopt(target) } catch {
            say("\(error.message) — the focus stays \(focusSummary.isEmpty ? "the whole host" : focusSummary).")
            try? adopt(old)
            return false
        }
        state.target = target
        if target.netns != old.netns || target.pid != old.pid {
            let n = state.records.count
            state.records.removeAll()
            state.facts.removeAll()
            state.observed = nil
            say(
                "Now looking at \(t(host.netns)): the \(n) earlier check results were from another namespace and are dropped (answers "
                    + "stay). `run all` reads this one."
            )
        } else {
            say("Focus: \(focusSummary.isEmpty ? "the whole host" : focusSummary).")
        }
        return true
    }

    /// Runs the log check again after `logs` / `unit` (outside the interview, which runs the quick checks).
    func readLogsNow() async {
        guard let def = kb.check("app-logs") else { return }
        await runAndShow([def])
    }

    // MARK: what completion and the interview offer

    /// The listening TCP ports the last `listeners` check saw, with their process when known.
    func listeningPorts() -> [(port: Int, process: String?)] {
        guard case .records(let rs)? = inputFacts().value("listeners") else { return [] }
        var seen = Set<Int>()
        var out: [(Int, String?)] = []
        for r in rs {
            guard case .int(let p)? = r["port"], seen.insert(Int(p)).inserted else { continue }
            var process: String?
            if case .string(let s)? = r["process"], !s.isEmpty { process = s }
            out.append((Int(p), process))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Named network namespaces (`ip netns` keeps them in /run/netns).
    func namespaces() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).sorted()
    }
}
