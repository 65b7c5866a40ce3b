"""A scale (and its WiFi bridge) for the integration tests, byte by byte:
records in the real 170-byte DP-401 layout, the prompt, heartbeats, and
segments sent exactly as given (TCP_NODELAY, one send each).

    import sys; sys.path.insert(0, TESTS_DIR); import scale_lib as sl
    s = sl.Scale(port, source="127.0.0.2")
    s.send(b"SCALE-01", sl.record(net=14) + sl.CRLF, sl.PROMPT)
    s.wait_oks(1)
"""
import socket
import time

CRLF = b"\r\n"
PROMPT = b"KONTROLLU AKTAR OK?"
OPERATOR = b"KAAN"


def record(plu=b"00001", t=b"06:00:27", d=b"30.01.2026", net=9676, barcode=None,
           company=b"KORKUT KAAN BALTA", ten=False, prefix=b"", operator=OPERATOR,
           product=b"KIYMA"):
    """One record line without its line end; gross = tare + net as the scale prints."""
    tare = 62415
    barcode = barcode if barcode is not None else b"%012d" % (net % 10 ** 12)
    r = (prefix + plu + b"," + t + b"," + d + b"," + product.ljust(16) + b"," + barcode +
         b",0000," + operator.ljust(48) + b",%010d,%010d,%010d" % (tare + net, tare, net))
    if not ten:
        r += b",2,0,2,1,N," + company
    return r


class Scale:
    def __init__(self, port, source=None, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.got = b""

    def send(self, *segments):
        for seg in segments:
            self.sock.sendall(seg)

    def poll(self):
        """What arrived so far, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                d = self.sock.recv(4096)
                if not d:
                    break
                self.got += d
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self.got.count(b"OK\n")

    def wait_oks(self, n, timeout=15):
        """Waits until n OKs arrived in all; fails the test if they do not."""
        end = time.time() + timeout
        while self.got.count(b"OK\n") < n:
            left = end - time.time()
            if left <= 0:
                raise SystemExit("FAIL: %d OKs after %ds, want %d (got %r)"
                                 % (self.got.count(b"OK\n"), timeout, n, self.got[-60:]))
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not d:
                raise SystemExit("FAIL: connection closed with %d OKs, want %d"
                                 % (self.got.count(b"OK\n"), n))
            self.got += d
        if self.got.count(b"OK\n") != n or self.got.replace(b"OK\n", b"") != b"":
            raise SystemExit("FAIL: the scale got %r, want %d OKs" % (self.got, n))

    def close(self):
        self.sock.close()
