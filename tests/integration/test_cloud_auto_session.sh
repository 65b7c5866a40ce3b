#!/usr/bin/env bash
# cloudsim --auto-session: a scale that connects gets a session from the
# cloud, and the edge tags that scale's events with it from then on.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud --auto-session
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

has_session() { simctl sessions | grep -q '"deviceId":"SCALE-03"'; }
scales first --first-id 3 --records 1 --wait-ok
wait_for 20 "first weighing done" scales_done
wait_for 10 "cloud started a session for SCALE-03" has_session
S=$(simctl sessions | $PY -c "
import json, sys
for l in sys.stdin:
    if l.startswith('{'): print(json.loads(l)['cloudSessionId'])")
sess_stored() { ct sessions 2>/dev/null | grep -q "$S"; }
wait_for 10 "store has the session" sess_stored

scales second --first-id 3 --records 2 --wait-ok
wait_for 20 "second weighing done" scales_done
wait_for 10 "3 events accepted" simstat_is accepted 3
# the two weighed after the session was stored carry it (the first one may
# too: the session can arrive before the scale's first record)
tagged=$(awk -v s="$S" '$2 == "accepted" { n++; t[n] = ($5 == s) }
	END { print t[n-1] + t[n] }' "$T/events.log")
[ "$tagged" = 2 ] || fail "the 2 events after the session was stored were not both tagged with it"
echo "auto session ok"
