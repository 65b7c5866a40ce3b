#!/usr/bin/env bash
# A cloud that hangs (TCP up, nothing answered) is noticed by the missing
# pong within ping_interval + a bound, the link is closed and re-made, and
# the events weighed meanwhile arrive on the new link.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud
CLOUD_PING=2s cloud_conf "status_interval = 1s"
ct_start
wait_for 10 "edge registered with the cloud" link_is up
status_seen() { grep -q "recv conn=1 status {\"version\"" "$T/cloudsim.log"; }
wait_for 10 "a periodic status message" status_seen

simctl freeze | grep -q '^ok frozen 1' || fail "freeze"
frozen_at=$SECONDS
scales run --records 4 --wait-ok
reconnected() { [ "$(cloud_status connects)" -ge 2 ] && link_is up; }
# ping every 2 s, pong bound 2 s: the hang is seen within ~4-6 s
wait_for 15 "edge gave up on the hung link and reconnected" reconnected
grep -q "cloud link lost: no pong within" "$T/daemon.log" ||
	fail "the reason is not the missing pong"
echo "hang noticed after $((SECONDS - frozen_at)) s"
wait_for 20 "scale done" scales_done
wait_for 20 "store has nothing pending" pending_is 0
[ "$(accepted_ids)" = 4 ] || fail "cloud accepted $(accepted_ids) distinct events, expected 4"
echo "dead link ok"
