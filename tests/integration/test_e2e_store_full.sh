#!/usr/bin/env bash
# A tiny store (map_size 1MiB) with the cloud down fills up: status shows
# store_full (store state, ingest store_full), and the scales, alive and
# heart-beating, get no OK. The cloud comes back and acknowledges, retention
# (1 s) prunes what it acknowledged, and ingest resumes on its own: OKs flow
# again until every record of every scale is confirmed and in the cloud.
# Under a sanitizer build (BUILD=*asan) the load is scaled by E2E_SCALE.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

NSCALES=2
NREC=${E2E_NREC:-$(scaled 2500)}
cs_start --auto-session
cs stop | grep -q '^ok stopped' || fail "cloudsim stop"
e2e_conf "[store]
map_size = ${E2E_MAP_SIZE:-1MiB}
retention = 1s"
ct_start 10

sim_start load --scales "$NSCALES" --records "$NREC" --rate 0 --controlled --reconnect --hb 1 \
	--timeout 110
oks() { wc -l <"$T/load.ok" 2>/dev/null || echo 0; }
store_full() { [ "$(worker_status store state)" = store_full ]; }
ingest_full() { [ "$(worker_status ingest store_full)" = true ]; }
wait_for 60 "store_full in status" store_full
wait_for 10 "ingest knows the store is full" ingest_full
rc=0; ct status >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "carnitrackctl status exit $rc with the store full, want 1 (degraded)"
[ "$(sj .health)" = degraded ] || fail "status health $(sj .health) with the store full"
# (the cloud is down too: the store's own health says it is the store)
[ "$(worker_status store health)" = degraded ] ||
	fail "store health $(worker_status store health) while full"
echo "full after $(oks) OKs; store:" \
	"$(sj '.workers[1].status | {events, pending, map_use_pct}' | tr -d ' \n')"
kill -0 "$SIM_PID" 2>/dev/null || fail "simulator finished before the store filled: raise NREC"

# The scales are alive (heartbeats counted) yet get no OK.
hb() { sj '.workers[] | select(.name=="ingest") | .status.counters.heartbeats'; }
hb_at_least() { [ "$(hb)" -ge "$1" ]; }
wait_for 15 "scales heart-beating while full" hb_at_least $(( $(hb) + 2 * NSCALES ))
ok1=$(oks); sent1=$(worker_status ingest counters.oks_sent)
wait_for 15 "scales heart-beating while full, later" hb_at_least $(( $(hb) + 2 * NSCALES ))
ok2=$(oks); sent2=$(worker_status ingest counters.oks_sent)
[ "$ok2" = "$ok1" ] || fail "scales got $((ok2 - ok1)) OKs while the store was full"
[ "$sent2" = "$sent1" ] || fail "ingest sent $((sent2 - sent1)) OKs while the store was full"
store_full || fail "store no longer full with the cloud down"

cs listen | grep -q '^ok listening' || fail "cloudsim listen"
wait_for 40 "edge registered with the cloud" cloud_link_up
oks_grew() { [ "$(oks)" -gt "$ok2" ]; }
wait_for "$(left 30)" "OKs flow again after ack + prune" oks_grew
pruned() { [ "$(worker_status store pruned)" -gt 0 ]; }
pruned || fail "OKs resumed but the store pruned nothing"
sim_wait "$SIM_PID" "$(left 90)" "simulator finished"
tail -n 1 "$T/load.log"
[ "$SIM_RC" = 0 ] || fail "dp401-sim exit $SIM_RC: not every record got its OK"
resent=$(sed -n 's/.* resent=\([0-9]*\).*/\1/p' "$T/load.log" | tail -n 1)
wait_for "$(left 60)" "backlog drained (pending 0)" pending_zero
no_crashes 0
e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --records "$NREC" \
	--expect-all-scales "$NSCALES" --max-extra "$resent" || fail "delivery check"
echo "ok: store full withheld OKs; ack + retention freed it;" \
	"ingest resumed ($(worker_status store pruned) pruned)"
