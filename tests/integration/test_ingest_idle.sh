#!/usr/bin/env bash
# 1000 idle connections (connected, silent, never registering) do not stop a
# real scale's events: its records are stored and answered while they sit.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf "max_connections = 1100
max_per_ip = 1100"
ct_start

bg idle "$B/dp401-sim" -n 1000 --idle --duration 50 127.0.0.1:$SCALE_PORT >/dev/null
wait_for 20 "1000 idle connections up" grep -q "all 1000 connected" "$T/idle.log"
wait_for 20 "ingest holds 1000 connections" ingest_connections -ge 1000

"$B/dp401-sim" --first-id 5 --records 200 --rate 0 --controlled --timeout 30 \
	127.0.0.1:$SCALE_PORT > "$T/sim.log" 2>&1 ||
	fail "scale among idle connections: $(cat "$T/sim.log")"
grep -q "sent=200 oks=200 errors=0" "$T/sim.log" || fail "sim: $(cat "$T/sim.log")"
[ "$(ct events --limit 0 | awk '$3 == "SCALE-05"' | wc -l)" -eq 200 ] ||
	fail "SCALE-05 events missing"
[ "$(worker_status ingest connections)" -ge 1000 ] || fail "idle connections dropped"
echo "ok: 200 controlled records stored and answered beside 1000 idle connections"
