#!/usr/bin/env bash
# Sessions over [cloud] transport = rest (issue 13): the edge polls GET
# /sessions (every second here: cloudsim --intervals) for its scales, and a
# session started, paused, resumed or ended in the cloud reaches the store
# within one poll interval (measured, with 1.5 s for a loaded machine) and
# tags, stops tagging, tags again, stops, the scale's next events. The
# polls between changes are answered 304 (If-None-Match with the ETag).
# Heartbeats carry the scale, /devices/status tells its connect, and the
# status shows the transport, the poll interval and the ETag's age.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
CLOUD_TRANSPORT=rest
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

POLL_MS=1000
CLOUD_INTERVALS=60000,$POLL_MS,$POLL_MS,2000 sim_cloud
cloud_conf
ct_start
wait_for 10 "REST link up" link_is up
[ "$(cloud_status transport)" = rest ] || fail "status transport $(cloud_status transport)"

# one scale weighing all along, 4 records a second
scales load --records 0 --rate 4 --controlled --hb 1
accepted_ge() { [ "$(simstat accepted)" -ge "$1" ]; }
wait_for 10 "the scale's first events accepted" accepted_ge 3

store_session() {   # store_session STATUS: the store's session of SCALE-01 has it
	ct sessions 2>/dev/null | awk -v s="$1" -v id="${SID:-}" '
		$1 == "SCALE-01" && $3 == s && (id == "" || $2 == id) { f = 1 } END { exit !f }'
}
# the last event of SCALE-01 in the cloud's log: field 5 is its session
last_session() { awk '$3 == "SCALE-01" { s = $5 } END { print s }' "$T/events.log"; }
# change CMD STATUS: the cloud does CMD; the store shows STATUS within one
# poll interval; 3 events later the scale's events say TAG
change() {
	local cmd=$1 status=$2 t0 ms n
	t0=$(date +%s%N)
	simctl "$cmd" | grep -q '^ok' || fail "cloudsim $cmd"
	wait_for 10 "store: SCALE-01 session $status after '$cmd'" store_session "$status"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -le $((POLL_MS + 1500)) ] ||
		fail "'$cmd' reached the store after $ms ms, the poll interval is $POLL_MS ms"
	n=$(simstat accepted)
	wait_for 10 "3 more events after '$cmd'" accepted_ge $((n + 3))
}

SID=
change "start SCALE-01 A-77" active
SID=$(ct sessions | awk '$1 == "SCALE-01" { print $2 }')
[ "$(last_session)" = "$SID" ] || fail "the session does not tag: $(last_session) != $SID"
change "pause SCALE-01" paused
[ "$(last_session)" = - ] || fail "a paused session still tags"
change "resume SCALE-01" active
[ "$(last_session)" = "$SID" ] || fail "the resumed session does not tag"
SID=
change "end SCALE-01" ended
[ "$(last_session)" = - ] || fail "an ended session still tags"

# nothing changes now: the next polls come back 304
wait_for 5 "a poll answered 304" simstat_ge rest_not_modified 1
[ "$(cloud_status session_polls_not_modified)" -ge 1 ] || fail "edge counted no 304"
[ "$(cloud_status session_poll_interval_ms)" = "$POLL_MS" ] ||
	fail "poll interval $(cloud_status session_poll_interval_ms), /config says $POLL_MS"
etag_age=$(cloud_status etag_age_s)
[ "$etag_age" != null ] && [ "$etag_age" -lt 60 ] || fail "ETag age $etag_age"
wait_for 10 "heartbeats" simstat_ge rest_heartbeats 2
[ "$(simstat rest_device_status)" -ge 1 ] || fail "no /devices/status for the connect"
grep -q "heartbeat edge=$(cloud_status edge_id) health=ok devices=1" "$T/cloudsim.log" ||
	fail "no heartbeat with the scale in it"
[ "$(cloud_status requests_unanswered)" = 0 ] || fail "requests went unanswered"
kill "$SCALES_PID"
wait_for 20 "backlog drained" pending_is 0
[ "$(accepted_ids)" = "$(simstat accepted)" ] || fail "an event accepted twice"
no_restarts
echo "REST sessions ok: polled every $POLL_MS ms, $(cloud_status session_polls) polls"
