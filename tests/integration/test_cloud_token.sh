#!/usr/bin/env bash
# The bearer token: a world-readable token file is refused with a clear
# message (the cloud worker does not start); a wrong token is refused by
# the cloud (401) and the refusal is shown in status; the right one works.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud --require-token right-token
TOKEN=$T/token
cloud_conf "token_file = $TOKEN"

# 1. world-readable: refused before any connection is made
echo right-token > "$TOKEN"
chmod 644 "$TOKEN"
"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
refused_msg() { grep -q "token_file $TOKEN is readable by everyone (mode 0644)" "$T/daemon.log"; }
wait_for 10 "the world-readable token refused in the log" refused_msg
cloud_not_running() { [ "$(worker_field cloud state)" != running ] && [ -n "$(worker_field cloud state)" ]; }
wait_for 10 "cloud worker not running" cloud_not_running
[ "$(simstat connects)" = 0 ] || fail "the edge connected with a world-readable token"
ct_stop

# 2. wrong token, private file: the cloud answers 401, status says so
echo wrong-token > "$TOKEN"
chmod 600 "$TOKEN"
ct_start
shows_401() { cloud_status last_error | grep -q "401"; }
wait_for 15 "status shows the 401" shows_401
# (status exits 1 while the link is down: degraded)
{ ct status || true; } > "$T/status.txt"
grep -q "401 Unauthorized" "$T/status.txt" || { cat "$T/status.txt"; fail "carnitrackctl status does not show the refusal"; }
[ "$(cloud_status link_state)" != up ] || fail "link up with a wrong token"
[ "$(simstat unauthorized)" -ge 1 ] || fail "cloud saw no unauthorized attempt"
[ "$(simstat registers)" = 0 ] || fail "registered with a wrong token"
! grep -q wrong-token "$T/daemon.log" || fail "the token appears in the log"

# 3. the right token: the worker reads it again when restarted
echo right-token > "$TOKEN"
ct restart cloud >/dev/null || fail "restart cloud"
wait_for 15 "edge registered with the right token" link_is up
scales run --records 3 --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "3 events accepted" simstat_is accepted 3
echo "token ok"
