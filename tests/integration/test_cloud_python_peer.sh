#!/usr/bin/env bash
# The edge against a cloud built on python3-websockets (a WebSocket stack we
# did not write), which answers `register` with config_update as another
# team's cloud does (issue 12): it registers, streams, and every event is
# acked. (The same cloud with no answer at all: test_cloud_global_device_id.)
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

N=15
"$PY" "$CT_TOP/tests/cloud_py/cloud.py" "$CLOUD_PORT" --reply config_update >"$T/pycloud.log" 2>&1 &
CT_PIDS+=($!)
py_up() { grep -q "^listening $CLOUD_PORT" "$T/pycloud.log"; }
wait_for 20 "python cloud listening" py_up
cloud_conf
ct_start
wait_for 10 "edge registered with the python cloud" link_is up
grep -q "^register .* config_update$" "$T/pycloud.log" || fail "python cloud saw no register"
reg_by_config_update() { [ "$(cloud_status registered)" = config_update ]; }
wait_for 10 "identity taken from config_update" reg_by_config_update

scales run --scales 3 --records $N --rate 30 --wait-ok
wait_for 30 "scales done" scales_done
wait_for 20 "store has nothing pending" pending_is 0
acked=$(awk '$1 == "ack" && $3 == "accepted"' "$T/pycloud.log" | wc -l)
[ "$acked" = $((3 * N)) ] || fail "python cloud accepted $acked of $((3 * N))"
[ "$(cloud_status acknowledged_today)" -ge $((3 * N)) ] || fail "edge counted too few acks"
echo "python peer ok"
