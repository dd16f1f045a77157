import Foundation
import RSTDCore

/// What the process's environment says about its output and input files.
package enum Terminal {
    /// Colour when stdout is a terminal and NO_COLOR is unset (https://no-color.org), and TERM is not dumb.
    package static func colourOnStdout() -> Bool {
        let env = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) == 1 && env["NO_COLOR"] == nil && env["TERM"] != "dumb"
    }

    /// Reads a whole file of at most `maxBytes`; errors name the file and say what is wrong.
    package static func readFile(_ path: String, maxBytes: Int64, what: String) throws(ValidationError) -> Data {
        let p = Sanitize.line(path)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw ValidationError("cannot read \(p): no such file, or no permission to read it")
        }
        if let size = attrs[.size] as? NSNumber, size.int64Value > maxBytes {
            throw ValidationError("\(p) is \(size.int64Value >> 20) MiB: too large for \(what) (at most \(maxBytes >> 20) MiB)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(p): it is not a readable file")
        }
        return data
    }
}
