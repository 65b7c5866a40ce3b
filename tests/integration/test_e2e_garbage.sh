#!/usr/bin/env bash
# Hostile peers on both sides. A hostile cloud (e2e_hostile_cloud.py) answers
# register and then sends garbage, a binary frame, truncated JSON, JSON of
# the wrong shapes and a 10 MB frame, twice; then the reference cloud takes
# the port and sends more garbage mid-stream. Scales send stray bytes
# (dp401-sim --garbage) and a bad scale (e2e_bad_scale.py) sends half records,
# an overlong line, impossible dates and broken tokens. The daemon stays up
# (no worker restarts, no sanitizer report) and the good data flows: every
# OK'd record is accepted by the cloud.
# Under a sanitizer build (BUILD=*asan) the load is scaled by E2E_SCALE.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

NSCALES=$(scaled 5)
NREC=$(scaled 200)
bg hostile $PY -I "$CT_TOP/tests/integration/e2e_hostile_cloud.py" "$CLOUD_PORT" \
	--connections 2 --timeout 60 >/dev/null
wait_for 10 "hostile cloud listening" grep -q "^listening" "$T/hostile.log"
e2e_conf
ct_start 10
dpid=$(cat "$T/daemon.pid")
wait_for 45 "hostile cloud served two edge connections" grep -q "^served 2" "$T/hostile.log"
cat "$T/hostile.log"
# Both edge connections got every hostile message up to the 10 MB frame, and
# each ended with the edge closing (1009: too big) or still talking after it.
[ "$(grep -c 'sent deep nesting' "$T/hostile.log")" = 2 ] ||
	fail "hostile cloud did not get through its list"
[ "$(grep -cE 'edge closed the link|edge still talking' "$T/hostile.log")" = 2 ] \
	|| fail "hostile cloud: no outcome of the 10 MB frame for each connection"
no_crashes 0

cs_start --auto-session
wait_for 40 "edge registered with the reference cloud" cloud_link_up
wait_for 10 "store sees the link up" link_up

sim_start load --scales "$NSCALES" --records "$NREC" --rate 20 --controlled --garbage \
	--reconnect --hb 1 --timeout 90
$PY -I "$CT_TOP/tests/integration/e2e_bad_scale.py" "$SCALE_PORT" "$T/bad.ok" >"$T/bad.log" 2>&1 \
	|| { cat "$T/bad.log"; fail "bad scale"; }
cat "$T/bad.log"
for msg in 'not json at all' '{"type":"event_ack","payload":{"localEventId":"' \
	'{"type":"session_started","payload":{"deviceId":7}}' \
	'{"type":"event_ack","payload":{"localEventId":"zz","cloudEventId":"q",'\
'"status":"accepted"}}' \
	'{"type":"event_rejected","payload":{}}' '[]' '{"type":"ping"'; do
	cs "send $msg" | grep -q '^ok sent to 1' || fail "cloudsim send $msg"
done

sim_wait "$SIM_PID" "$(left 90)" "simulator finished"
tail -n 1 "$T/load.log"
[ "$SIM_RC" = 0 ] || fail "dp401-sim exit $SIM_RC: not every record got its OK"
resent=$(sed -n 's/.* resent=\([0-9]*\).*/\1/p' "$T/load.log" | tail -n 1)
wait_for "$(left 60)" "backlog drained (pending 0)" pending_zero

[ "$(cat "$T/daemon.pid")" = "$dpid" ] && kill -0 "$dpid" || fail "carnitrackd is gone"
no_crashes 0
counter() { worker_status ingest "counters.$1"; }
[ "$(counter garbage_bytes)" -gt 0 ] || fail "ingest counted no garbage bytes"
[ "$(counter rejected_lines)" -gt 0 ] || fail "ingest counted no rejected lines"
[ "$(counter overflow_lines)" -gt 0 ] || fail "ingest counted no overflowing line"
[ "$(worker_status cloud messages_bad)" -gt 0 ] || fail "cloud counted no bad message"
echo "ingest: garbage=$(counter garbage_bytes) rejected=$(counter rejected_lines)" \
	"overflow=$(counter overflow_lines);" \
	"cloud: bad=$(worker_status cloud messages_bad)" \
	"unknown=$(worker_status cloud messages_unknown)"
e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --ok "$T/bad.ok" --records "$NREC" \
	--expect-all-scales "$NSCALES" --max-extra "$resent" || fail "delivery check"
echo "ok: garbage from cloud and scales, daemon up, good data delivered"
