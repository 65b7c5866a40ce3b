#!/usr/bin/env bash
# Events the cloud does not answer stay in the window and are sent again
# after ack_timeout on the same link; the cloud answers "duplicate" to what
# it already had, and the edge counts those as synced.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud --no-ack
CLOUD_ACK_TIMEOUT=2s cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

scales run --records 5 --wait-ok
wait_for 20 "scale done" scales_done
# the cloud keeps them (accepted) but says nothing; re-sends may already
# have come in as duplicates, unanswered too
wait_for 10 "5 events received unanswered" simstat_is accepted 5
[ "$(cloud_status in_flight)" = 5 ] || fail "expected 5 in flight, have $(cloud_status in_flight)"
[ "$(store_pending)" = 5 ] || fail "events synced without an ack"

simctl "ack on" | grep -q '^ok' || fail "ack on"
wait_for 15 "re-sent events answered" pending_is 0
[ "$(cloud_status events_resent)" -ge 5 ] || fail "events_resent $(cloud_status events_resent)"
[ "$(simstat accepted)" = 5 ] || fail "accepted $(simstat accepted)"
[ "$(simstat duplicates)" -ge 5 ] || fail "the re-sends were not answered as duplicates"
[ "$(cloud_status connects)" = 1 ] || fail "re-send needed a reconnect"
echo "resend ok"
