#!/usr/bin/env bash
# carnitrackctl devices | sessions | batches | events --json: one JSON
# document each, snake_case keys, the same records as the tables. First on
# the known store of tests/helpers/store_fill.c (exact values), then on what
# the real daemon stored from Turkish-text scales (UTF-8, a listing longer
# than one 500-event read chunk).
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
J=$T/out.json

# one_doc FILE: exactly one JSON document, every key snake_case.
one_doc() {
	[ "$(jq -s length "$1")" = 1 ] ||
		fail "$1: not exactly one JSON document: $(head -c 300 "$1")"
	jq -e '[paths | .[-1] | strings] | all(test("^[a-z][a-z0-9_]*$"))' "$1" >/dev/null ||
		fail "$1: a key is not snake_case:" \
		    "$(jq -c '[paths | .[-1] | strings] | unique' "$1")"
}
jqe() {   # jqe FILTER WHAT: the filter holds on $J
	jq -e "$1" "$J" >/dev/null || fail "$2: $(head -c 600 "$J")"
}

# No store yet: exit 2, the reason on stderr, nothing on stdout.
rc=0; ct events --json >"$J" 2>"$T/err" || rc=$?
[ $rc = 2 ] || fail "events --json without a store: exit $rc"
[ ! -s "$J" ] || fail "events --json without a store wrote to stdout: $(cat "$J")"
grep -q "not created" "$T/err" || fail "no reason on stderr: $(cat "$T/err")"

"$B/tests/store_fill" "$T/data"

ct sessions --json >"$J"; one_doc "$J"
jqe '.sessions | length == 1' "sessions: one"
jqe '.sessions[0] | .device_id == "SCALE-01" and .cloud_session_id == "sess-1" and
    .status == "active" and .animal_tag == "A-123" and .reason == null and
    (.updated_at | test("^20[0-9-]+T[0-9:.]+Z$"))' "sessions: the fixture's session"

ct batches --json >"$J"; one_doc "$J"
jqe '.batches | length == 1' "batches: one"
jqe '.batches[0] | .device_id == "SCALE-02" and .state == "closed" and .event_count == 2 and
    .total_weight_g == 1000 and .ended_at != null and (.batch_id | length == 36)' \
    "batches: the fixture's closed batch"
batch=$(jq -r '.batches[0].batch_id' "$J")

ct events --json >"$J"; one_doc "$J"
jqe '.pending_only == false and .limit == 20 and .order == "newest_first"' "events: head"
jqe '[.events[].seq] == [5,4,3,2,1]' "events: newest first"
jqe '.events[] | select(.net_g == 1000) | .sync == "accepted" and .cloud_event_id == "cloud-ev-1"' \
    "events: the accepted one"
jqe '.events[] | select(.net_g == 1001) | .sync == "rejected" and
    .sync_reason == "Invalid PLU code"' "events: the rejected one with its reason"
jqe "[.events[] | select(.device_id == \"SCALE-02\") |
    .offline and .offline_batch_id == \"$batch\" and .cloud_session_id == null] == [true,true]" \
    "events: offline ones carry their batch"
jqe '.events[] | select(.net_g == 1002) | .cloud_session_id == "sess-1" and .sync == "pending"' \
    "events: tagged with the session"

ct events --pending --json >"$J"; one_doc "$J"
jqe '.pending_only and .order == "oldest_first" and [.events[].seq] == [3,4,5]' \
    "events --pending: oldest first"
ct events --json --limit 2 >"$J"; one_doc "$J"
jqe '.limit == 2 and (.events | length == 2)' "events --limit 2"

ct devices --json >"$J"; one_doc "$J"
jqe '.devices[] | select(.device_id == "SCALE-01") | .status == "connected" and
    .global_device_id == "SITE01-SCALE-01" and .source_ip == "127.0.0.1"' "devices: SCALE-01"
jqe '[.devices[].device_id] | index("SCALE-02") != null' "devices: SCALE-02 from its events"

# Usage errors: 64, nothing half-written.
for args in "devices --bogus" "batches --json x" "events --json --limit x"; do
	rc=0; ct $args >"$J" 2>/dev/null || rc=$?
	[ $rc = 64 ] || fail "'$args': exit $rc, want 64"
	[ ! -s "$J" ] || fail "'$args' wrote to stdout"
done
echo "ok: fixture store as JSON"

# The real daemon, Turkish text, more events than one read chunk (500).
rm -rf "$T/data"
CLOUD_PORT=$(free_port)
bg cloud "$B/carnitrack-cloudsim" --listen "127.0.0.1:$CLOUD_PORT" --auto-session >/dev/null
ct_write_conf "[cloud]
url = ws://127.0.0.1:$CLOUD_PORT/edge"
ct_start
bg sim "$B/dp401-sim" -n 2 --rate 0 --records 300 --turkish --wait-ok \
    "127.0.0.1:$SCALE_PORT" >/dev/null
wait_for 30 "the scales' 600 records stored and OK'd" grep -q "scales=2 .*errors=0" "$T/sim.log"

ct events --json --limit 0 >"$J"; one_doc "$J"
jqe '.events | length == 600' "events --limit 0: all 600"
jqe '[.events[].seq] as $s | $s == ($s | sort | reverse) and ($s | unique | length) == 600' \
    "events: newest first across chunks, no repeats"
jqe '.events[0].product | test("[ÇĞİÖŞÜçğıöşü]")' "events: Turkish product name"
$PY - "$J" <<'PY' || fail "python could not read the Turkish text back"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
p = d["events"][0]["product"] + d["events"][0]["operator"]
assert any(c in p for c in "ÇĞİÖŞÜçğıöşü"), p
PY
ct devices --json >"$J"; one_doc "$J"
jqe '[.devices[] | .events] == [300,300]' "devices: 300 events each"
# the cloud may not be up yet when the records are (its first connect can
# come before cloudsim listens): wait for its sessions, not for the records
two_sessions() { ct sessions --json | jq -e '[.sessions[] | .status] == ["active","active"]'; }
wait_for 20 "the cloud's auto sessions stored" two_sessions
ct sessions --json >"$J"; one_doc "$J"
jqe '[.sessions[] | .status] == ["active","active"]' "sessions: auto sessions"
echo "ok: daemon store as JSON"
