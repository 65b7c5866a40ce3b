#!/usr/bin/env bash
# Issue 18 item 2 and issue 15 item 5: a cloud that floods plu_updated with
# large payloads and session_started for random device ids cannot take the
# store. Cloud-driven state stays within its share of the map ([store]
# state_quota, 5%), what is over is refused with a log line and a counter,
# sessions of scales the edge does not know are held in a bounded table
# instead of stored, and the scale keeps getting an OK for every record
# throughout. On the old code the PLU rows filled this 4 MiB map within a
# second and the scale got no more OKs. Then a good cloud comes back:
# events are acknowledged and its session for the scale is stored.
# STATE_FLOOD_S (default 4) sets the flood length; make check-long runs 60.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

FLOOD_S=${STATE_FLOOD_S:-4}
cloud_conf "[scale SCALE-01]
name = known by config
[store]
map_size = 4MiB"
ct_start
ss() { worker_status store "$1"; }

bg flood "$PY" "$CT_TOP/tests/integration/e2e_flood_cloud.py" "$CLOUD_PORT" state \
	--seconds "$FLOOD_S" --size 3000 --devices SCALE-01 >/dev/null
wait_for 15 "flood started" grep -q "flooding 1" "$T/flood.log"
# one scale with controlled transfer all through the flood: every record
# must get its OK (dp401-sim exits 1 otherwise)
n=$((FLOOD_S * 20))
scales run --records "$n" --rate 20 --controlled
peak=0
while ! grep -q '^done' "$T/flood.log"; do
	used=$(ss state_bytes); quota=$(ss state_quota_bytes)
	[ "$used" -gt "$peak" ] && peak=$used
	[ "$used" -le "$quota" ] || fail "cloud-driven state ${used} B over its quota ${quota} B"
	sleep 0.2
done
wait_for 30 "scale done" scales_done
wait "$SCALES_PID" || fail "the scale did not get an OK for every record: $(tail -1 "$T/run.log")"
[ "$(wc -l < "$T/run.ok")" = "$n" ] || fail "$(wc -l < "$T/run.ok") of $n records OK'd"
echo "flood: $(grep '^sent' "$T/flood.log"); state peak ${peak} B of $(ss state_quota_bytes) B;" \
	"refused $(ss state_refused), sessions held $(ss sessions_held)," \
	"dropped $(ss sessions_held_dropped); $n records OK'd"
[ "$(ss state_refused)" -gt 0 ] || fail "the quota was never reached"
grep -q "cloud-driven state is at its quota" "$T/daemon.log" || fail "no log line for the quota"
grep -q "a scale this edge has not seen: held" "$T/daemon.log" || fail "held sessions not logged"
[ "$(ss sessions_held)" -le 64 ] || fail "more than 64 sessions held"
[ "$(ss sessions_held_dropped)" -gt 0 ] || fail "the held table never made room"
[ "$(ss state_refused)" -lt 1000000 ]

# What LMDB itself says: pages of plu + sessions + devices within the share.
pages() { mdb_stat -s "$1" "$T/data/store" |
	awk '/(Branch|Leaf|Overflow) pages/ { n += $3 } END { print n }'; }
psize=$(mdb_stat -e "$T/data/store" | awk '/Page size/ { print $3 }')
lmdb_bytes=$(( ($(pages plu) + $(pages sessions) + $(pages devices)) * psize ))
echo "mdb_stat: plu+sessions+devices ${lmdb_bytes} B"
[ "$lmdb_bytes" -le "$(ss state_quota_bytes)" ] || fail "mdb_stat: ${lmdb_bytes} B over the quota"
! ct sessions | grep -q "RND-" || fail "a session of an unknown device was stored"

# A good cloud returns: the link comes up, events flow, its session is kept.
sim_cloud
wait_for 30 "edge registered with the good cloud" link_is up
wait_for 20 "the flood's $n events acknowledged" simstat_ge accepted "$n"
simctl "start SCALE-01 A-GOOD" | grep -q '^ok' || fail "start SCALE-01"
good_session() { ct sessions | grep "SCALE-01" | grep -q "A-GOOD"; }
wait_for 10 "the good cloud's session stored" good_session
scales after --records 3 --rate 0 --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "3 more events accepted" simstat_ge accepted $((n + 3))
echo "state quota test passed"
