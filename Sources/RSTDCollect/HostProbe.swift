import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

extension HostInfo {
    /// This machine's name and kernel release.
    package static func local(netns: String, port: Int?, peer: String?, window: Double) -> HostInfo {
        var u = utsname()
        uname(&u)
        func str<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return HostInfo(hostname: str(u.nodename), kernel: str(u.release), netns: netns, port: port, peer: peer, started: Date(), window: window, source: "live")
    }
}
