import Foundation
import RSTDCore

/// `ss -Hltnp` (or `ss -tulpn`, `-tupna`, with or without header and Netid column) → `listeners`
/// records {address, port, queue (Recv-Q: connections waiting in the accept queue), backlog
/// (Send-Q: the listen backlog), process, pid, interface}. Only TCP LISTEN sockets are kept;
/// process and pid are absent where `ss` could not see the owner (not root, other namespace).
package enum SSListenersParser: OutputParser {
    package static let id = "ss-listeners"

    package static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts {
        var records: [Record] = []
        var socketLines = 0
        var fullQueues = 0
        for raw in output.text.split(whereSeparator: \.isNewline) {
            guard let line = SSText.line(raw) else { continue }
            socketLines += 1
            guard line.state == "LISTEN", line.netid == nil || line.netid == "tcp" else { continue }
            let ep = SSText.endpoint(line.local)
            var r: Record = [
                "address": .string(ep.address),
                "queue": .int(line.recvQ),
                "backlog": .int(line.sendQ),
            ]
            if let p = ep.port { r["port"] = .int(p) }
            if let i = ep.interface { r["interface"] = .string(i) }
            if let proc = SSText.firstProcess(line.rest) {
                r["process"] = .string(proc.name)
                if let pid = proc.pid { r["pid"] = .int(pid) }
            }
            // The kernel's queue is full only above the backlog (sk_acceptq_is_full: queue > backlog).
            if line.recvQ > line.sendQ { fullQueues += 1 }
            records.append(r)
        }
        if socketLines == 0 && !output.text.allSatisfy(\.isWhitespace) {
            let header = output.text.split(whereSeparator: \.isNewline).allSatisfy { $0.hasPrefix("State") || $0.hasPrefix("Netid") }
            if !header { throw ParseError("not `ss` output: no line of the form `LISTEN Recv-Q Send-Q address:port peer:port`") }
        }
        return ParsedFacts(values: ["listeners": .records(records), "listeners.full_queues": .int(Int64(fullQueues))])
    }
}
