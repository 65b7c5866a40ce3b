"""A misbehaving scale for test_e2e_garbage.sh: garbage bytes, half records,
a 5000-byte line, impossible dates, broken tokens, then one good record with
an ack request that must still get its OK (the parser is not wedged). The
record with an impossible date is a real weighing from a bad clock: kept and
covered by that OK too (issue 15); half records and the long line are
quarantined, not sent.

usage: e2e_bad_scale.py PORT OKLOG    (OKLOG gets "SCALE-90 900000000002" and
                                       "SCALE-90 900000000001")
Exit 0 when the good record got its OK, 1 otherwise.
"""
import os
import socket
import sys
import time

PORT, OKLOG = int(sys.argv[1]), sys.argv[2]


def record(net, barcode, date=None):
    t = time.localtime()
    date = date or time.strftime("%d.%m.%Y", t)
    return ("00001,%s,%s,KIYMA           ,%s,0000,%-48s,%010d,%010d,%010d,2,0,2,1,N,"
            "KORKUT KAAN BALTA"
            % (time.strftime("%H:%M:%S", t), date, barcode, "KAAN", net + 1000, 1000, net)).encode()


def conn():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# 1: garbage, a half registration, half a record, then gone.
s = conn()
s.sendall(b"\x00\xff\xfe#~" + os.urandom(512).replace(b"\n", b"?").replace(b"\r", b"?")
          + b"SCALE-9")
s.sendall(record(91000001, "910000000001")[:70])
s.close()

# 2: registered, then everything wrong, then one good record + prompt.
s = conn()
s.sendall(b"SCALE-90")
s.sendall(record(90000098, "900000000098")[:60] + b"Z" * 5000 + b"\r\n")   # overlong record
s.sendall(record(90000002, "900000000002", date="31.02.2026") + b"\r\n")   # impossible date
s.sendall(b"00001,not,a,record\r\n")                               # too few fields
s.sendall(b"KONTROLLU AKT" + b"\x01\x02" + b"HB" + bytes(range(1, 9)))  # broken token, HB inside
s.sendall(record(91000002, "910000000002")[:100])                  # half a record ...
s.sendall(b"\r\n")                                                # ... ended early: rejected
s.sendall(b"\r\n\r\n")
s.sendall(record(90000001, "900000000001") + b"\r\n" + b"KONTROLLU AKTAR OK?")
got, end = b"", time.time() + 15
while b"OK\n" not in got and time.time() < end:
    try:
        d = s.recv(64)
    except socket.timeout:
        break
    if not d:
        break
    got += d
if b"OK\n" not in got:
    print("bad scale: no OK for the good record after the garbage (got %r)" % got)
    sys.exit(1)
with open(OKLOG, "a") as f:
    f.write("SCALE-90 900000000002\nSCALE-90 900000000001\n")
s.sendall(b'P"' + record(90000001, "900000000001") + b"\r\n")
s.close()
print("bad scale: good record confirmed after the garbage")
