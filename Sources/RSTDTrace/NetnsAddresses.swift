import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// The addresses of a network namespace, used to narrow the (global) tracepoints to it.
package enum NetnsAddresses {
    /// Parses `ip -j addr` JSON: every `addr_info[].local`, canonical, loopback excluded
    /// (127.0.0.1 and ::1 exist in every namespace and would match the others' traffic).
    package static func parse(_ json: String) throws(ParseError) -> Set<String> {
        guard let data = json.data(using: .utf8),
              let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw ParseError("`ip -j addr` output is not a JSON list of interfaces")
        }
        var out: Set<String> = []
        for iface in list {
            for info in iface["addr_info"] as? [[String: Any]] ?? [] {
                guard let local = info["local"] as? String, let addr = try? Validate.address(local) else { continue }
                if TraceAddress.isLoopback(addr) { continue }
                out.insert(addr)
            }
        }
        return out
    }

    /// The addresses of the runner's namespace (`ip -j addr` inside it; loopback excluded: an empty set
    /// for a namespace with only `lo`); nil when `ip` fails or prints no JSON list.
    package static func read(_ runner: CommandRunner, timeout: Double = 3) async -> Set<String>? {
        let r = await runner.run(["ip", "-j", "addr"], timeout: timeout)
        guard case .exited(0) = r.outcome else { return nil }
        return try? parse(r.stdout)
    }

    /// Runs `ip -j -n NAME addr` (argv, no shell) with a timeout.
    package static func read(netns: String, timeout: Double = 3) async throws(TraceUnavailable) -> Set<String> {
        let name: String
        do { name = try Validate.netnsName(netns) } catch {
            throw TraceUnavailable(error.message, fix: "Give a name from `ip netns list`.")
        }
        let r = await CommandRunner().run(["ip", "-j", "-n", name, "addr"], timeout: timeout)
        let out = r.stdout, err = r.stderr
        let code: Int32
        switch r.outcome {
        case .exited(let c): code = c
        case .timedOut:
            throw TraceUnavailable("`ip -j -n \(name) addr` did not answer within \(Seconds.render(timeout))",
                                   fix: "Check that the namespace exists and `ip` is not hanging (`ip netns list`).")
        case .missingTool:
            throw TraceUnavailable("`ip` is not installed, so the namespace's addresses are unknown",
                                   fix: "Install iproute2 (`apt install iproute2`) so rstdoctor can read the namespace's addresses.")
        default:
            throw TraceUnavailable("could not run `ip -j -n \(name) addr`: \(r.outcome)",
                                   fix: "Check `ip -j -n \(name) addr` by hand.")
        }
        guard code == 0 else {
            throw TraceUnavailable("`ip -j -n \(name) addr` failed: \(Sanitize.line(err.trimmingCharacters(in: .whitespacesAndNewlines)))",
                                   fix: "Give a namespace from `ip netns list` (named namespaces live in /run/netns).")
        }
        do { return try parse(out) } catch {
            throw TraceUnavailable("could not read the addresses of netns \(name): \(error.message)", fix: "Check `ip -j -n \(name) addr` by hand.")
        }
    }
}
