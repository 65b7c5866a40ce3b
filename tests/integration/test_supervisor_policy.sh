#!/usr/bin/env bash
# Restart policy edges: a worker that keeps dying young is backed off, not
# restarted in a tight loop; a bad config never starts; -n checks only.
. "$CT_TOP/tests/integration/lib.sh"

# Config errors name file:line and exit non-zero, for -n and for a real start.
ct_write_conf
printf '[scales]\nlisten = 127.0.0.1:0\n' >> "$CONF"
if "$B/carnitrackd" -n -c "$CONF" 2>"$T/err"; then fail "-n accepted port 0"; fi
grep -q "edge.conf:[0-9]*: listen" "$T/err" || fail "bad port error lacks file:line: $(cat "$T/err")"
ct_write_conf
printf '[edge]\nfavourite_colour = red\n' >> "$CONF"
rc=0; "$B/carnitrackd" -f -c "$CONF" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || fail "daemon started with an unknown key"
grep -q "edge.conf:[0-9]*: unknown key 'favourite_colour'" "$T/err" || fail "unknown key error: $(cat "$T/err")"
ct_write_conf
"$B/carnitrackd" -n -c "$CONF" | grep -q "configuration OK" || fail "-n on a good config"

# A worker that always dies young: state backoff, restarts grow slowly.
export CARNITRACKD_TEST_FAIL=cloud
"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
unset CARNITRACKD_TEST_FAIL
in_backoff() { [ "$(worker_field cloud state)" = backoff ]; }
wait_for 5 "cloud in backoff" in_backoff
ct status >/dev/null && fail "status exit 0 while cloud is in backoff" || true
ct status >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "status exit code $rc while degraded, want 1"
ct status > "$T/human" || true
grep -q "backoff" "$T/human" || fail "human status does not show backoff"
# Over 4 s, backoff 1+2 s allows at most 3 spawns, not hundreds.
end=$((SECONDS + 4)); while [ $SECONDS -lt $end ]; do sleep 0.2; done
n=$(worker_field cloud restarts)
[ "$n" -le 3 ] || fail "cloud restarted $n times in ~4 s: no backoff"
[ "$(worker_field ingest state)" = running ] || fail "ingest not running"
echo "policy test passed (cloud restarts in 4 s: $n)"
