#!/usr/bin/env bash
# A backlog of 100,000 events (stored while the cloud was unreachable)
# drains completely once the cloud is there, oldest first, each accepted
# once, at a rate set by the cloud's acks rather than by any timer. Over
# REST (test_rest_backlog.sh) its offline batches are acknowledged too.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

# sanitizer builds are several times slower: a smaller backlog proves the same
case "$B" in *asan*) PER_SCALE=${PER_SCALE:-3000} ;; *) PER_SCALE=${PER_SCALE:-10000} ;; esac
N=$((10 * PER_SCALE))
cloud_conf
ct_start
# no cloud yet: every event goes into its scale's offline batch
store_link_down() { [ "$(worker_status store link)" = down ]; }
wait_for 10 "the store knows the link is down" store_link_down
scales fill --scales 10 --records "$PER_SCALE" --rate 0 --wait-ok --timeout 50
wait_for 55 "$N events weighed" scales_done
wait "$SCALES_PID" || fail "dp401-sim reported a failure: $(tail -n 2 "$T/fill.log")"
[ "$(store_pending)" = "$N" ] || fail "store has $(store_pending) pending, expected $N"


# The link's backoff has grown to its ceiling while nothing listened; a
# fresh cloud worker (as an operator would restart it) connects at once,
# so the time measured is the drain itself.
sim_cloud
ct restart cloud >/dev/null || fail "restart cloud"
start=$(date +%s%N)
wait_for 50 "backlog of $N drained" pending_is 0
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "drained $N events in $ms ms ($(( N * 1000 / (ms + 1) )) events/s)"
[ "$(simstat accepted)" = "$N" ] || fail "cloud accepted $(simstat accepted) of $N"
[ "$(accepted_ids)" = "$N" ] || fail "event log has $(accepted_ids) distinct ids"
# oldest first: the first accepted event of each scale is its record 1. Over
# REST up to REST_INFLIGHT (4, cloud_rest.h) requests are in flight on their
# own connections, sent oldest first, and the cloud may finish a later one
# first: there record 1 must come within the first 4 requests' events.
if [ "$CLOUD_TRANSPORT" = rest ]; then
	per=$(grep -o '[0-9]* events per request' "$T/daemon.log" | tail -n 1 | cut -d' ' -f1)
	[ -n "$per" ] || fail "the daemon did not log its events per request"
	pos=$(awk '$2 == "accepted" { n++ }
		$2 == "accepted" && $3 == "SCALE-01" && $4 == 1000001 { print n; exit }' \
		"$T/events.log")
	[ -n "$pos" ] && [ "$pos" -le $((4 * per)) ] ||
		fail "SCALE-01's record 1 arrived as event ${pos:-none}, after the first" \
		    "4 requests ($((4 * per)) events)"
else
	first=$(awk '$2 == "accepted" && $3 == "SCALE-01" { print $4; exit }' "$T/events.log")
	[ "$first" = 1000001 ] ||
		fail "SCALE-01's first event to arrive weighs $first, not record 1"
fi
if [ "$CLOUD_TRANSPORT" = rest ]; then
	# every offline batch acknowledged once delivered, in parts of 5000 ids
	# (10,000 a scale here) with every one of its eventIds
	acks_done() { simctl batches | grep -q '"batchId"' &&
		! simctl batches | grep '"batchId"' | grep -qv '"end":true'; }
	wait_for 20 "every offline batch acknowledged" acks_done
	simctl batches >"$T/batches.json"
	$PY -I "$CT_TOP/tests/integration/e2e_check.py" batches --events "$T/events.log" \
		--batches "$T/batches.json" --min-batches 10 ||
		fail "offline batch acknowledgements"
	grep '"ackParts":2' "$T/batches.json" | grep -q '"ackPartsReceived":2' ||
		[ "$PER_SCALE" -le 5000 ] || fail "no batch acknowledged in two parts"
fi
echo "backlog ok"
