#!/usr/bin/env bash
# Admission: a connection from outside [scales] allow is closed at once and
# logged; after a reload that allows it, scales get through; max_connections
# refuses the one too many without disturbing the others.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "allow = 10.99.0.0/16, fd00::/8
max_connections = 3
max_per_ip = 100"
ct_start

closed_at_once() {
	$PY - "$SCALE_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
s.settimeout(3)
try:
    s.sendall(b"SCALE-30HB")
    data = s.recv(10)
except ConnectionResetError:
    data = b""
assert data == b"" and time.time() - t0 < 1.5, "connection was served"
PY
}
closed_at_once || fail "connection from outside allow was not closed at once"
grep -q "connection from 127.0.0.1:[0-9]* refused: not in \[scales\] allow" "$T/daemon.log" ||
	fail "refusal not logged"
[ "$(worker_status ingest counters.refused_allow)" -ge 1 ] || fail "refused_allow not counted"
[ "$(ct events --limit 0 | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l)" -eq 0 ] || fail "events stored"
echo "ok: outside allow refused"

sed -i 's|^allow = .*|allow = 10.99.0.0/16, 127.0.0.0/8|' "$CONF"
kill -HUP "$(cat "$T/daemon.pid")"
wait_for 10 "ingest reloaded" grep -q "ingest: info: config reloaded" "$T/daemon.log"

# Three held connections fill max_connections; the fourth is refused.
cat > "$T/hold.py" <<'PY'
import os, socket, sys, time
port, t = int(sys.argv[1]), sys.argv[2]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
for i, s in enumerate(held):
    s.sendall(b"SCALE-4%dHB" % i)
open(t + "/held", "w").write("3")
end = time.time() + 20
while not os.path.exists(t + "/release") and time.time() < end:
    for s in held:
        s.sendall(b"HB")
    time.sleep(0.2)
PY
bg hold $PY "$T/hold.py" "$SCALE_PORT" "$T" >/dev/null
wait_for 5 "3 connections held" ingest_connections = 3
closed_at_once || fail "fourth connection not refused"
[ "$(worker_status ingest counters.refused_max_connections)" -ge 1 ] || fail "refusal not counted"
[ "$(worker_status ingest connections)" -eq 3 ] || fail "held connections disturbed"
touch "$T/release"
wait_for 5 "held connections gone" ingest_connections = 0
echo "ok: max_connections"

"$B/dp401-sim" --first-id 33 --records 3 --rate 0 --wait-ok --timeout 20 127.0.0.1:$SCALE_PORT \
	> "$T/sim.log" 2>&1 || fail "allowed scale: $(cat "$T/sim.log")"
[ "$(ct events --limit 0 | awk '$3 == "SCALE-33"' | wc -l)" -eq 3 ] || fail "allowed scale's events"
echo "ok: allowed after reload"

# A reload that moves the listener to [::] on the same port: IPv6 clients
# come in, IPv4 ones still do (dual stack).
sed -i "s|^listen = .*|listen = [::]:$SCALE_PORT|; s|^allow = .*|allow = 127.0.0.0/8, ::1|" "$CONF"
kill -HUP "$(cat "$T/daemon.pid")"
wait_for 10 "ingest listens on [::]" grep -q "listening for scales on \[::\]:$SCALE_PORT" \
	"$T/daemon.log"
"$B/dp401-sim" --first-id 34 --records 2 --rate 0 --wait-ok --timeout 20 "[::1]:$SCALE_PORT" \
	> "$T/sim6.log" 2>&1 || fail "IPv6 scale: $(cat "$T/sim6.log")"
"$B/dp401-sim" --first-id 35 --records 2 --rate 0 --wait-ok --timeout 20 127.0.0.1:$SCALE_PORT \
	> "$T/sim4.log" 2>&1 || fail "IPv4 scale on [::]: $(cat "$T/sim4.log")"
[ "$(ct events --limit 0 | awk '$3 == "SCALE-34" || $3 == "SCALE-35"' | wc -l)" -eq 4 ] ||
	fail "IPv6/IPv4 events after moving the listener"
echo "ok: listener moved to [::] by reload, IPv6 and IPv4 served"
