#!/usr/bin/env bash
# 20 scales x 500 records in controlled transfer while, again and again, a
# random worker that has served for at least a second is kill -9ed. Every
# record that got OK reaches the cloud, each localEventId accepted exactly
# once; extra copies of a record only as many as the scales re-sent after
# losing their connection (see e2e_check.py for what "exactly once" can mean
# with DP-401); every offline batch's counts match its events.
# Under a sanitizer build (BUILD=*asan) the load is scaled by E2E_SCALE (40%).
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

NSCALES=$(scaled 20)
NREC=$(scaled 500)
RATE=$(scaled 25)   # the load lasts ~20 s whatever the scale: time for kills
echo "load: $NSCALES scales x $NREC records at $RATE/s, controlled transfer"

cs_start --auto-session
# offline_grace 0: every cloud kill puts the scales into offline batches, so
# batch counts are tested under kills too, not only the event stream.
E2E_GRACE=0s e2e_conf
ct_start 10
wait_for 15 "edge registered with the cloud" cloud_link_up
wait_for 10 "store sees the link up" link_up

sim_start load --scales "$NSCALES" --records "$NREC" --rate "$RATE" --controlled --reconnect \
	--hb 5 --timeout 90
wait_for 10 "all scales connected" grep -q "all $NSCALES connected" "$T/load.log"

declare -A KILLS=([ingest]=0 [store]=0 [cloud]=0)
WORKERS=(ingest store cloud)
sim_running() { kill -0 "$SIM_PID" 2>/dev/null; }
served_a_second() {   # served_a_second NAME: running for >= 1 s (or the load is over)
	! sim_running && return 0
	[ "$(worker_field "$1" state)" = running ] && [ "$(worker_field "$1" uptime_s)" -ge 1 ]
}
back_from() {   # back_from NAME OLDPID
	local p; p=$(worker_field "$1" pid)
	[ "$p" != "$2" ] && [ "$p" != null ] && [ "$(worker_field "$1" state)" = running ]
}
end=$((SECONDS + 95))
while sim_running; do
	[ $SECONDS -lt $end ] || fail "load still running after 95 s"
	w=${WORKERS[RANDOM % 3]}
	wait_for 15 "$w served a second" served_a_second "$w" >/dev/null
	sim_running || break
	pid=$(worker_field "$w" pid)
	kill -9 "$pid"
	KILLS[$w]=$((KILLS[$w] + 1))
	wait_for 15 "$w back after kill -9 of $pid" back_from "$w" "$pid" >/dev/null
done
total_kills=$((KILLS[ingest] + KILLS[store] + KILLS[cloud]))
echo "kills: ingest=${KILLS[ingest]} store=${KILLS[store]} cloud=${KILLS[cloud]}"
[ "$total_kills" -ge 5 ] || fail "only $total_kills kills during the load: not a fault test"

sim_wait "$SIM_PID" "$(left 5)" "simulator exited"
tail -n 1 "$T/load.log"
[ "$SIM_RC" = 0 ] || fail "dp401-sim exit $SIM_RC: not every record got its OK"
resent=$(sed -n 's/.* resent=\([0-9]*\).*/\1/p' "$T/load.log" | tail -n 1)
[ -n "$resent" ] || fail "no summary line from dp401-sim"

wait_for "$(left 60)" "backlog drained (pending 0)" pending_zero
wait_for 15 "link up" link_up
no_crashes "$total_kills"
cs batches >"$T/batches.json"
e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --records "$NREC" \
	--expect-all-scales "$NSCALES" --max-extra "$resent" || fail "delivery check"
e2e_check batches --events "$T/events.log" --batches "$T/batches.json" || fail "batch check"
echo "ok: kill -9 of workers under load ($total_kills kills, $resent records re-sent)"
