#!/usr/bin/env bash
# A backlog of 100,000 events (stored while the cloud was unreachable)
# drains completely once the cloud is there, oldest first, each accepted
# once, at a rate set by the cloud's acks rather than by any timer.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

# sanitizer builds are several times slower: a smaller backlog proves the same
case "$B" in *asan*) PER_SCALE=${PER_SCALE:-3000} ;; *) PER_SCALE=${PER_SCALE:-10000} ;; esac
N=$((10 * PER_SCALE))
cloud_conf
ct_start
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
# oldest first: the first accepted event of each scale is its record 1
first=$(awk '$2 == "accepted" && $3 == "SCALE-01" { print $4; exit }' "$T/events.log")
[ "$first" = 1000001 ] || fail "SCALE-01's first event to arrive weighs $first, not record 1"
echo "backlog ok"
