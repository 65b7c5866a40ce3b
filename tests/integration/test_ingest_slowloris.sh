#!/usr/bin/env bash
# Hostile scale LAN (issue 8): a peer that trickles bytes forming no DP-401
# packet is closed after close_after heartbeat periods, although any byte
# keeps a real scale alive; a flood of garbage from one host does not stop
# another scale's OKs; connections beyond max_per_ip are refused.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "heartbeat_interval = 1s
max_per_ip = 8"
ct_start

# Trickle: one garbage byte every 0.2 s, never a packet. Closed in ~3 s.
$PY - "$SCALE_PORT" <<'PY' || fail "trickling peer not closed"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
s.settimeout(0.2)
while time.time() - t0 < 10:
    try:
        s.sendall(b"#")
        if s.recv(10) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
dt = time.time() - t0
assert 2.5 <= dt <= 7, "closed after %.1f s" % dt
print("trickler closed after %.1f s" % dt)
PY
grep -q "only garbage" "$T/daemon.log" || fail "closing reason not logged"

# A heartbeating scale with garbage between heartbeats stays.
$PY - "$SCALE_PORT" <<'PY' || fail "heartbeating scale was closed"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SCALE-31")
t0 = time.time()
while time.time() - t0 < 5:
    s.sendall(b"#HB")
    time.sleep(0.5)
s.settimeout(0.1)
try:
    assert s.recv(10) != b"", "closed"
except socket.timeout:
    pass
print("heartbeating scale kept for 5 s")
PY

# A garbage flood from 6 connections of one host while a real scale weighs in
# controlled-transfer mode: every record still gets its OK.
$PY - "$SCALE_PORT" > "$T/flood.log" 2>&1 <<'PY' &
import socket, sys, time, os
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(6)]
junk = os.urandom(65536).replace(b"\n", b"x").replace(b"\r", b"x")
t0 = time.time(); sent = 0
while time.time() - t0 < 6:
    for c in conns:
        try:
            c.setblocking(False); sent += c.send(junk)
        except (BlockingIOError, OSError):
            pass
print("flooded %d bytes" % sent)
PY
CT_PIDS+=($!)
"$B/dp401-sim" -n 1 --first-id 41 --rate 0 --records 200 --controlled --timeout 30 \
	"127.0.0.1:$SCALE_PORT" > "$T/sim.log" 2>&1 ||
	{ cat "$T/sim.log"; fail "scale lost OKs during a flood"; }
grep -q "oks=200" "$T/sim.log" || fail "not all OKs: $(tail -n1 "$T/sim.log")"
echo "ok: 200 OKs during a garbage flood"

# max_per_ip: the 9th connection from one address is refused.
$PY - "$SCALE_PORT" <<'PY' || fail "max_per_ip not enforced"
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(8)]
for c in conns: c.sendall(b"HB")
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
extra.settimeout(3)
assert extra.recv(10) == b"", "9th connection kept"
print("9th connection refused")
PY
[ "$(worker_status ingest counters.refused_max_per_ip)" -ge 1 ] ||
	fail "refused_max_per_ip not counted"
echo "slowloris/flood test passed"
