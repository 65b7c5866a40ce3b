#!/usr/bin/env bash
# kill -9 under load, first of ingest, then of store: scales in controlled
# transfer reconnect and resend what got no OK, and every record that got an
# OK is in the store (an OK is a promise that nothing before it can be lost).
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "max_per_ip = 100"
ct_start

stored() { ct events --limit 0 | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $3, $5 }' | sort -u; }
# ok-log lines "SCALE-61 610000000042" -> "SCALE-61 61000042" (net = id * 1e6 + n).
oked() { awk '{ id = substr($2, 1, 2) + 0; n = substr($2, 3) + 0; print $1, id * 1000000 + n }' \
	"$1" | sort -u; }
lines() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

kill_under_load() {   # kill_under_load WORKER FIRST_ID
	local w=$1 first=$2 old pid rc=0
	bg "sim_$w" "$B/dp401-sim" -n 5 --first-id "$first" --records 300 --rate 100 \
		--controlled --reconnect --ok-log "$T/oks_$w" --timeout 50 127.0.0.1:$SCALE_PORT \
		>/dev/null
	pid=${CT_PIDS[-1]}
	wait_for 20 "100 records answered before killing $w" lines "$T/oks_$w" 100
	old=$(worker_field "$w" pid)
	kill -9 "$old"
	back() { p=$(worker_field "$w" pid); [ "$p" != "$old" ] &&
		[ "$(worker_field "$w" state)" = running ]; }
	wait_for 10 "$w restarted" back
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "simulator after kill -9 $w (rc $rc): $(cat "$T/sim_$w.log")"
	grep -q "confirmed=1500" "$T/sim_$w.log" ||
		fail "not every record answered: $(cat "$T/sim_$w.log")"
	stored > "$T/stored_$w"
	oked "$T/oks_$w" > "$T/oked_$w"
	missing=$(comm -23 "$T/oked_$w" "$T/stored_$w" | wc -l)
	[ "$missing" -eq 0 ] || fail "$missing records got an OK but are not stored" \
	    "(kill -9 $w): $(comm -23 "$T/oked_$w" "$T/stored_$w" | head -3)"
	echo "ok: kill -9 $w under load: all $(wc -l < "$T/oked_$w") answered records stored"
}

kill_under_load ingest 61
kill_under_load store 71
