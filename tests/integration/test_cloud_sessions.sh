#!/usr/bin/env bash
# Sessions from the cloud tag events: an active session is sent on connect,
# a session_started tags the next event of that scale (and not another
# scale's), session_ended stops the tagging.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

# the session on SCALE-02 exists before the edge connects: it must arrive
# with the registration
sim_cloud
simctl "start SCALE-02 A-200" | grep -q '^ok' || fail "start SCALE-02"
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

session_of() { simctl sessions | $PY -c "
import json, sys
for l in sys.stdin:
    if l.startswith('{'):
        s = json.loads(l)
        if s['deviceId'] == '$1': print(s['cloudSessionId'])"; }
weigh() {   # weigh SCALE-NUMBER: one record from that scale, confirmed by the edge
	scales "w$1-$RANDOM" --first-id "$1" --records 1 --wait-ok
	wait_for 20 "scale $1 weighed" scales_done
}
# the last event line of a scale in the cloud's event log: field 5 is the session
last_session() { awk -v d="SCALE-0$1" '$3 == d { s = $5 } END { print s }' "$T/events.log"; }
accepted_is() { [ "$(simstat accepted)" = "$1" ]; }

# SCALE-02's session came with the registration
S2=$(session_of SCALE-02)
weigh 2
wait_for 10 "1 event accepted" accepted_is 1
[ "$(last_session 2)" = "$S2" ] || fail "session sent on connect did not tag SCALE-02's event"

# no session on SCALE-01 yet: untagged
weigh 1
wait_for 10 "2 events accepted" accepted_is 2
[ "$(last_session 1)" = - ] || fail "SCALE-01 event tagged without a session"

simctl "start SCALE-01 A-100" | grep -q '^ok' || fail "start SCALE-01"
S1=$(session_of SCALE-01)
# the store applies the session in its next commit: the cloud sees the
# session in the store's session list before we weigh
sess_stored() { ct sessions 2>/dev/null | grep -q "$S1"; }
wait_for 10 "store knows SCALE-01's session" sess_stored
weigh 1
wait_for 10 "3 events accepted" accepted_is 3
[ "$(last_session 1)" = "$S1" ] || fail "session_started did not tag the next SCALE-01 event"

simctl "end SCALE-01" | grep -q '^ok' || fail "end SCALE-01"
sess_gone() { ! ct sessions 2>/dev/null | grep -q "$S1.*active"; }
wait_for 10 "store ended SCALE-01's session" sess_gone
weigh 1
wait_for 10 "4 events accepted" accepted_is 4
[ "$(last_session 1)" = - ] || fail "session_ended did not stop the tagging"
# SCALE-02 keeps its own session throughout
weigh 2
wait_for 10 "5 events accepted" accepted_is 5
[ "$(last_session 2)" = "$S2" ] || fail "SCALE-02 lost its session"
echo "sessions ok"
