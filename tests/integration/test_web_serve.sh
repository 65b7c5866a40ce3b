#!/usr/bin/env bash
# lib/web, the HTTP side of the coming web worker, served by
# tests/helpers/web_serve from a status file and a real store:
# routes and their answers (status.json is the status object, /metrics
# parses with a real parser and takes the store's figures, /healthz 200 and
# 503 with the reasons), the token on everything but /healthz and the page,
# and the bounds: header size, a deadline for a whole request (slowloris),
# the cap per address and in all, and the allow list.
. "$CT_TOP/tests/integration/lib.sh"

ST=$T/status.json
cat > "$ST" <<'JSON'
{"ok":true,"version":1,"daemon_version":"0.1.0","pid":812,"uptime_s":7380,"health":"ok",
 "workers":[
  {"name":"ingest","pid":814,"state":"running","uptime_s":7380,"restarts":0,"last_exit":null,
   "status":{"scales":[{"id":"SCALE-01","status":"online","events_today":412,
     "last_weight_g":12345,"last_product":"KUŞBAŞI İÇ YAĞ","last_plu":"00013"}],
    "counters":{"records":509,"oks_sent":509}}},
  {"name":"store","pid":815,"state":"running","uptime_s":7380,"restarts":0,"last_exit":null,
   "status":{"state":"ok","health":"ok","pending":3,"open_batches":0}},
  {"name":"cloud","pid":1290,"state":"running","uptime_s":2470,"restarts":1,
   "last_exit":"signal 9","status":{"link_state":"up","health":"ok"}}]}
JSON
"$B/tests/store_fill" "$T/data"
ct_write_conf "[scale SCALE-09]
name = Kasap 9"
TOKEN=s3cr3t-tok3n-for-the-test

# serve NAME ARGS...: start web_serve, wait for its port into $PORT
serve() {
	local name=$1; shift
	bg "$name" "$B/tests/web_serve" --status "$ST" "$@" >/dev/null
	wait_for 10 "$name listening" grep -q "port" "$T/$name.log"
	PORT=$(awk '/port/ {print $3}' "$T/$name.log")
}

serve main --token "$TOKEN" --data "$T/data" --conf "$CONF" --timeout 1
MAIN=$PORT
$PY "$CT_TOP/tests/integration/web_check.py" routes "$MAIN" "$TOKEN" "$ST"

# The edge degraded: 503 with the reason; no status at all: 503 too.
$PY - "$ST" <<'PY'
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
s["health"] = "degraded"
c = s["workers"][2]["status"]
c.update(link_state="retrying", health="degraded", last_error="connection refused")
json.dump(s, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
PY
$PY "$CT_TOP/tests/integration/web_check.py" healthz_degraded "$MAIN" \
    "cloud link retrying: connection refused"
mv "$ST" "$ST.away"
$PY "$CT_TOP/tests/integration/web_check.py" healthz_degraded "$MAIN" "carnitrackd did not answer"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$MAIN/status.json")
[ "$code" = 503 ] || fail "status.json without a status: $code"
mv "$ST.away" "$ST"

$PY "$CT_TOP/tests/integration/web_check.py" slowloris "$MAIN" 1

serve caps --max-conns 6 --per-ip 4 --timeout 5
$PY "$CT_TOP/tests/integration/web_check.py" caps "$PORT" 6 4

serve allow --allow "10.0.0.0/8, 192.168.0.0/16"
$PY "$CT_TOP/tests/integration/web_check.py" refused "$PORT"
serve allow_ok --allow "10.0.0.0/8 127.0.0.0/8"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 503 ] || fail "allowed address: $code (the fixture is degraded: want 503)"

# Still alive and quick after all that.
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MAIN/")
[ "$code" = 200 ] || fail "main server after the abuse: $code"
echo "ok: web server"
