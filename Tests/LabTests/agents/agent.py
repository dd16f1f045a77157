#!/usr/bin/env python3
"""Fault agent for the rstdoctor lab (stdlib only).

Runs inside a lab network namespace and plays a client or a server with exactly the socket calls
that produce each cause of a TCP reset (SO_LINGER {1,0}, TCP_REPAIR close, listen without accept,
close with unread data). Python because these calls are one line each here and need no build.

Two modes:
  agent.py serve            read one JSON command per line on stdin, answer one JSON line each;
                            the first line written is {"ok": true, "ready": true}.
  agent.py replay ...       re-send a captured segment with a raw socket (TIME-WAIT assassination).

Every socket error is answered with its errno name (ECONNRESET, ECONNREFUSED, EPIPE...) so the
harness can assert what the application saw. Nothing here ever raises out of the command loop.
"""
import errno
import json
import select
import socket
import struct
import sys
import threading
import time

TCP_REPAIR = 19
TCP_REPAIR_QUEUE = 20
TCP_QUEUE_SEQ = 21
TCP_TIMESTAMP = 24
IPV6_CHECKSUM = 7
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}
SIOCINQ = 0x541B


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def err_reply(exc, started=None):
    out = {"ok": False}
    if isinstance(exc, socket.timeout) or isinstance(exc, TimeoutError):
        out["errno"] = "TIMEOUT"
    elif isinstance(exc, OSError) and exc.errno is not None:
        out["errno"] = errno.errorcode.get(exc.errno, str(exc.errno))
    else:
        out["errno"] = "ERROR"
    out["error"] = str(exc)[:200]
    if started is not None:
        out["elapsed_ms"] = round((time.monotonic() - started) * 1000, 3)
    return out


