#!/usr/bin/env bash
# Several /events/batch requests in flight over [cloud] transport = rest,
# also when the cloud takes few events a request (maxBatchSize 50, below a
# quarter of the window: the outbox once waited for each request's answer
# before the next, one request at a time): with the cloud leaving every
# request unanswered (ack off), the edge has REST_INFLIGHT (4) of them out
# at once. Then the cloud drops those connections and answers again: the
# requests are sent again and every event is accepted exactly once.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
CLOUD_TRANSPORT=rest
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

cloud_conf
ct_start
store_link_down() { [ "$(worker_status store link)" = down ]; }
wait_for 10 "no cloud yet: the store knows the link is down" store_link_down
scales fill --scales 10 --records 200 --rate 0 --wait-ok --timeout 30
wait_for 35 "2000 records weighed" scales_done
sim_cloud --batch-limit 50
simctl "ack off" | grep -q '^ok' || fail "ack off"
inflight_is() { [ "$(cloud_status event_requests_in_flight)" = "$1" ]; }
wait_for 15 "4 event requests in flight, unanswered" inflight_is 4
[ "$(simstat rest_held)" -ge 4 ] || fail "the cloud holds $(simstat rest_held) requests"
[ "$(cloud_status events_per_request)" = 50 ] ||
	fail "$(cloud_status events_per_request) events per request, the cloud takes 50"
simctl "ack on" | grep -q '^ok' || fail "ack on"
simctl drop | grep -q '^ok' || fail "drop"
wait_for 30 "backlog delivered" pending_is 0
[ "$(accepted_ids)" = 2000 ] || fail "$(accepted_ids) of 2000 accepted"
[ "$(simstat accepted)" = 2000 ] || fail "an event accepted twice"
no_restarts
echo "REST in flight ok: 4 requests of 50 at once"
