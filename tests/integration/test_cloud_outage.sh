#!/usr/bin/env bash
# The cloud stops listening for 20 s while three scales keep weighing.
# After the grace the edge goes offline: each scale's events go into that
# scale's offline batch. When the cloud is back every event arrives, each
# batch is reported with counts equal to what the cloud received for it,
# and no event is accepted twice.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

OUTAGE=${OUTAGE:-20}
sim_cloud
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

scales run --scales 3 --rate 4 --records 0 --duration $((OUTAGE + 8)) --wait-ok
some_accepted() { [ "$(simstat accepted)" -ge 6 ]; }
wait_for 10 "events flowing" some_accepted

simctl stop | grep -q '^ok stopped' || fail "stop"
store_link_down() { [ "$(worker_status store link)" = down ]; }
wait_for 10 "store told the link is down" store_link_down
open3() { [ "$(worker_status store open_batches)" = 3 ]; }
wait_for 10 "an open batch per scale" open3
[ "$(cloud_status last_error)" != null ] || fail "no last_error while the cloud is away"
sleep "$OUTAGE"     # the outage itself: scales keep weighing meanwhile

simctl listen | grep -q '^ok listening' || fail "listen"
wait_for 30 "edge back up" link_is up
wait_for $((OUTAGE + 30)) "scales done" scales_done
wait "$SCALES_PID" || fail "dp401-sim reported a failure: $(tail -n 2 "$T/run.log")"
wait_for 30 "store has nothing pending" pending_is 0

stored=$(worker_status store events)
[ "$(simstat accepted)" = "$stored" ] ||
	fail "cloud accepted $(simstat accepted), store has $stored"
[ "$(accepted_ids)" = "$stored" ] ||
	fail "event log has $(accepted_ids) distinct ids for $stored events"
lines=$(awk '$2 == "accepted"' "$T/events.log" | wc -l)
[ "$lines" = "$stored" ] || fail "an event was accepted twice ($lines accepted lines)"
[ "$(simstat batches)" = 3 ] ||
	fail "expected 3 offline batches reported, cloud has $(simstat batches)"
simctl batches > "$T/batches.json"
$PY - "$T/batches.json" <<'PY' || fail "batch counts"
import json, sys
bs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
devs = sorted(b["deviceId"] for b in bs)
assert devs == ["SCALE-01", "SCALE-02", "SCALE-03"], devs
for b in bs:
    assert b["start"] and b["end"], b
    assert b["eventCount"] > 0, b
    assert b["eventCount"] == b["received"], b
    assert b["totalWeightGrams"] == b["receivedWeightGrams"], b
print("batches:", [(b["deviceId"], b["eventCount"]) for b in bs])
PY
echo "outage ok"
