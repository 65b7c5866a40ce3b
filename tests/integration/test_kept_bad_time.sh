#!/usr/bin/env bash
# Issue 15 item 1: a record with an impossible date (31.02.2026) or time
# (24:00:00) is a real weighing from a scale with a bad clock. Before, the
# scale got its OK and the store had nothing. Now it is an event timed by the
# edge's receive time, with the scale's text kept and flagged, in the store
# before the OK, and the cloud gets the flag as extra payload fields.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

CLOUD_PY_PAYLOADS=1 "$PY" "$CT_TOP/tests/cloud_py/cloud.py" "$CLOUD_PORT" >"$T/pycloud.log" 2>&1 &
CT_PIDS+=($!)
wait_for 20 "python cloud listening" grep -q "^listening $CLOUD_PORT" "$T/pycloud.log"
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

before=$(date +%s)
$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" <<'PY' || fail "scale"
import sys
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
s = sl.Scale(int(sys.argv[1]))
s.send(b"SCALE-01", sl.record(d=b"31.02.2026", net=3102) + sl.CRLF,
       sl.record(t=b"24:00:00", net=2400) + sl.CRLF, sl.PROMPT)
s.wait_oks(1)
PY
after=$(date +%s)
# The OK promised both are on disk: no waiting here.
ct events --limit 0 > "$T/events.txt"
cat "$T/events.txt"
for want in '3102 .*(invalid scale time "06:00:27 31.02.2026")' \
	'2400 .*(invalid scale time "24:00:00 30.01.2026")'; do
	grep -q "SCALE-01 .* $want" "$T/events.txt" || fail "no event like: $want"
done
# Their time is the edge's receive time (the SCALE_TIME column, UTC).
for iso in $(awk '/invalid scale time/ { print $6 }' "$T/events.txt"); do
	t=$(date -u -d "$iso" +%s)
	[ "$t" -ge "$before" ] && [ "$t" -le "$after" ] ||
		fail "event time $iso is not the receive time"
done
[ "$(worker_status ingest counters.invalid_scale_times)" = 2 ] || fail "invalid_scale_times not 2"
[ "$(worker_status ingest counters.rejected_lines)" = 0 ] || fail "a line was rejected"

# The cloud gets them, flagged, with the scale's text and scaleTimestamp = receivedAt (s).
wait_for 20 "cloud acked both" bash -c "[ \$(grep -c '^ack .* accepted' '$T/pycloud.log') -ge 2 ]"
$PY -I - "$T/pycloud.log" <<'PY' || fail "cloud payloads"
import json, sys
evs = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("payload ")]
raws = sorted(e.get("scaleTimestampRaw") for e in evs)
assert raws == ["06:00:27 31.02.2026", "24:00:00 30.01.2026"], raws
for e in evs:
    assert e["scaleTimestampInvalid"] is True, e
    assert e["scaleTimestamp"] == e["receivedAt"][:19] + "Z", e
print("cloud payloads ok:", raws)
PY
echo "ok: impossible dates and times kept as flagged events, flag sent to the cloud"
