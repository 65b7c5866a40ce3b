#!/usr/bin/env bash
# The REST API (shared/protocol/REST_API.md) spoken by our client (lib/http +
# lib/rest, driven by tests/helpers/rest_probe) to two servers: the reference
# cloud (carnitrack-cloudsim --rest, over plain HTTP and over TLS) and an
# independent one on Debian's python3 http.server (tests/cloud_py/
# rest_cloud.py). The same checks pass against both, so both speak the same
# API: identity and its recovery, config, sessions with ETag/304, events and
# batches deduplicated by localEventId, the batch limit, ACKs, heartbeat,
# device status, scripted 429/503/500; each server counts every event once.
# Against cloudsim also: hang, freeze/thaw, stop/listen, drop, ack off.
# The three probes run at once (most of their time is waiting on Retry-After
# and timeouts).
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"

PROBE=$B/tests/rest_probe
SIM_PORT=$(free_port); SIM_CTL=$(free_port)
PY_PORT=$(free_port); PY_CTL=$(free_port)
TLS_PORT=$(free_port); TLS_CTL=$(free_port)

port_up() { (exec 6<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
bg cloudsim "$B/carnitrack-cloudsim" --rest --listen "127.0.0.1:$SIM_PORT" --control "$SIM_CTL" \
	--batch-limit 50 --intervals 60000,2000,10000,15000 --quiet --event-log "$T/events.log" \
	>/dev/null
bg cloudsim-tls "$B/carnitrack-cloudsim" --rest --listen "127.0.0.1:$TLS_PORT" \
	--control "$TLS_CTL" --cert "$T/cert.pem" --key "$T/key.pem" --batch-limit 20 --quiet \
	>/dev/null
bg pyrest "$PY" "$CT_TOP/tests/cloud_py/rest_cloud.py" "$PY_PORT" --control "$PY_CTL" \
	--batch-limit 50 --snake >/dev/null
wait_for 10 "cloudsim --rest control port" port_up "$SIM_CTL"
wait_for 10 "cloudsim --rest (TLS) control port" port_up "$TLS_CTL"
wait_for 20 "python REST cloud control port" port_up "$PY_CTL"

"$PROBE" --url "http://127.0.0.1:$SIM_PORT/api/v1" --control "$SIM_CTL" --disruptions \
	>"$T/probe-cloudsim.log" 2>&1 & p1=$!
# https, and the edge base given as .../edge: the same endpoints (section 1)
"$PROBE" --url "https://localhost:$TLS_PORT/api/v1/edge" --control "$TLS_CTL" \
	--ca-file "$T/cert.pem" --events 10 >"$T/probe-cloudsim-tls.log" 2>&1 & p2=$!
"$PROBE" --url "http://127.0.0.1:$PY_PORT/api/v1/" --control "$PY_CTL" \
	>"$T/probe-python.log" 2>&1 & p3=$!
for run in "$p1 cloudsim" "$p2 cloudsim-tls" "$p3 python"; do
	set -- $run
	if ! wait "$1"; then
		cat "$T/probe-$2.log" >&2
		fail "rest_probe against $2"
	fi
	echo "$2: $(grep -c '^ok ' "$T/probe-$2.log") checks passed"
done

grep -q "^config idle=60000 waiting=2000 active=10000 heartbeat=15000 max_batch=50" \
	"$T/probe-cloudsim.log" || fail "cloudsim /config did not carry --intervals/--batch-limit"
# its event log has each accepted event once, by localEventId
dups=$(awk '$2 == "accepted" {print $1}' "$T/events.log" | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || fail "cloudsim logged $dups events accepted twice"
[ "$(awk '$2 == "accepted"' "$T/events.log" | wc -l)" = \
	"$(sed -n 's/^accepted=//p' "$T/probe-cloudsim.log")" ] || fail "event log and stats differ"
echo "both REST servers speak the same API"
