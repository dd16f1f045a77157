#!/usr/bin/env python3
"""Socket programs for staging RSTs in network namespaces (stdlib only).

serve PORT MODE    accept one connection and end it the MODE way:
                   linger0  read the request, answer, close with SO_LINGER {1, 0} (RST at close)
                   unread   read 5 bytes of the request, answer, close with the rest unread (RST)
                   echo     echo lines until the peer closes (serves several clients)
connect HOST PORT  connect, send a request, read until EOF or error; prints what happened
hold HOST PORT GO  connect, exchange one line, wait until file GO exists, send again, report
"""
import os, socket, struct, sys, time


def serve(port, mode):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    print("listening", flush=True)
    while True:
        c, _ = ls.accept()
        if mode == "linger0":
            c.recv(4096)
            c.sendall(b"response from server\n" * 4)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            return
        if mode == "unread":
            time.sleep(0.2)  # let the whole request arrive
            c.recv(5)
            c.sendall(b"partial answer\n")
            time.sleep(0.05)
            c.close()
            return
        if mode == "echo":
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    c.sendall(d)
            except OSError:
                pass
            c.close()


def connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        s.sendall(b"GET / HTTP/1.0\r\n" + b"x" * 200 + b"\r\n\r\n")
        got = 0
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += len(d)
        print("eof after", got, "bytes")
    except OSError as e:
        print("error", e.errno, os.strerror(e.errno) if e.errno else e)
    finally:
        s.close()


def hold(host, port, go):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect((host, port))
    s.sendall(b"hello\n")
    print("echo", s.recv(100), flush=True)
    while not os.path.exists(go):
        time.sleep(0.05)
    try:
        s.sendall(b"again\n")
        d = s.recv(100)
        print("got", d)
    except OSError as e:
        print("error", e.errno, os.strerror(e.errno))
    s.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    elif cmd == "connect":
        connect(sys.argv[2], int(sys.argv[3]))
    elif cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), sys.argv[4])
