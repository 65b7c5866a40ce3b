"""Checks of lib/web served by tests/helpers/web_serve (test_web_serve.sh):
routes, token, answers, and the bounds (header size, request deadline,
connection caps, allow list). Each check runs against a server the shell
script started; a failed assertion exits non-zero with the reason.

Usage:
  web_check.py routes PORT TOKEN STATUS_FILE
  web_check.py slowloris PORT TIMEOUT_S
  web_check.py caps PORT MAX_CONNS PER_IP
  web_check.py refused PORT
"""
import http.client
import json
import socket
import sys
import time

from prometheus_client.parser import text_string_to_metric_families


def req(port, path, token=None, method="GET", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, headers=h)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def routes(port, token, status_file):
    port = int(port)
    status = json.load(open(status_file, encoding="utf-8"))

    # /healthz needs no token; the fixture is healthy
    s, h, b = req(port, "/healthz")
    assert s == 200 and b == b"ok\n", (s, b)
    assert h["content-type"].startswith("text/plain"), h
    s, h, b = req(port, "/healthz", method="HEAD")
    assert s == 200 and b == b"", (s, b)

    # the page needs no token either (static, no data), and is locked down
    s, h, b = req(port, "/")
    assert s == 200 and h["content-type"] == "text/html; charset=utf-8", (s, h)
    assert b"<title>CarniTrack Edge</title>" in b
    assert "default-src 'none'" in h["content-security-policy"], h
    assert h["x-frame-options"] == "DENY" and h["cache-control"] == "no-store", h

    # data needs the token: none, another scheme, a wrong one, a prefix
    for bad in (None, "", "wrong", token[:-1], token + "x"):
        for path in ("/metrics", "/status.json"):
            s, h, b = req(port, path, token=bad)
            assert s == 401, (path, bad, s)
            assert h["www-authenticate"].startswith("Bearer"), h
    s, h, b = req(port, "/metrics", headers={"Authorization": "Basic " + token})
    assert s == 401, s

    s, h, b = req(port, "/status.json", token=token)
    assert s == 200 and h["content-type"] == "application/json; charset=utf-8", (s, h)
    got = json.loads(b.decode("utf-8"))
    assert got == status, "status.json is not the status object"
    assert "KUŞBAŞI İÇ YAĞ".encode("utf-8") in b, "Turkish text not passed as UTF-8"

    s, h, b = req(port, "/metrics", token=token)
    assert s == 200 and h["content-type"] == "text/plain; version=0.0.4; charset=utf-8", h
    m = {}
    for f in text_string_to_metric_families(b.decode("utf-8")):
        for x in f.samples:
            m[(x.name, tuple(sorted(x.labels.items())))] = x.value
    assert m[("carnitrack_backlog_events", ())] == 3, "backlog from the store (store_fill: 3)"
    assert m[("carnitrack_scale_records_total", (("device", "SCALE-01"),))] == 3
    assert m[("carnitrack_scale_connected", (("device", "SCALE-09"),))] == 0, "configured"
    assert m[("carnitrack_oks_sent_total", ())] == 509

    # other paths and methods
    s, h, b = req(port, "/nope", token=token)
    assert s == 404, s
    s, h, b = req(port, "/metrics", token=token, method="POST")
    assert s in (405, 501), s
    # headers past the limit (8 KiB) are refused, the server goes on
    s, h, b = req(port, "/healthz", headers={"X-Big": "a" * 9000})
    assert s in (400, 413, 431), s
    # garbage instead of HTTP
    g = socket.create_connection(("127.0.0.1", port), timeout=5)
    g.sendall(b"\x00\xff garbage \r\n\r\n" * 10)
    data = g.recv(4096)
    assert data == b"" or data.startswith(b"HTTP/1.1 400"), data[:60]
    g.close()
    s, h, b = req(port, "/healthz")
    assert s == 200, s
    print("routes ok")


def healthz_degraded(port, want):
    s, h, b = req(int(port), "/healthz")
    assert s == 503, (s, b)
    text = b.decode("utf-8")
    assert text.startswith("degraded: ") and want in text, text
    print("healthz:", text.strip())


def closed_within(sock, seconds):
    """True when the peer closes (or resets) sock within seconds."""
    sock.settimeout(0.1)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def slowloris(port, timeout_s):
    """A request trickled a header line at a time is cut at the deadline,
    although every read resets evhttp's own inactivity timer."""
    port, timeout_s = int(port), float(timeout_s)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    start = time.monotonic()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    cut = None
    for i in range(100):
        time.sleep(timeout_s / 4)
        try:
            s.sendall(b"X-Slow-%d: y\r\n" % i)
        except (BrokenPipeError, ConnectionResetError):
            cut = time.monotonic() - start
            break
        # meanwhile the server answers others at once
        if i == 1:
            t0 = time.monotonic()
            st, _, _ = req(port, "/healthz")
            assert st in (200, 503) and time.monotonic() - t0 < 1, "stalled by a slow client"
        if closed_within(s, 0):
            cut = time.monotonic() - start
            break
    if cut is None and closed_within(s, timeout_s * 3):
        cut = time.monotonic() - start
    assert cut is not None, "slow client never cut"
    assert cut < timeout_s * 3 + 1, "cut after %.1f s" % cut
    print("slowloris cut after %.2f s (deadline %.0f s)" % (cut, timeout_s))


def connect_from(port, addr):
    s = socket.socket()
    s.bind((addr, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def get_on(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


def caps(port, max_conns, per_ip):
    port, max_conns, per_ip = int(port), int(max_conns), int(per_ip)
    assert max_conns > per_ip
    # per address: the one past per_ip is closed before it sends anything
    held = [connect_from(port, "127.0.0.1") for _ in range(per_ip)]
    extra = connect_from(port, "127.0.0.1")
    assert closed_within(extra, 2), "connection past the per-address cap not closed"
    extra.close()
    # another address still gets in, up to the total cap
    for i in range(max_conns - per_ip):
        held.append(connect_from(port, "127.0.0.2"))
    time.sleep(0.3)            # let the server settle every one of them
    # at the cap nothing more is served (it waits in the backlog) ...
    waiting = connect_from(port, "127.0.0.3")
    get_on(waiting)
    waiting.settimeout(0.7)
    try:
        got = waiting.recv(100)
    except socket.timeout:
        got = None
    assert got is None, "a connection past the cap was served: %r" % got
    # ... until one ends
    held.pop().close()
    waiting.settimeout(5)
    got = waiting.recv(100)
    assert got.startswith(b"HTTP/1.1 "), got
    waiting.close()
    for s in held:
        s.close()
    print("caps ok: %d per address, %d in all" % (per_ip, max_conns))


def refused(port):
    """Not in allow: closed before any answer."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    got = b""
    try:
        get_on(s)
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert got == b"", "a refused address got an answer: %r" % got[:80]
    print("refused ok")


if __name__ == "__main__":
    {"routes": routes, "healthz_degraded": healthz_degraded, "slowloris": slowloris,
     "caps": caps, "refused": refused}[sys.argv[1]](*sys.argv[2:])
