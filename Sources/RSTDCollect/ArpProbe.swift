import Foundation

extension Collector {
    /// Probes, spacing and listening time of the duplicate-ip check (ARP probes from 0.0.0.0, RFC 5227 §2.1.1).
    ///
    /// Who answers, and how fast: a Linux host that holds the address answers such a probe at once, in
    /// the softirq that receives it (net/ipv4/arp.c: arp_process(), the `sip == 0` case: a request for a
    /// RTN_LOCAL address is answered with arp_send_dst(ARPOP_REPLY) unless arp_ignore forbids; it never
    /// goes through the proxy-ARP queue and its random `proxy_delay`). Other stacks answer ARP requests
    /// on receipt too (RFC 826). Measured: 7–9 µs over a lab veth, 0.5 ms in the check's iputils sample;
    /// a switched LAN adds well under a millisecond. RFC 5227's PROBE_WAIT 1 s, PROBE_MIN/MAX 1–2 s and
    /// ANNOUNCE_WAIT 2 s are the pace of a host *claiming* an address (spread out so that hosts booting
    /// together do not probe in step), not the time a holder takes to answer.
    ///
    /// So Thomas Habets' arping (Debian's) sends PROBE_NUM = 3 probes 0.15 s apart (`-c 3 -W 0.15`) and
    /// stops at the first answer (`-C 1`): a duplicate is reported after one round trip; a clean address
    /// costs 0.45 s (was 1 s with one probe). The first probe gets 0.45 s to be answered, the last 0.15 s,
    /// so one lost probe or reply (a busy LAN, a dropped broadcast) no longer hides a duplicate, as the one
    /// probe of 1 s did. What this misses, and 1 s would not always catch either: a holder that answers
    /// later than 0.45 s after the first probe — a Wi-Fi station in power save whose access point holds
    /// broadcasts until a DTIM beacon more than ~0.4 s away (DTIM period × 102.4 ms; 1–3 is common), or
    /// a host whose softirqs are starved. The check's description says so; `arping -0 -c 5 -W 1 -i IF
    /// ADDR` probes such a LAN longer.
    ///
    /// iputils' arping reads `-w` and `-i` as whole seconds (strtol) and `-i 0` disarms its timer, so it
    /// cannot listen less than 1 s: with it the probe stays `-D -c 1 -w 1` (`-D` stops at the first
    /// answer) and the check takes 1 s.
    static func probeArgv(habets: Bool, ifname: String, address: String) -> [String] {
        habets ? ["arping", "-0", "-C", "1", "-c", "3", "-W", "0.15", "-i", ifname, address]
               : ["arping", "-D", "-c", "1", "-w", "1", "-I", ifname, address]
    }
}
