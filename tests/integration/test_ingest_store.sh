#!/usr/bin/env bash
# Ingest -> store: 20 simulated scales x 1000 records (with stray bytes and
# Turkish text) are all stored exactly once; in controlled transfer every
# record gets its OK and the P" copy that follows is not stored again; with
# ack_mode = every_record each stored record is answered.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "max_per_ip = 100"
ct_start
addr=127.0.0.1:$SCALE_PORT

# "DEVICE NET_G" of every stored event.
stored() { ct events --limit 0 | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $3, $5 }'; }
# The simulator's records: net = scale id * 1000000 + record number.
expected() {   # expected FIRST_ID SCALES RECORDS
	$PY -c 'import sys
f, n, r = map(int, sys.argv[1:])
for i in range(f, f + n):
    for k in range(1, r + 1):
        print("SCALE-%02d %d" % (i, i * 1000000 + k))' "$@"
}

# --wait-ok: the final OK promises every record before it is stored.
"$B/dp401-sim" -n 20 --records 1000 --rate 0 --wait-ok --garbage --turkish --timeout 45 \
	"$addr" > "$T/sim1.log" 2>&1 || fail "simulator: $(cat "$T/sim1.log")"
grep -q "scales=20 sent=20000 oks=20 errors=0" "$T/sim1.log" || fail "sim: $(cat "$T/sim1.log")"
stored | sort > "$T/got1"
expected 1 20 1000 | sort > "$T/want1"
[ "$(wc -l < "$T/got1")" -eq 20000 ] || fail "stored $(wc -l < "$T/got1") events, want 20000"
cmp -s "$T/got1" "$T/want1" ||
	fail "stored events differ from sent: $(diff "$T/want1" "$T/got1" | head -5)"
echo "ok: 20 x 1000 records stored exactly once"
[ "$(worker_status ingest counters.garbage_bytes)" -gt 0 ] || fail "stray bytes not counted"
[ "$(worker_status ingest counters.rejected_lines)" -eq 0 ] || fail "lines rejected"

# Controlled transfer: record, prompt, OK, P" copy; the copy is not a new weighing.
"$B/dp401-sim" -n 5 --first-id 31 --records 100 --rate 0 --controlled --timeout 45 \
	"$addr" > "$T/sim2.log" 2>&1 || fail "controlled simulator: $(cat "$T/sim2.log")"
grep -q "scales=5 sent=500 oks=500 errors=0 confirmed=500" "$T/sim2.log" ||
	fail "controlled sim: $(cat "$T/sim2.log")"
stored | grep -E '^SCALE-3[1-5] ' | sort > "$T/got2"
expected 31 5 100 | sort > "$T/want2"
cmp -s "$T/got2" "$T/want2" ||
	fail "controlled: stored $(wc -l < "$T/got2") events, want 500 once each"
[ "$(worker_status ingest counters.confirmations_skipped)" -eq 500 ] ||
	fail "P\" copies skipped: $(worker_status ingest counters.confirmations_skipped), want 500"
echo "ok: controlled transfer, 500 OKs, P\" copies not stored twice"

# ack_mode = every_record: an OK per stored record, without a prompt.
sed -i 's/^\[scales\]$/[scales]\nack_mode = every_record/' "$CONF"
kill -HUP "$(cat "$T/daemon.pid")"
wait_for 10 "config reloaded by ingest" grep -q "ingest: info: config reloaded" "$T/daemon.log"
$PY - "$SCALE_PORT" <<'PY' || fail "every_record: OKs missing"
import socket, sys, time
op = b"KAAN" + b" " * 44
rec = lambda n: (b"%05d,06:00:27,30.01.2026,KIYMA           ,000000000001,0000," % n + op +
                 b",0000072091,0000062415,%010d,2,0,2,1,N,KORKUT KAAN BALTA\r\n" % (50000000 + n))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SCALE-50" + rec(1) + rec(2) + rec(3))
s.settimeout(10)
got = b""
end = time.time() + 10
while got.count(b"OK\n") < 3 and time.time() < end:
    got += s.recv(100)
assert got == b"OK\n" * 3, got
PY
echo "ok: every_record answers each stored record"
