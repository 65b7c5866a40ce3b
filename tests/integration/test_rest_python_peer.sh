#!/usr/bin/env bash
# The edge over [cloud] transport = rest against tests/cloud_py/rest_cloud.py,
# an independent REST cloud on python3's http.server (a stack we did not
# write) that answers /register in snake_case and, like the old cloud, does
# not say its batch limit (50) in /config. Records weighed before it listens
# go into one offline batch per scale; once it is there the edge registers,
# sends a batch too large for it, learns the limit from the 413, delivers
# every record once, and acknowledges each offline batch with every one of
# its eventIds; a session started there reaches the store.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
CLOUD_TRANSPORT=rest
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

N=150
cloud_conf
ct_start
store_link_down() { [ "$(worker_status store link)" = down ]; }
wait_for 10 "no cloud yet: the store knows the link is down" store_link_down
scales fill --scales 2 --records $N --rate 0 --wait-ok --timeout 40
wait_for 45 "$((2 * N)) records weighed offline" scales_done
wait "$SCALES_PID" || fail "dp401-sim: $(tail -n 1 "$T/fill.log")"
[ "$(worker_status store open_batches)" = 2 ] ||
	fail "$(worker_status store open_batches) open offline batches, want 2"

"$PY" "$CT_TOP/tests/cloud_py/rest_cloud.py" "$CLOUD_PORT" --control "$CLOUD_CTL" \
	--batch-limit 50 --hide-limit --snake --intervals 1000,1000,1000,2000 \
	>"$T/pyrest.log" 2>&1 &
CT_PIDS+=($!)
wait_for 20 "python REST cloud listening" grep -q "^listening" "$T/pyrest.log"
wait_for 30 "edge registered with the python cloud" link_is up
wait_for 30 "backlog delivered" pending_is 0
wait_for 15 "both offline batches acknowledged" simstat_is batch_acks 2
[ "$(simstat accepted)" = $((2 * N)) ] || fail "python cloud accepted $(simstat accepted)"
[ "$(simstat ack_ids)" = $((2 * N)) ] || fail "the ACKs listed $(simstat ack_ids) eventIds"
[ "$(simstat ack_ids_unknown)" = 0 ] || fail "$(simstat ack_ids_unknown) ACKed ids not received"
[ "$(simstat too_large)" -ge 1 ] || fail "no batch was refused 413"
[ "$(cloud_status events_per_request)" = 50 ] ||
	fail "the edge sends $(cloud_status events_per_request) events per request, limit 50"
[ "$(cloud_status identity_source)" = register ] || fail "identity from the snake_case answer"
simctl "start SCALE-01 A-9" | grep -q '^ok' || fail "start a session"
has_session() { ct sessions 2>/dev/null | grep -q "^SCALE-01 .* active .*A-9"; }
wait_for 10 "the python cloud's session in the store" has_session
no_restarts
echo "REST python peer ok: $(simstat requests) requests, $(simstat too_large) refused 413"
