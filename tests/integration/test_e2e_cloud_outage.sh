#!/usr/bin/env bash
# The cloud is stopped for 20 s and started again, twice, while scales weigh
# in controlled transfer: OKs keep flowing offline; each scale gets one
# offline batch per outage; every offline_batch_end's eventCount and
# totalWeightGrams equal what the cloud received under that offlineBatchId;
# every OK'd record arrives, the backlog drains to 0.
# Under a sanitizer build (BUILD=*asan) the scale count is scaled by E2E_SCALE.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

NSCALES=$(scaled 10)
OUTAGE_S=${E2E_OUTAGE_S:-20}
cs_start --auto-session
e2e_conf
ct_start 10
wait_for 15 "edge registered with the cloud" cloud_link_up
wait_for 10 "store sees the link up" link_up

sim_start load --scales "$NSCALES" --records 0 --rate 5 --controlled --reconnect --hb 2 \
	--timeout 115
wait_for 10 "all scales connected" grep -q "all $NSCALES connected" "$T/load.log"
oks() { wc -l <"$T/load.ok"; }
accepted_at_least() { [ "$(cs_stat accepted)" -ge "$1" ]; }
wait_for 10 "online events accepted" accepted_at_least "$NSCALES"

for round in 1 2; do
	t0=$SECONDS
	cs stop | grep -q '^ok stopped' || fail "cloudsim stop"
	link_down() { [ "$(worker_status store link)" = down ]; }
	wait_for 15 "outage $round: link down after the grace period" link_down
	ok0=$(oks)
	# The outage itself is the fault under test: it lasts OUTAGE_S seconds
	# of wall time, and the scales must keep getting OKs all along.
	outage_over() { [ $((SECONDS - t0)) -ge "$OUTAGE_S" ] && [ "$(oks)" -gt "$ok0" ]; }
	wait_for "$(left $((OUTAGE_S + 5)))" "outage $round: $OUTAGE_S s with OKs flowing" \
		outage_over
	echo "outage $round: $(( $(oks) - ok0 )) records OK'd while the cloud was down"
	cs listen | grep -q '^ok listening' || fail "cloudsim listen"
	wait_for "$(left 40)" "outage $round: edge back (register $((round + 1)))" cloud_link_up \
		$((round + 1))
	wait_for 10 "outage $round: store sees the link up" link_up
done

kill -TERM "$SIM_PID"
sim_wait "$SIM_PID" "$(left 15)" "simulator wound up"
tail -n 1 "$T/load.log"
resent=$(sed -n 's/.* resent=\([0-9]*\).*/\1/p' "$T/load.log" | tail -n 1)
[ -n "$resent" ] || fail "no summary line from dp401-sim"
wait_for "$(left 60)" "backlog drained (pending 0)" pending_zero
no_crashes 0
cs batches >"$T/batches.json"
e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --max-extra "$resent" ||
	fail "delivery check"
e2e_check batches --events "$T/events.log" --batches "$T/batches.json" --scales "$NSCALES" \
	--per-scale 2 || fail "batch check"
echo "ok: two cloud outages, offline batches exact, all events arrived"