class Agent:
    def __init__(self):
        self.socks = {}
        self.counter = 0

    def new_id(self, prefix, sock):
        self.counter += 1
        key = "%s%d" % (prefix, self.counter)
        self.socks[key] = sock
        return key

    def sock(self, cmd):
        key = cmd.get("id", "")
        if key not in self.socks:
            raise KeyError("no socket %r" % key)
        return self.socks[key]

    def op_listen(self, c):
        addr = c.get("addr", "0.0.0.0")
        s = socket.socket(family_of(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(c["port"])))
        s.listen(int(c.get("backlog", 16)))
        return {"ok": True, "id": self.new_id("L", s)}

    def op_accept(self, c):
        s = self.sock(c)
        s.settimeout(float(c.get("timeout", 3)))
        conn, peer = s.accept()
        return {"ok": True, "id": self.new_id("S", conn), "peer": list(peer[:2])}

    def op_connect(self, c):
        addr = c["addr"]
        s = socket.socket(family_of(addr), socket.SOCK_STREAM)
        if c.get("sport"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if ":" in addr else "0.0.0.0", int(c["sport"])))
        s.settimeout(float(c.get("timeout", 3)))
        started = time.monotonic()
        try:
            s.connect((addr, int(c["port"])))
        except OSError as e:
            s.close()
            return err_reply(e, started)
        return {"ok": True, "id": self.new_id("C", s), "local": list(s.getsockname()[:2]),
                "elapsed_ms": round((time.monotonic() - started) * 1000, 3)}

    def op_send(self, c):
        s = self.sock(c)
        s.settimeout(float(c.get("timeout", 3)))
        data = c.get("data", "x").encode()
        n = s.send(data)
        return {"ok": True, "bytes": n}

    def op_recv(self, c):
        s = self.sock(c)
        s.settimeout(float(c.get("timeout", 2)))
        started = time.monotonic()
        try:
            data = s.recv(int(c.get("max", 4096)))
        except OSError as e:
            return err_reply(e, started)
        return {"ok": True, "data": data.decode("latin-1"), "eof": len(data) == 0,
                "elapsed_ms": round((time.monotonic() - started) * 1000, 3)}

    def op_linger0(self, c):
        self.sock(c).setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return {"ok": True}

    def op_close(self, c):
        s = self.sock(c)
        del self.socks[c["id"]]
        s.close()
        return {"ok": True}

    def op_repair_close(self, c):
        # TCP_REPAIR makes close() silent: the socket is forgotten without FIN or RST, as when
        # a host crashes or a NAT reuses the port.
        s = self.sock(c)
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
        del self.socks[c["id"]]
        s.close()
        return {"ok": True}

    def op_state(self, c):
        info = self.sock(c).getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        return {"ok": True, "state": TCP_STATES.get(info[0], str(info[0]))}

    def op_inq(self, c):
        import fcntl
        buf = fcntl.ioctl(self.sock(c).fileno(), SIOCINQ, struct.pack("i", 0))
        return {"ok": True, "bytes": struct.unpack("i", buf)[0]}

    def op_seqs(self, c):
        # TCP_REPAIR exposes the socket's own sequence numbers (as CRIU reads them); leaving repair
        # mode with TCP_REPAIR_OFF_NO_WP (-1) sends nothing, so the connection is untouched.
        s = self.sock(c)
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
        try:
            s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, 1)
            rcv_nxt = struct.unpack("I", s.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
            s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, 2)
            snd_nxt = struct.unpack("I", s.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
        finally:
            s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, -1)
        local, peer = s.getsockname(), s.getpeername()
        # TCP_TIMESTAMP: the TSval this socket would send now (its clock plus its random offset),
        # so a segment can be forged with a timestamp older than any the peer has seen.
        tsval = struct.unpack("I", s.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP, 4))[0]
        return {"ok": True, "snd_nxt": snd_nxt, "rcv_nxt": rcv_nxt, "tsval": tsval,
                "local": [local[0], local[1]], "peer": [peer[0], peer[1]]}

    def op_inject(self, c):
        # One TCP segment built by hand (raw socket, the kernel adds the IP header), for segments a
        # stack would send in a fault (data beyond the peer's window) but will not send on demand.
        src, dst = c["src"], c["dst"]
        v6 = ":" in dst
        payload = c.get("data", "x").encode()
        flags = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}
        fl = sum(flags[ch] for ch in c.get("flags", "PA"))
        opts = b""
        if "tsval" in c:  # NOP NOP TS: a PAWS test needs the segment's own timestamp
            opts = struct.pack("!BBBBII", 1, 1, 8, 10, int(c["tsval"]) & 0xFFFFFFFF, int(c.get("tsecr", 0)) & 0xFFFFFFFF)
        hdr = struct.pack("!HHIIBBHHH", int(c["sport"]), int(c["dport"]), int(c["seq"]) & 0xFFFFFFFF,
                          int(c.get("ack", 0)) & 0xFFFFFFFF, (5 + len(opts) // 4) << 4, fl, int(c.get("win", 502)), 0, 0)
        seg = bytearray(hdr + opts + payload)
        if v6:
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 16)
            s.bind((src, 0))
            s.sendto(bytes(seg), (dst, 0))
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
            s.bind((src, 0))
            pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
            seg[16:18] = struct.pack("!H", checksum(pseudo + bytes(seg)))
            s.sendto(bytes(seg), (dst, 0))
        s.close()
        return {"ok": True, "bytes": len(payload)}

    def op_syn_burst(self, c):
        # A SYN flood as it comes from the Internet: SYNs from an address no host holds, so the
        # listener's SYN-ACKs go to a neighbour that never answers ARP and no handshake completes.
        # The IP header is built here (IPPROTO_RAW): a raw TCP socket cannot send from an address
        # this namespace does not have.
        # IPv6: IPPROTO_RAW on an AF_INET6 socket includes the header too (IPV6_HDRINCL), and an
        # unanswered neighbour solicitation for the source keeps the handshakes from completing.
        src, dst, dport = c["src"], c["dst"], int(c["dport"])
        count, base = int(c.get("count", 100)), int(c.get("sport", 20000))
        v6 = ":" in dst
        family = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
        seq0 = int(time.monotonic() * 1e6) & 0xFFFFFFFF
        saddr, daddr = socket.inet_pton(family, src), socket.inet_pton(family, dst)
        try:
            for i in range(count):
                tcp = bytearray(struct.pack("!HHIIBBHHH", base + i, dport, (seq0 + i * 7919) & 0xFFFFFFFF, 0,
                                            6 << 4, 0x02, 64240, 0, 0) + struct.pack("!BBH", 2, 4, 1460))
                if v6:
                    pseudo = saddr + daddr + struct.pack("!I3xB", len(tcp), 6)
                else:
                    pseudo = saddr + daddr + struct.pack("!BBH", 0, 6, len(tcp))
                tcp[16:18] = struct.pack("!H", checksum(pseudo + bytes(tcp)))
                if v6:
                    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, saddr, daddr)
                else:
                    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, saddr, daddr)
                s.sendto(ip + bytes(tcp), (dst, 0))
        finally:
            s.close()
        return {"ok": True, "bytes": count}

    def op_forge_synack(self, c):
        # Answers the next SYN to `port` that arrives on `dev` with a SYN-ACK whose echoed timestamp
        # (TSecr) is `back` ms older than the SYN's own TSval: a timestamp the connecting socket never
        # sent. AF_PACKET sees the SYN before netfilter, so an nft rule can keep this namespace's
        # stack from answering it. `forged` waits for the answer and returns what was sent.
        dev, port, back = c.get("dev", "eth0"), int(c["port"]), int(c.get("back", 100000))
        timeout = float(c.get("timeout", 3))
        p = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        p.bind((dev, 0x0800))
        p.settimeout(timeout)
        result = {"ok": False, "errno": "TIMEOUT", "error": "no SYN to port %d on %s" % (port, dev)}

        def run():
            try:
                while True:
                    pkt, addr = p.recvfrom(65535)
                    if addr[2] == 4 or len(pkt) < 40 or pkt[9] != 6:  # 4: PACKET_OUTGOING
                        continue
                    ihl = (pkt[0] & 0x0F) * 4
                    tcp = pkt[ihl:]
                    sport, dport, seq = struct.unpack("!HHI", tcp[:8])
                    if dport != port or tcp[13] & 0x12 != 0x02:
                        continue
                    tsval = tcp_tsval(tcp)
                    if tsval is None:
                        result.update(errno="EPROTO", error="the SYN carries no timestamp")
                        return
                    src, dst = socket.inet_ntoa(pkt[16:20]), socket.inet_ntoa(pkt[12:16])
                    mine, tsecr = (tsval + 777) & 0xFFFFFFFF, (tsval - back) & 0xFFFFFFFF
                    iss = (seq * 31 + 12345) & 0xFFFFFFFF
                    opts = struct.pack("!BBH", 2, 4, 1460) + struct.pack("!BBBBII", 1, 1, 8, 10, mine, tsecr)
                    seg = bytearray(struct.pack("!HHIIBBHHH", port, sport, iss, (seq + 1) & 0xFFFFFFFF,
                                                (5 + len(opts) // 4) << 4, 0x12, 64240, 0, 0) + opts)
                    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
                    seg[16:18] = struct.pack("!H", checksum(pseudo + bytes(seg)))
                    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
                    r.bind((src, 0))
                    r.sendto(bytes(seg), (dst, 0))
                    r.close()
                    result.clear()
                    result.update(ok=True, syn_tsval=tsval, tsecr=tsecr, seq=iss, ack=(seq + 1) & 0xFFFFFFFF,
                                  sport=sport, to=dst)
                    return
            except OSError as e:
                result.update(err_reply(e))
            finally:
                p.close()

        self.forger = (threading.Thread(target=run, daemon=True), result)
        self.forger[0].start()
        return {"ok": True}

    def op_forged(self, c):
        if getattr(self, "forger", None) is None:
            return {"ok": False, "errno": "EINVAL", "error": "forge_synack was not called"}
        t, result = self.forger
        t.join(float(c.get("timeout", 4)))
        return dict(result) if not t.is_alive() else {"ok": False, "errno": "TIMEOUT", "error": "still waiting"}

    def op_sleep(self, c):
        time.sleep(min(float(c.get("seconds", 0.1)), 20))
        return {"ok": True}

    def handle(self, c):
        op = c.get("op", "")
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            return {"ok": False, "errno": "EINVAL", "error": "unknown op %r" % op}
        try:
            return fn(c)
        except (OSError, socket.timeout) as e:
            return err_reply(e)
        except (KeyError, ValueError, TypeError) as e:
            return {"ok": False, "errno": "EINVAL", "error": str(e)[:200]}


def serve():
    agent = Agent()
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError:
            print(json.dumps({"ok": False, "errno": "EINVAL", "error": "bad json"}), flush=True)
            continue
        if cmd.get("op") == "quit":
            print(json.dumps({"ok": True}), flush=True)
            break
        print(json.dumps(agent.handle(cmd)), flush=True)


def tcp_tsval(tcp):
    """The TSval of a TCP header's timestamp option, or None."""
    doff, i = (tcp[12] >> 4) * 4, 20
    while i < doff:
        kind = tcp[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        size = tcp[i + 1] if i + 1 < doff else 0
        if size < 2:
            break
        if kind == 8 and size == 10:
            return struct.unpack("!I", tcp[i + 2:i + 6])[0]
        i += size
    return None


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def pcap_packets(path):
    """Yields the IPv4 packets of an Ethernet pcap file (the lab's own captures)."""
    with open(path, "rb") as f:
        raw = f.read(64 * 1024 * 1024)
    if len(raw) < 24:
        return
    magic = raw[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack(endian + "I", raw[20:24])[0]
    off = 24
    while off + 16 <= len(raw):
        _, _, caplen, _ = struct.unpack(endian + "IIII", raw[off:off + 16])
        frame = raw[off + 16: off + 16 + caplen]
        off += 16 + caplen
        if linktype == 1 and len(frame) > 14 and frame[12:14] == b"\x08\x00":
            yield frame[14:]


def replay(argv):
    """Re-sends the first captured IPv4 segment src:sport -> dst:dport that carries data."""
    args = dict(zip(argv[0::2], argv[1::2]))
    src, dst = socket.inet_aton(args["--src"]), socket.inet_aton(args["--dst"])
    sport, dport = int(args["--sport"]), int(args["--dport"])
    for pkt in pcap_packets(args["--pcap"]):
        if len(pkt) < 40 or pkt[9] != 6 or pkt[12:16] != src or pkt[16:20] != dst:
            continue
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        tcp = bytearray(pkt[ihl:total])
        if len(tcp) < 20 or struct.unpack("!HH", bytes(tcp[:4])) != (sport, dport):
            continue
        doff = (tcp[12] >> 4) * 4
        if len(tcp) <= doff:
            continue
        # The capture was taken on a veth, whose checksums are left to an offload that never
        # happens: recompute the TCP checksum before sending the segment again.
        tcp[16:18] = b"\0\0"
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp[16:18] = struct.pack("!H", checksum(pseudo + bytes(tcp)))
        ip = bytearray(pkt[:ihl])
        ip[2:4] = struct.pack("!H", ihl + len(tcp))
        ip[10:12] = b"\0\0"
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(bytes(ip) + bytes(tcp), (args["--dst"], 0))
        s.close()
        seq = struct.unpack("!I", bytes(tcp[4:8]))[0]
        print(json.dumps({"ok": True, "seq": seq, "bytes": len(tcp) - doff}), flush=True)
        return 0
    print(json.dumps({"ok": False, "errno": "ENOENT", "error": "no matching data segment in capture"}), flush=True)
    return 1


def probe(argv):
    """Waits until ADDR answers at layer 3: a UDP datagram to a closed port comes back as an ICMP
    port unreachable (ECONNREFUSED). No TCP, so no counter or trace of a scenario moves."""
    addr, deadline = argv[0], time.monotonic() + float(argv[1] if len(argv) > 1 else 5)
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.settimeout(0.2)
    s.connect((addr, 9))
    while time.monotonic() < deadline:
        try:
            s.send(b"rstd-lab probe")
            s.recv(16)
        except ConnectionRefusedError:
            return 0
        except OSError:
            time.sleep(0.05)
    return 1


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "probe":
        sys.exit(probe(sys.argv[2:]))
    if len(sys.argv) >= 2 and sys.argv[1] == "replay":
        sys.exit(replay(sys.argv[2:]))
    serve()
