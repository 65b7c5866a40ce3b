"""A hostile LAN against the web worker's port (test_web_flood.sh), until
the file STOP exists. Loopback is all of 127/8, so the clients come from
many addresses, as hosts on a plant LAN would:
  - slowloris: 8 connections from each of 127.0.0.2-4 (the cap per
    address) trickling a request header a byte every 0.5 s, never ending
    it; a ninth from 127.0.0.4, refused; reopened when cut;
  - garbage: from 127.0.0.10-59 in turn, connections that send 8 KiB of
    random bytes (no HTTP), a header far past the 8 KiB limit, or a POST
    body past 4 KiB, and close;
  - now and then a valid GET /metrics from 127.0.0.1, counted by its answer.
Prints one line of what it did. The client sleeps between rounds, so that
what the flood costs the edge shows, not the client's own CPU.

Usage: web_flood.py PORT STOP_FILE
"""
import os
import socket
import sys
import time

port, stop = int(sys.argv[1]), sys.argv[2]
addr = ("127.0.0.1", port)
SLOW_FROM = ["127.0.0.2"] * 8 + ["127.0.0.3"] * 8 + ["127.0.0.4"] * 9
junk = os.urandom(8192)
big_header = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n"
big_body = b"POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 8192
stats = dict(slow_open=0, slow_cut=0, garbage=0, oversize=0, get_ok=0, get_other=0)


def opener(src):
    try:
        s = socket.create_connection(addr, timeout=0.5, source_address=(src, 0))
        s.setblocking(False)
        return s
    except OSError:
        return None


def fire(payload, src):
    s = opener(src)
    if s is None:
        return
    try:
        s.send(payload)
    except OSError:
        pass
    s.close()


def get_metrics():
    try:
        s = socket.create_connection(addr, timeout=3)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = s.recv(64)
        s.close()
        stats["get_ok" if head.startswith(b"HTTP/1.1 200") else "get_other"] += 1
    except OSError:
        stats["get_other"] += 1


slow = {}
prefix = b"GET /status.json HTTP/1.1\r\nHost: x\r\nX-Slow: "
last_trickle = 0.0
n = 0
while not os.path.exists(stop):
    for i, src in enumerate(SLOW_FROM):
        if i not in slow:
            s = opener(src)
            if s is None:
                break
            slow[i] = [s, 0]
            stats["slow_open"] += 1
    now = time.time()
    if now - last_trickle >= 0.5:
        last_trickle = now
        for i, c in list(slow.items()):
            try:
                c[0].send(prefix[c[1]:c[1] + 1] or b"z")
                c[1] += 1
            except OSError:
                c[0].close()
                del slow[i]
                stats["slow_cut"] += 1
    src = "127.0.0.%d" % (10 + n % 50)
    fire(junk, src)
    stats["garbage"] += 1
    n += 1
    if n % 10 == 0:
        fire(big_header if n % 20 else big_body, src)
        stats["oversize"] += 1
    if n % 25 == 0:
        get_metrics()
    time.sleep(0.005)
for c in slow.values():
    c[0].close()
print("flood: " + " ".join("%s=%d" % kv for kv in sorted(stats.items())))
