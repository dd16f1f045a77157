import Foundation
import RSTDoctorFuzz

// libFuzzer entry points (built by `make fuzz` with -sanitize=fuzzer,address -DFUZZING): the target is
// chosen by RSTD_FUZZ_TARGET, so one instrumented build serves every target.

nonisolated(unsafe) private var selected: FuzzTargets.Body?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = ProcessInfo.processInfo.environment["RSTD_FUZZ_TARGET"] ?? ""
    guard let body = FuzzTargets.target(name) else {
        FileHandle.standardError.write(Data("rstdoctor-fuzz: RSTD_FUZZ_TARGET=\(name) is not a target; use one of: \(FuzzTargets.all.map(\.name).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    selected = body
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let selected else { return 0 }
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected(bytes)
    return 0
}

#if !FUZZING
/// Without libFuzzer: `rstdoctor-fuzz TARGET FILE|DIR...` runs each input once (reproducing a crash
/// found by `make fuzz` in a debugger-friendly build). Exit 0 when every input ran.
@main
struct Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let body = FuzzTargets.target(name) else {
            print("usage: rstdoctor-fuzz TARGET FILE|DIR...\ntargets: \(FuzzTargets.all.map(\.name).joined(separator: " "))")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                print("rstdoctor-fuzz: \(path) does not exist"); exit(2)
            }
            let files = isDir.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for f in files {
                guard let d = FileManager.default.contents(atPath: f) else { continue }
                body([UInt8](d))
                count += 1
            }
        }
        print("\(name): \(count) inputs ran")
    }
}
#endif
