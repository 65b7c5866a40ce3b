#!/usr/bin/env bash
# kill -9 of the cloud in the middle of a stream loses nothing: whatever was
# in flight unacknowledged is sent again to the restarted cloud, and in the
# end every event the edge stored was accepted by a cloud.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

scales run --scales 4 --rate 40 --records 0 --duration 8 --wait-ok
mid_stream() { [ "$(simstat accepted)" -ge 200 ]; }
wait_for 20 "stream under way" mid_stream
kill -KILL "$SIM_CLOUD_PID"
wait "$SIM_CLOUD_PID" 2>/dev/null || true
echo "killed the cloud after $(awk '$2 == "accepted"' "$T/events.log" | wc -l) accepted events"
sim_cloud         # same port, same event log (appended); it remembers nothing
wait_for 20 "edge registered again" link_is up
wait_for 30 "scales done" scales_done
wait "$SCALES_PID" || fail "dp401-sim reported a failure: $(tail -n 2 "$T/run.log")"
wait_for 30 "store has nothing pending" pending_is 0

stored=$(worker_status store events)
[ "$(accepted_ids)" = "$stored" ] ||
	fail "clouds accepted $(accepted_ids) distinct events, store has $stored"
[ "$(cloud_status connects)" -ge 2 ] || fail "the edge did not reconnect"
echo "kill -9 ok: $stored events, all accepted"
