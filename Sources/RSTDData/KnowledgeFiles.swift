import Foundation
import RSTDCore

/// Where checks/ and knowledge/ come from: the copies embedded at build time, or a directory
/// (`--knowledge-dir`, `RSTDOCTOR_DATA`) holding `checks/` and `knowledge/`.
package struct KnowledgeFiles: Sendable {
    /// Relative path (e.g. `checks/sysctls.yaml`) → text.
    package var files: [String: String]
    package var origin: String

    package init(files: [String: String], origin: String) {
        self.files = files
        self.origin = origin
    }

    package static var embedded: KnowledgeFiles {
        var out: [String: String] = [:]
        for path in EmbeddedData.files.keys {
            if let s = embeddedFile(path) { out[path] = s }
        }
        return KnowledgeFiles(files: out, origin: "built-in")
    }

    /// One embedded file's text (a command that needs one file need not decode them all).
    package static func embeddedFile(_ path: String) -> String? {
        guard let b64 = EmbeddedData.files[path], let d = Data(base64Encoded: b64) else { return nil }
        return String(data: d, encoding: .utf8)
    }

    package static func directory(_ root: String) throws(ValidationError) -> KnowledgeFiles {
        var out: [String: String] = [:]
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root + "/knowledge", isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("\(Sanitize.terminal(root)) has no knowledge/ folder: point --knowledge-dir (or RSTDOCTOR_DATA) at the folder that holds checks/ and knowledge/")
        }
        for sub in ["checks", "knowledge"] {
            guard let walker = fm.enumerator(atPath: root + "/" + sub) else { continue }
            for case let rel as String in walker where rel.hasSuffix(".yaml") {
                let path = "\(sub)/\(rel)"
                if let s = try? String(contentsOfFile: root + "/" + path, encoding: .utf8) { out[path] = s }
            }
        }
        return KnowledgeFiles(files: out, origin: root)
    }

    /// The files `--knowledge-dir`, then `RSTDOCTOR_DATA`, then `share/rstdoctor` beside the installed
    /// binary (`make install`), then the built-in copies.
    package static func resolve(dir: String?) throws(ValidationError) -> KnowledgeFiles {
        if let dir { return try directory(dir) }
        if let env = ProcessInfo.processInfo.environment["RSTDOCTOR_DATA"], !env.isEmpty { return try directory(env) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let share = URL(fileURLWithPath: exe).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/rstdoctor").path
            if FileManager.default.fileExists(atPath: share + "/knowledge/causes.yaml"), let files = try? directory(share) { return files }
        }
        return embedded
    }
}
