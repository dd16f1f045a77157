#!/usr/bin/env python3
"""Seed corpora for `make fuzz`: usage seeds.py ROOT SHARED_CORPUS OUTDIR.

Writes OUTDIR/<target>/<name> from the third-party corpus (Tests/Fixtures/corpus), the lab's captures, the
checks' samples and the knowledge files, in the input layout each target in
Sources/RSTDoctorFuzz/FuzzTargets.swift expects (a leading selector byte where a target has several
parsers). Seeds are regenerated each run; what the fuzzer adds to the corpus is kept beside them.
"""
import glob
import hashlib
import os
import struct
import sys

import yaml

root, shared, out = sys.argv[1:4]

# Order must match FuzzTargets.linkTypes and the parser lists in FuzzTargets.all.
LINK_TYPES = [1, 12, 113, 276, 0, 108, 228, 229, 14, 101, 10, 239]
SS = ["ss-sockets", "ss-listeners"]
HOST = ["sysctl", "proc-netstat", "sockstat", "ip-addr", "ip-neigh", "arping", "app-log"]


def put(target, data, name=None):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def pcap_frames(data, limit=64):
    """Classic pcap only: (link type, [(time, frame)])."""
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    lt = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    frames, off = [], 24
    while off + 16 <= len(data) and len(frames) < limit:
        s, us, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if incl > 65535 or off + incl > len(data):
            break
        frames.append((s + us / (1e9 if nano else 1e6), data[off:off + incl]))
        off += incl
    return lt, frames


def framed(lt, frames):
    """The `packet` target's layout: link type index, then [time step][len LE16][frame]."""
    b = bytearray([LINK_TYPES.index(lt)])
    last = frames[0][0] if frames else 0
    for t, fr in frames:
        gap = max(0.0, t - last)
        last = t
        b.append(255 if gap >= 60 else min(254, int(gap * 100)))
        b += struct.pack("<H", len(fr)) + fr
    return bytes(b)


captures = (sorted(glob.glob(os.path.join(shared, "pcap", "*")))
            + sorted(glob.glob(os.path.join(root, "Tests/LabTests/Fixtures/pcap/*.pcap")))
            + sorted(glob.glob(os.path.join(root, "Tests/RSTDoctorKitTests/Fixtures/capture/**/*.pcap*"), recursive=True)))
for path in captures:
    data = read(path)
    if len(data) <= 64 * 1024:
        put("capture-file", data, os.path.basename(path))
    parsed = pcap_frames(data)
    if parsed and parsed[0] in LINK_TYPES and parsed[1]:
        put("packet", framed(*parsed), os.path.basename(path))

for path in sorted(glob.glob(os.path.join(shared, "ss", "*"))):
    for i in range(len(SS)):
        put("ss", bytes([i]) + read(path), f"{i}-{os.path.basename(path)}")
for path in sorted(glob.glob(os.path.join(shared, "nft", "*"))):
    put("nft-json", read(path), os.path.basename(path))
for path in sorted(glob.glob(os.path.join(shared, "iptables", "*"))):
    put("iptables-save", read(path), os.path.basename(path))
for path in sorted(glob.glob(os.path.join(shared, "proc", "*"))):
    put("host-parsers", bytes([HOST.index("proc-netstat")]) + read(path), "netstat-" + os.path.basename(path))
    put("host-parsers", bytes([HOST.index("sockstat")]) + read(path), "sockstat-" + os.path.basename(path))
for path in sorted(glob.glob(os.path.join(shared, "sysctl", "*"))):
    put("host-parsers", bytes([HOST.index("sysctl")]) + read(path), os.path.basename(path))

# Every check's sample, for the target that parses it.
for path in sorted(glob.glob(os.path.join(root, "checks", "*.yaml"))):
    doc = yaml.safe_load(read(path)) or {}
    parser, sample = doc.get("parser"), doc.get("sample")
    if not parser or sample is None:
        continue
    text = sample if isinstance(sample, str) else "\n".join(str(v) for v in (sample.values() if isinstance(sample, dict) else sample))
    name = os.path.basename(path)
    if parser in SS:
        put("ss", bytes([SS.index(parser)]) + text.encode(), name)
    elif parser in HOST:
        put("host-parsers", bytes([HOST.index(parser)]) + text.encode(), name)
    elif parser in ("nft-json", "iptables-save", "kernel-log"):
        put(parser, text, name)

# Kernel trace: recorded trace_pipe text (selector 0) and event format files (selector 1).
for path in sorted(glob.glob(os.path.join(root, "Tests/Fixtures/KernelTrace/trace/*"))):
    put("trace-line", b"\x00" + read(path), os.path.basename(path))
for path in sorted(glob.glob(os.path.join(root, "Tests/Fixtures/KernelTrace/format-*/*.format"))):
    put("trace-line", b"\x01" + read(path), os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path))

# Knowledge: each file with its index in the sorted list of embedded paths; every rule's `when`.
paths = sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "checks/**/*.yaml"), recursive=True)
               + glob.glob(os.path.join(root, "knowledge/**/*.yaml"), recursive=True))
for i, rel in enumerate(paths):
    put("knowledge-yaml", bytes([i % 256]) + read(os.path.join(root, rel)), rel.replace("/", "_"))


def whens(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("when", "value", "expr") and isinstance(v, str):
                yield v
            else:
                yield from whens(v)
    elif isinstance(node, list):
        for v in node:
            yield from whens(v)


for rel in paths:
    if rel.startswith("knowledge/"):
        for w in whens(yaml.safe_load(read(os.path.join(root, rel)))):
            put("expression", w)

for t in sorted(os.listdir(out)):
    print(f"seeds: {t}: {len(os.listdir(os.path.join(out, t)))}")
