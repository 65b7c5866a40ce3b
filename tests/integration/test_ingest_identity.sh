#!/usr/bin/env bash
# Scale identity: a scale reconnecting from a new port keeps its id and its
# history; a second connection registering the same id supersedes the first
# without a disconnect; data before registration goes under the configured
# address mapping or UNREGISTERED-<ip>; a P" record that matches nothing is
# stored. The port is dual-stack ([::]), so IPv4 and IPv6 clients both come.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "max_per_ip = 100
[scale SCALE-09]
address = ::1"
sed -i "s/^listen = 127.0.0.1:$SCALE_PORT$/listen = [::]:$SCALE_PORT/" "$CONF"
ct_start

stored_for() { ct events --limit 0 | awk -v d="$1" 'NR > 1 && $3 == d' | wc -l; }
scale_field() {   # scale_field ID FIELD: from ingest's status table
	sj ".workers[] | select(.name==\"ingest\") | .status.scales[] | select(.id==\"$1\") | .$2"
}

# Reconnect from a new source port (IPv4 via the dual-stack socket): same id,
# history kept.
for round in 1 2; do
	"$B/dp401-sim" --first-id 7 --records 5 --rate 0 --wait-ok --timeout 20 \
		127.0.0.1:$SCALE_PORT > "$T/sim$round.log" 2>&1 ||
		fail "sim round $round: $(cat "$T/sim$round.log")"
done
[ "$(stored_for SCALE-07)" -eq 10 ] || fail "SCALE-07 has $(stored_for SCALE-07) events, want 10"
[ "$(scale_field SCALE-07 events_today)" -eq 10 ] || fail "ingest lost SCALE-07's history"
[ "$(ct devices | awk '$1 == "SCALE-07" { print $6 }')" -eq 2 ] || fail "SCALE-07 connects != 2"
echo "ok: reconnecting scale keeps its id and history"

# Supersede: B registers SCALE-08 while A holds it. A is closed, B lives on,
# and the store never hears of a disconnect.
cat > "$T/supersede.py" <<'PY'
import os, socket, sys, time
port, t = int(sys.argv[1]), sys.argv[2]
a = socket.create_connection(("127.0.0.1", port)); a.sendall(b"SCALE-08HB")
time.sleep(0.3)
b = socket.create_connection(("::1", port)); b.sendall(b"SCALE-08HB")
a.settimeout(5)
ok = a.recv(10) == b""
open(t + "/superseded", "w").write("yes" if ok else "old connection not closed")
end = time.time() + 20
while not os.path.exists(t + "/release") and time.time() < end:
    b.sendall(b"HB"); time.sleep(0.1)
PY
bg supersede $PY "$T/supersede.py" "$SCALE_PORT" "$T" >/dev/null
wait_for 10 "supersede done" test -s "$T/superseded"
[ "$(cat "$T/superseded")" = yes ] || fail "supersede: $(cat "$T/superseded")"
[ "$(worker_status ingest counters.superseded)" -eq 1 ] || fail "superseded counter"
[ "$(worker_status ingest connections)" -eq 1 ] ||
	fail "connections: $(worker_status ingest connections)"
[ "$(scale_field SCALE-08 status)" = online ] || fail "SCALE-08 not online after supersede"
scale_08_connected() { [ "$(ct devices | awk '$1 == "SCALE-08" { print $3 }')" = connected ]; }
wait_for 5 "store has SCALE-08 connected" scale_08_connected
if grep "SCALE-08" "$T/daemon.log" | grep -q "disconnected"; then
	fail "supersede announced a disconnect: $(grep SCALE-08 "$T/daemon.log")"
fi
touch "$T/release"
echo "ok: second connection supersedes the first without a disconnect"

# Two physical scales configured alike keep taking the id from each other:
# reported as a duplicate scale id.
$PY - "$SCALE_PORT" <<'PY' || fail "duplicate id exchange"
import socket, sys, time
port = int(sys.argv[1])
held = []
for host in ("127.0.0.1", "::1", "127.0.0.1"):
    s = socket.create_connection((host, port)); s.sendall(b"SCALE-11HB"); held.append(s)
    time.sleep(0.2)
PY
[ "$(scale_field SCALE-11 duplicate_id)" = true ] || fail "duplicate scale id not reported"
grep -q "duplicate scale id SCALE-11" "$T/daemon.log" || fail "duplicate scale id not logged"
echo "ok: duplicate scale id reported"

# Data before registration: address mapping (::1 -> SCALE-09), else provisional.
$PY - "$SCALE_PORT" <<'PY' || fail "unregistered senders"
import socket, sys
port = int(sys.argv[1])
op = b"KAAN" + b" " * 44
def rec(net, prefix=b""):
    return (prefix + b"00003,06:00:27,30.01.2026,KIYMA           ,000000000001,0000," + op +
            b",0000072091,0000062415,%010d,2,0,2,1,N,KORKUT KAAN BALTA\r\n" % net)
def exchange(host, data):
    s = socket.create_connection((host, port))
    s.sendall(data + b"KONTROLLU AKTAR OK?")
    s.settimeout(10)
    assert s.recv(3) == b"OK\n"
    s.close()
exchange("::1", rec(91))                                 # mapped
exchange("127.0.0.1", rec(92))                           # provisional
exchange("127.0.0.1", b"SCALE-10" + rec(93, b'P"'))      # P" matching nothing
PY
[ "$(ct events --limit 0 | awk '$3 == "SCALE-09" && $5 == 91' | wc -l)" -eq 1 ] ||
	fail "record from ::1 not stored as SCALE-09"
[ "$(ct events --limit 0 | awk '$3 == "UNREGISTERED-127.0.0.1" && $5 == 92' | wc -l)" -eq 1 ] ||
	fail "record before registration not stored as UNREGISTERED-127.0.0.1"
[ "$(ct events --limit 0 | awk '$3 == "SCALE-10" && $5 == 93' | wc -l)" -eq 1 ] ||
	fail "P\" record matching nothing not stored"
echo "ok: address mapping, provisional id, unmatched P\" record stored"
