#!/usr/bin/env bash
# Store full: store refuses events (store_full), ingest keeps them queued,
# answers no OK for them, and stores them once store has room again (bigger
# map, store restarted): nothing a scale sent is lost, nothing unstored is OK'd.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "max_per_ip = 100
[store]
map_size = 256KiB"
ct_start

stored() { ct events --limit 0 | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $3, $5 }' | sort -u; }
oked() { awk '{ id = substr($2, 1, 2) + 0; n = substr($2, 3) + 0; print $1, id * 1000000 + n }' \
	"$1" | sort -u; }

# Controlled transfer until the store stops taking events; the simulator
# gives up waiting for its OK after a few seconds.
if "$B/dp401-sim" --first-id 81 --records 3000 --rate 0 --controlled --ok-log "$T/oks" \
	--timeout 8 127.0.0.1:$SCALE_PORT > "$T/sim.log" 2>&1; then
	fail "every record answered although the store is full: $(cat "$T/sim.log")"
fi
# (Store may find room again by itself later; only what cannot race is checked.)
[ "$(worker_status ingest counters.events_refused)" -ge 1 ] || fail "refusals not counted"
grep -q "ingest: warn: store refused .* keeping them, no OK until stored" "$T/daemon.log" ||
	fail "refusal not logged by ingest"
stored > "$T/stored1"
missing=$(comm -23 <(oked "$T/oks") "$T/stored1" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing records were answered OK but not stored"
sent=$(sed -n 's/.* sent=\([0-9]*\) .*/\1/p' "$T/sim.log")
echo "ok: store full: $(wc -l < "$T/oks") of $sent answered, each of them stored"

# Room again: bigger map, store restarted; ingest sends what it kept.
sed -i 's/^map_size = .*/map_size = 64MiB/' "$CONF"
kill -HUP "$(cat "$T/daemon.pid")"
wait_for 10 "config reloaded" grep -q "ingest: info: config reloaded" "$T/daemon.log"
ct restart store >/dev/null
drained() { [ "$(worker_status ingest queued_unconfirmed)" = 0 ]; }
wait_for 20 "ingest's kept events stored" drained
stored > "$T/stored2"
[ "$(wc -l < "$T/stored2")" -eq "$sent" ] ||
	fail "after store has room: $(wc -l < "$T/stored2") stored, $sent sent"
echo "ok: kept events stored once the store had room: $sent of $sent"
