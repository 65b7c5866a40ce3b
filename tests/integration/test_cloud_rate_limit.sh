#!/usr/bin/env bash
# Issue 8: a cloud that floods the edge with messages is bounded: beyond
# CW_CTL_RATE_MAX non-ack messages a second the rest are dropped, counted
# and logged; the link stays up and events keep flowing.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

# 6000 unknown-type messages as fast as the control port takes them.
$PY -I - "$CLOUD_CTL" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
cmd = b'send {"type":"noise","payload":{}}\n'
s.sendall(cmd * 6000)
s.shutdown(socket.SHUT_WR)
n = 0
buf = b""
while n < 6000:
    d = s.recv(65536)
    if not d: break
    buf += d
    n = buf.count(b"\n")
print("sent", n)
PY
limited() { [ "$(cloud_status messages_rate_limited)" -gt 0 ]; }
wait_for 10 "flood rate-limited" limited
wait_for 5 "flood logged" grep -q "dropped those over" "$T/daemon.log"
[ "$(cloud_status connects)" = 1 ] || fail "the flood dropped the link"

scales run --records 5 --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "5 events accepted after the flood" simstat_is accepted 5
echo "rate limit test passed: $(cloud_status messages_rate_limited) messages dropped"
