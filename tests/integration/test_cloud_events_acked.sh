#!/usr/bin/env bash
# Scales weigh, the edge streams every event to the reference cloud, the
# cloud accepts each once, the acks come back and nothing stays pending;
# status shows the link up, the acks counted and a ping round trip.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

N=20
sim_cloud
cloud_conf "ping_interval = 1s"
ct_start
wait_for 10 "edge registered with the cloud" link_is up

scales run --scales 2 --records $N --rate 50 --wait-ok
wait_for 30 "scales done" scales_done
wait_for 20 "cloud accepted $((2 * N)) events" simstat_is accepted $((2 * N))
wait_for 10 "store has nothing pending" pending_is 0

[ "$(simstat duplicates)" = 0 ] || fail "the cloud saw duplicates on a healthy link"
[ "$(accepted_ids)" = $((2 * N)) ] || fail "event log has $(accepted_ids) distinct accepted ids"
[ "$(cloud_status acknowledged_today)" -ge $((2 * N)) ] || fail "acknowledged_today too low"
wait_for 10 "a ping round trip measured" cloud_status_not last_ping_rtt_ms null
[ "$(cloud_status in_flight)" = 0 ] || fail "events still in flight"
# both scales were announced, with the site's global id
grep -q 'device_connected {"deviceId":"SCALE-01","globalDeviceId":"SITE01-SCALE-01"' \
	"$T/cloudsim.log" \
	|| fail "no device_connected for SCALE-01"
echo "events acked ok"
