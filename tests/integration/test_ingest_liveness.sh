#!/usr/bin/env bash
# Liveness with heartbeat_interval = 1s (stale after 2 missed, closed after
# 3): a connection that never sends a byte is reaped; a registered scale that
# falls silent goes stale, then is closed and reported disconnected; a scale
# that keeps heartbeating stays connected.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "heartbeat_interval = 1s
max_per_ip = 100"
ct_start

# Never registers, never sends: closed by the edge after ~3 s.
$PY - "$SCALE_PORT" <<'PY' || fail "silent connection not reaped"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
s.settimeout(10)
assert s.recv(10) == b"", "edge sent bytes"
dt = time.time() - t0
assert 2.5 <= dt <= 6, "reaped after %.1f s" % dt
print("reaped after %.1f s" % dt)
PY
[ "$(worker_status ingest counters.closed_idle)" -ge 1 ] || fail "closed_idle not counted"
[ "$(worker_status ingest connections)" -eq 0 ] || fail "connection still counted"
echo "ok: silent unregistered connection reaped"

# Registers, then silence: stale, then disconnected, in the store's registry too.
cat > "$T/silent.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SCALE-21")
s.settimeout(15)
try:
    s.recv(10)
except Exception:
    pass
PY
bg silent $PY "$T/silent.py" "$SCALE_PORT" >/dev/null
dev_status() { [ "$(ct devices | awk -v d="$1" '$1 == d { print $3 }')" = "$2" ]; }
wait_for 5 "SCALE-21 connected" dev_status SCALE-21 connected
wait_for 5 "SCALE-21 stale" dev_status SCALE-21 stale
wait_for 5 "SCALE-21 disconnected" dev_status SCALE-21 disconnected

# Heartbeats every 0.3 s and a record a second for 5 s: never closed.
"$B/dp401-sim" --first-id 22 --records 0 --rate 1 --hb 0.3 --duration 5 --wait-ok \
	127.0.0.1:$SCALE_PORT > "$T/sim.log" 2>&1 || fail "heartbeating scale: $(cat "$T/sim.log")"
grep -q "errors=0" "$T/sim.log" || fail "heartbeating scale was dropped: $(cat "$T/sim.log")"
grep "SCALE-22" "$T/daemon.log" | grep -q "nothing received" && fail "SCALE-22 closed for silence"
echo "ok: heartbeating scale stays connected"
