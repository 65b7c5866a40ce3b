#!/usr/bin/env bash
# A running site moved from websocket to rest and back by one config line
# (issue 13), each time with a backlog in the store, against one cloud that
# speaks both (carnitrack-cloudsim --rest-listen: one state behind both
# APIs, as a real cloud migrating its edges would be):
#   1. websocket: records delivered; then events the cloud takes but never
#      acknowledges (ack off) and an offline batch per scale (the cloud
#      stopped) are left pending;
#   2. transport = rest, SIGHUP: the edge keeps its identity (no new
#      registration), sends the backlog again: what the cloud had comes back
#      duplicate, the rest accepted, and each offline batch is acknowledged
#      with its exact counts and eventIds;
#   3. the same backlog again under rest (ack off, then the cloud stopped),
#      then transport = websocket: delivered, the rest-era batch reported by
#      offline_batch_start/end with its counts.
# Every record (5 x 20, each OK'd) accepted exactly once by localEventId
# across both APIs.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

REST_PORT=$(free_port)
cs_start --auto-session --rest-listen "127.0.0.1:$REST_PORT" --intervals 5000,1000,1000,2000
conf_for() {   # conf_for websocket|rest: the one line that differs, and its url
	local url="url = ws://127.0.0.1:$CLOUD_PORT/edge"
	[ "$1" = rest ] && url="transport = rest
url = http://127.0.0.1:$REST_PORT/api/v1"
	ct_write_conf "max_per_ip = 100
[cloud]
$url
offline_grace = 1s
ack_timeout = 5s"
}
conf_for websocket
ct_start 10
wait_for 10 "websocket link up" link_up
edge=$(worker_status cloud edge_id)

n=0
weigh() {   # weigh RECORDS: two scales, controlled transfer, all OK'd
	n=$((n + 1))
	sim_start "w$n" --scales 2 --first-id 1 --records "$1" --rate 0 --controlled
	sim_wait "$SIM_PID" 30 "records $n weighed"
	[ "$SIM_RC" = 0 ] || fail "dp401-sim $n: $(tail -n 1 "$T/w$n.log")"
}
store_link() { [ "$(worker_status store link)" = "$1" ]; }
pending_is() { [ "$(worker_status store pending)" = "$1" ]; }
switch_to() {   # switch_to websocket|rest
	conf_for "$1"
	kill -HUP "$(cat "$T/daemon.pid")"
	transport_is() { [ "$(worker_status cloud transport)" = "$1" ]; }
	wait_for 15 "cloud worker speaks $1" transport_is "$1"
}
accepted() { awk '$2 == "accepted"' "$T/events.log" | wc -l; }
accepted_ge() { [ "$(accepted)" -ge "$1" ]; }
backlog() {   # backlog: records the cloud has but never acked, then an outage's
	local before
	before=$(accepted)
	cs "ack off" | grep -q '^ok' || fail "ack off"
	weigh 10
	# (rest: only what its requests in flight carried: they stay unanswered)
	wait_for 10 "the cloud took some unanswered" accepted_ge $((before + 1))
	cs stop | grep -q '^ok' || fail "stop"
	wait_for 15 "link down" store_link down
	weigh 10
	cs "ack on" | grep -q '^ok' || fail "ack on"
	pending_is 40 || fail "$(worker_status store pending) pending, want 40"
}

# 1. websocket, then a backlog under it
weigh 10
wait_for 10 "20 delivered over websocket" pending_is 0
backlog
# 2. rest
switch_to rest
cs listen | grep -q '^ok' || fail "listen"
wait_for 20 "rest: backlog delivered" pending_is 0
wait_for 10 "rest: the store sees the link up" store_link up
[ "$(worker_status cloud edge_id)" = "$edge" ] || fail "rest took another identity"
[ "$(cs_stat registers)" = 1 ] || fail "$(cs_stat registers) registrations: rest registered"
[ "$(cs_stat duplicates)" -ge 20 ] || fail "the 20 events the cloud had were not duplicates"
acked() { [ "$(cs_stat rest_batch_acks)" -ge 2 ]; }
wait_for 10 "rest: both offline batches acknowledged" acked
# 3. a backlog under rest, then websocket
backlog
switch_to websocket
cs listen | grep -q '^ok' || fail "listen"
wait_for 20 "websocket: backlog delivered" pending_is 0
[ "$(cs_stat registers)" -ge 2 ] || fail "websocket did not register on its link"
[ "$(worker_status cloud edge_id)" = "$edge" ] || fail "websocket took another identity"

no_crashes 2     # the two switches restart the cloud worker (exit 75)
ends_are() { [ "$(cs batches | grep -c '"end":true')" -eq "$1" ]; }
wait_for 10 "the cloud saw every batch's end" ends_are 4
cs batches >"$T/batches.json"
[ "$(accepted)" = 100 ] || fail "$(accepted) accepted for 100 records"
[ "$(awk '$2 == "accepted" { print $1 }' "$T/events.log" | sort -u | wc -l)" = 100 ] ||
	fail "an event accepted twice"
e2e_check batches --events "$T/events.log" --batches "$T/batches.json" --scales 2 \
	--per-scale 2 || fail "batch check"
echo "switch ok: websocket -> rest -> websocket, 100 records, each accepted once"
