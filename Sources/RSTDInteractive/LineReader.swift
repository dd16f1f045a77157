import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// What reading one line gave.
package enum LineInput: Sendable, Equatable {
    case line(String)
    /// End of input (Ctrl-D on an empty line, or the end of a piped script).
    case eof
    /// Ctrl-C while typing: the line was thrown away.
    case interrupted
}

/// Where the session's commands come from: readline on a terminal, plain lines from a pipe.
package protocol LineReader: AnyObject {
    /// True for a terminal (prompt shown by the reader, line editing); false for a script.
    var isInteractive: Bool { get }
    func read(prompt: String) -> LineInput
    /// Adds a line to the persistent history (no-op without one).
    func remember(_ line: String)
}

/// Reads commands line by line from a pipe or file, without readline, so a session can be scripted.
package final class PlainLineReader: LineReader {
    package let isInteractive = false
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var atEnd = false
    /// Lines longer than this are cut: a script has no business sending more.
    package static let maxLine = 64 << 10

    package init(fd: Int32 = 0) { self.fd = fd }

    package func read(prompt: String) -> LineInput {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<nl].prefix(Self.maxLine))
                buffer.removeSubrange(...nl)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return .line(String(decoding: line, as: UTF8.self))
            }
            if atEnd {
                if buffer.isEmpty { return .eof }
                defer { buffer.removeAll() }
                return .line(String(decoding: buffer.prefix(Self.maxLine), as: UTF8.self))
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEnd = true; continue }
            // Bound memory on a newline-less flood: keep at most one line's worth.
            buffer += chunk[..<n]
            if buffer.count > 2 * Self.maxLine, !buffer.contains(UInt8(ascii: "\n")) {
                buffer = Array(buffer.prefix(Self.maxLine))
            }
        }
    }

    package func remember(_ line: String) {}
}

/// Where the session writes: stdout, unbuffered, so output interleaves correctly with readline's
/// prompts (readline flushes its own stream after every redisplay).
package protocol SessionOutput: AnyObject {
    func write(_ text: String)
}

package final class StdoutOutput: SessionOutput {
    package init() {}
    package func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Collects output in memory (tests).
package final class BufferOutput: SessionOutput {
    package private(set) var text = ""
    package init() {}
    package func write(_ t: String) { text += t }
    package func take() -> String { defer { text = "" }; return text }
}
