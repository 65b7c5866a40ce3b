#!/usr/bin/env bash
# Store restarts under load lose nothing and store nothing twice: 10 scales
# in controlled transfer while the store worker is killed (-9) three times and
# restarted cleanly once. Ingest keeps every unconfirmed event and sends it
# again to the new store; what the old store had committed comes back as a
# repeated localEventId and is confirmed without a second copy. At the end
# every record that got an OK is stored, each record exactly once.
. "$CT_TOP/tests/integration/lib.sh"

SCALES=10 RECORDS=400
ct_write_conf "max_per_ip = 100"
ct_start

# "DEVICE NET_G" of every stored event (duplicates kept).
stored() { ct events --limit 0 | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $3, $5 }'; }
# ok-log "SCALE-31 310000000042" -> "SCALE-31 31000042" (net = id * 1e6 + n).
oked() { awk '{ id = substr($2, 1, 2) + 0; n = substr($2, 3) + 0; print $1, id * 1000000 + n }' \
	"$1" | sort -u; }
oks_at_least() { [ -f "$T/oks" ] && [ "$(wc -l < "$T/oks")" -ge "$1" ]; }
store_pid() { worker_field store pid; }

bg sim "$B/dp401-sim" -n $SCALES --first-id 31 --records $RECORDS --rate 60 --controlled \
	--reconnect --ok-log "$T/oks" --timeout 55 127.0.0.1:$SCALE_PORT >/dev/null
sim=${CT_PIDS[-1]}

restart_store() {   # restart_store HOW AFTER_OKS
	local old
	wait_for 30 "$2 records answered" oks_at_least "$2"
	old=$(store_pid)
	if [ "$1" = kill ]; then kill -9 "$old"; else ct restart store >/dev/null; fi
	back() { local p; p=$(store_pid); [ "$p" != "$old" ] && [ "$p" != null ] \
		&& [ "$(worker_field store state)" = running ]; }
	wait_for 10 "store back after $1 at $2 OKs" back
}
restart_store kill 300
restart_store kill 1200
restart_store kill 2200
restart_store clean 3000

rc=0; wait "$sim" || rc=$?
[ $rc -eq 0 ] || fail "simulator (rc $rc): $(cat "$T/sim.log")"
total=$((SCALES * RECORDS))
grep -q "confirmed=$total" "$T/sim.log" || fail "not every record answered: $(cat "$T/sim.log")"

stored | sort > "$T/stored"
dups=$(uniq -d "$T/stored" | wc -l)
[ "$dups" -eq 0 ] || fail "$dups records stored twice: $(uniq -d "$T/stored" | head -3)"
oked "$T/oks" > "$T/oked"
missing=$(comm -23 "$T/oked" "$T/stored" | wc -l)
[ "$missing" -eq 0 ] ||
	fail "$missing answered records not stored: $(comm -23 "$T/oked" "$T/stored" | head -3)"
[ "$(wc -l < "$T/stored")" -eq $total ] || fail "stored $(wc -l < "$T/stored") events, want $total"

# the store's own figures agree: all pending (no cloud), state ok, 4 restarts
[ "$(worker_status store pending)" -eq $total ] ||
	fail "pending $(worker_status store pending), want $total"
[ "$(worker_status store state)" = ok ] || fail "store state $(worker_status store state)"
[ "$(worker_field store restarts)" -ge 4 ] || fail "store restarts $(worker_field store restarts)"
echo "ok: $total records through 3 kill -9 and 1 clean restart of store: all stored once"
