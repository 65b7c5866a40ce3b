#!/usr/bin/env bash
# Issue 18 item 3: the system clock stepped back and forth during outages
# (the daemon runs under faketime; the monotonic clock is left alone) gives
# no offline batch that ends before it starts, and no batch of a scale that
# starts before its previous one ended. The batches whose wall stamps were
# clamped say so (clockAdjusted in offline_batch_end, clock_adjusted in
# carnitrackctl batches); a batch of an outage without a step does not.
# On the old code the first batch ends an hour before it starts.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

FT_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -1 || true)
[ -n "$FT_LIB" ] && [ -f "$FT_LIB" ] ||
	fail "libfaketime not installed (tests/deps.sh installs faketime)"
echo "+0" > "$T/clock"
step() { echo "$1" > "$T/clock"; }   # seconds from the real time, for the daemon only

sim_cloud
cloud_conf
# The daemon (and the workers it re-executes) read the wall clock through
# libfaketime and the offset in $T/clock, re-read on every call.
LD_PRELOAD=$FT_LIB FAKETIME_TIMESTAMP_FILE=$T/clock FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 \
	"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
wait_for 10 "all workers running" all_running
wait_for 10 "edge registered" link_is up

store_link_is() { [ "$(worker_status store link)" = "$1" ]; }
batches_reported() { [ "$(simstat batches)" -ge "$1" ]; }
# outage N STEP_DURING STEP_BEFORE_BACK: three records offline, the clock
# stepped in between, then the cloud back and the batch reported.
outage() {
	simctl stop | grep -q '^ok' || fail "stop the cloud"
	wait_for 10 "outage $1: store offline" store_link_is down
	[ -n "$2" ] && step "$2"
	scales "o$1" --records 3 --rate 0 --wait-ok
	wait_for 20 "outage $1: scale done" scales_done
	[ -n "$3" ] && step "$3"
	simctl listen | grep -q '^ok' || fail "cloud listen"
	wait_for 20 "outage $1: batch reported" batches_reported "$1"
}
outage 1 "" -3600          # an hour back during the outage
outage 2 "" +3600          # (still an hour back at its start) two hours forward
outage 3 "" ""             # no step
simctl stats >/dev/null    # flushes the cloud's log

grep -o '^recv conn=[0-9]* offline_batch_end .*' "$T/cloudsim.log" |
	sed 's/^[^{]*//' > "$T/ends.json"
[ "$(wc -l < "$T/ends.json")" = 3 ] || fail "$(wc -l < "$T/ends.json") offline_batch_end messages"
"$PY" - "$T/ends.json" <<'PY'
import datetime, json, sys
def t(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
ends = [json.loads(l) for l in open(sys.argv[1])]
prev = None
for i, b in enumerate(ends, 1):
    s, e = t(b["startedAt"]), t(b["endedAt"])
    print("batch %d: %s .. %s (%.1f s) clockAdjusted=%s" % (i, b["startedAt"], b["endedAt"],
          (e - s).total_seconds(), b.get("clockAdjusted")))
    if e < s:
        sys.exit("batch %d ends before it starts" % i)
    if prev is not None and s < prev:
        sys.exit("batch %d starts before batch %d ended" % (i, i - 1))
    if (e - s).total_seconds() > 600:
        sys.exit("batch %d lasts %s: the clock step counted as time" % (i, e - s))
    prev = e
want = [True, True, False]
got = [b.get("clockAdjusted") for b in ends]
if got != want:
    sys.exit("clockAdjusted %s, want %s" % (got, want))
PY
[ "$(ct batches --json | jq '[.batches[] | .clock_adjusted] | sort | tostring')" = \
	'"[false,true,true]"' ] || fail "carnitrackctl batches does not show the clamped batches"
grep -q "the wall clock was stepped during the outage; endedAt from the monotonic clock" \
	"$T/daemon.log" || fail "the clamp is not logged"
echo "batch clock test passed"
