#!/usr/bin/env python3
"""Writes a synthetic Ethernet/IPv4 pcap for the capture benchmark.

gen.py OUT.pcap [--flows N] [--size-mb M] [--concurrency C] [--seed S] [--refused-pct P]

N connections (default 20000) totalling about M MiB (default 100), C of them interleaved at a time
(default 500). Each connection: a SYN answered by RST/ACK (no listener, P% of them, default 10), or
a handshake, data both ways, then one of: FIN close (80%), RST/ACK abort by the server mid-stream
(5%), stateless RST to a client segment (5%) (shares of the whole with P = 10; the three keep their
proportions for another P). A capture with a million RSTs: --flows 1000000 --size-mb 1
--refused-pct 100. Prints a JSON line with packets, bytes and the number of RSTs written.
"""
import json, random, struct, sys


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    out = args[0]
    opts = {"--flows": 20000, "--size-mb": 100, "--concurrency": 500, "--seed": 1, "--refused-pct": 10}
    i = 1
    while i < len(args):
        if args[i] not in opts or i + 1 >= len(args):
            sys.exit(__doc__)
        opts[args[i]] = int(args[i + 1])
        i += 2
    flows, size, conc = opts["--flows"], opts["--size-mb"] << 20, opts["--concurrency"]
    rnd = random.Random(opts["--seed"])
    refused = min(100, max(0, opts["--refused-pct"])) / 100

    # Data bytes per connection to reach the size: ~ (size / flows) minus headers of ~10 packets.
    per_flow = max(0, size // flows - 10 * 70)
    mss = 1400
    payload = bytes(rnd.getrandbits(8) for _ in range(mss))

    f = open(out, "wb", buffering=1 << 22)
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    pkt = bytearray(14 + 20 + 32 + mss)
    # Ethernet: two fixed MACs, IPv4.
    pkt[0:14] = bytes.fromhex("02000000000202000000000108 00".replace(" ", ""))
    stats = {"packets": 0, "bytes": 0, "rsts": 0, "flows": flows}
    t = 1_700_000_000.0
    hdr = struct.Struct("<IIII")
    ip = struct.Struct("!BBHHHBBH4s4s")
    tcp = struct.Struct("!HHIIBBHHH")
    ts_opt = struct.Struct("!BBBBII")

    def emit(src, dst, sp, dp, seq, ack, flags, n, ttl, opts_on=True, win=502):
        nonlocal t
        t += 0.00001
        olen = 12 if opts_on else 0
        tl = 20 + 20 + olen + n
        ip.pack_into(pkt, 14, 0x45, 0, tl, 0 if not opts_on else 1, 0x4000, ttl, 6, 0, src, dst)
        tcp.pack_into(pkt, 34, sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + olen // 4) << 4, flags, win, 0, 0)
        if opts_on:
            ts_opt.pack_into(pkt, 54, 1, 1, 8, 10, 1, 2)
        if n:
            pkt[34 + 20 + olen:34 + 20 + olen + n] = payload[:n]
        cap = 14 + tl
        sec = int(t)
        f.write(hdr.pack(sec, int((t - sec) * 1e6), cap, cap))
        f.write(pkt[:cap])
        stats["packets"] += 1
        stats["bytes"] += 16 + cap
        if flags & 4:
            stats["rsts"] += 1

    def conversation(k):
        cli = struct.pack("!I", 0xC6120000 | (k % 60000 + 2))
        srv = struct.pack("!I", 0xC6130000 | (k % 250 + 1))
        sp, dp = 1024 + (k * 7) % 60000, 80 + k % 3
        c, s = rnd.getrandbits(32), rnd.getrandbits(32)
        kind = rnd.random()
        yield lambda: emit(cli, srv, sp, dp, c, 0, 0x02, 0, 64)
        if kind < refused:
            yield lambda: emit(srv, cli, dp, sp, 0, c + 1, 0x14, 0, 63, opts_on=False, win=0)
            return
        yield lambda: emit(srv, cli, dp, sp, s, c + 1, 0x12, 0, 63)
        yield lambda: emit(cli, srv, sp, dp, c + 1, s + 1, 0x10, 0, 64)
        sent_c, sent_s = 1, 1
        left = per_flow
        while left > 0:
            n = min(mss, left)
            yield (lambda cc=sent_c, ss=sent_s, n=n: emit(cli, srv, sp, dp, c + cc, s + ss, 0x18, n, 64))
            sent_c += n
            left -= n
            if left <= 0:
                break
            n = min(mss, left)
            yield (lambda cc=sent_c, ss=sent_s, n=n: emit(srv, cli, dp, sp, s + ss, c + cc, 0x18, n, 63))
            sent_s += n
            left -= n
        if kind < refused + (1 - refused) * 5 / 90:
            yield lambda: emit(srv, cli, dp, sp, s + sent_s, c + sent_c, 0x14, 0, 63)
        elif kind < refused + (1 - refused) * 10 / 90:
            yield lambda: emit(cli, srv, sp, dp, c + sent_c, s + sent_s, 0x18, 10, 64)
            yield lambda: emit(srv, cli, dp, sp, s + sent_s, 0, 0x04, 0, 63, opts_on=False, win=0)
        else:
            yield lambda: emit(cli, srv, sp, dp, c + sent_c, s + sent_s, 0x11, 0, 64)
            yield lambda: emit(srv, cli, dp, sp, s + sent_s, c + sent_c + 1, 0x11, 0, 63)
            yield lambda: emit(cli, srv, sp, dp, c + sent_c + 1, s + sent_s + 1, 0x10, 0, 64)

    active, nxt = [], 0
    while active or nxt < flows:
        while len(active) < conc and nxt < flows:
            active.append(conversation(nxt))
            nxt += 1
        j = rnd.randrange(len(active))
        try:
            next(active[j])()
        except StopIteration:
            active[j] = active[-1]
            active.pop()
    f.close()
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
