#!/usr/bin/env bash
# Issue 15 item 6: a second connection that registers as SCALE-01 from
# another address used to supersede the real scale, whose records were then
# attributed wrongly. With [scale SCALE-01] address set, a registration from
# another address is refused and logged; the real scale keeps its id and
# connection, and what the other connection sends is kept under its own
# address. Without an address the takeover is allowed, but logged as a
# warning with both addresses and shown in status (id moved); records keep
# the address they came from.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "[scale SCALE-01]
address = 127.0.0.1"
ct_start

$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" <<'PY' || fail "scales"
import sys
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
port = int(sys.argv[1])
# address set: the real scale at 127.0.0.1, another at 127.0.0.2 claims its id
real = sl.Scale(port, source="127.0.0.1")
real.send(b"SCALE-01", sl.record(net=6001) + sl.CRLF, sl.PROMPT)
real.wait_oks(1)
other = sl.Scale(port, source="127.0.0.2")
other.send(b"SCALE-01", sl.record(net=6002) + sl.CRLF, sl.PROMPT)
other.wait_oks(1)
real.send(sl.record(net=6003) + sl.CRLF, sl.PROMPT)        # still connected, still SCALE-01
real.wait_oks(2)
# no address: SCALE-02 moves from 127.0.0.1 to 127.0.0.3
a = sl.Scale(port, source="127.0.0.1")
a.send(b"SCALE-02", sl.record(net=7001) + sl.CRLF, sl.PROMPT)
a.wait_oks(1)
b = sl.Scale(port, source="127.0.0.3")
b.send(b"SCALE-02", sl.record(net=7002) + sl.CRLF, sl.PROMPT)
b.wait_oks(1)
PY
ct events --json --limit 0 | jq -r '.events[] | "\(.net_g) \(.device_id) \(.source_ip)"' |
	sort > "$T/events.txt"
cat "$T/events.txt"
printf '%s\n' "6001 SCALE-01 127.0.0.1" "6002 UNREGISTERED-127.0.0.2 127.0.0.2" \
	"6003 SCALE-01 127.0.0.1" "7001 SCALE-02 127.0.0.1" "7002 SCALE-02 127.0.0.3" > \
	"$T/want.txt"
diff "$T/want.txt" "$T/events.txt" || fail "events not attributed to where they came from"

refused='scale SCALE-01: registration from 127.0.0.2:[0-9]* refused: \[scale SCALE-01\] address'
grep -q "$refused is 127.0.0.1" "$T/daemon.log" || fail "refused registration not logged"
grep -q "warn: scale SCALE-02: id moved from 127.0.0.1:[0-9]* to 127.0.0.3:[0-9]*" \
	"$T/daemon.log" ||
	fail "id move not logged as a warning with both addresses"
[ "$(worker_status ingest counters.registrations_refused)" = 1 ] || fail "registrations_refused"
[ "$(worker_status ingest counters.id_moves)" = 1 ] || fail "id_moves"
scale() {   # scale ID FIELD: one field of ingest's status row of that scale
	sj ".workers[] | select(.name==\"ingest\") | .status.scales[] | select(.id==\"$1\") | .$2"
}
[ "$(scale SCALE-01 registrations_refused.last_from | cut -d: -f1)" = 127.0.0.2 ] ||
	fail "status: refused registration not shown"
[ "$(scale SCALE-02 id_moved.to | cut -d: -f1)" = 127.0.0.3 ] ||
	fail "status: id move not shown"
ct status > "$T/status.txt" || true
grep -q "id moved from 127.0.0.1:[0-9]* to 127.0.0.3:[0-9]* at " "$T/status.txt" ||
	fail "human status: $(cat "$T/status.txt")"
grep -q "1 registration(s) refused (not its \[scale\] address), last from 127.0.0.2" \
	"$T/status.txt" ||
	fail "human status: refusal not shown"
echo "ok: an id bound to an address is not taken; an unbound one moves loudly;" \
	"records keep their address"
