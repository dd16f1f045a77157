import Foundation

/// How an address and port appear in a tcp_send_reset line (`%pISpc`: IPv6 in brackets).
func tracePoint(_ addr: String, _ port: Int) -> String {
    addr.contains(":") ? "[\(addr)]:\(port)" : "\(addr):\(port)"
}
