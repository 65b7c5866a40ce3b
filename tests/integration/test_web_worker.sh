#!/usr/bin/env bash
# The web worker on the real daemon (issue 16): the fourth worker serves
# [http] listen. /metrics parses with a real Prometheus parser and moves as
# records flow (the OK latency and commit histograms included);
# /status.json is the status object with the scale's last weighing (a
# Turkish product name) and configured name; the token is enforced on data,
# not on /healthz; RssAnon under 4 MiB idle; carnitrackctl restart web; a
# reload to `allow` refuses others; an empty listen turns it off (disabled,
# not failed, health ok) and back on; /healthz turns 503 with the reason
# when the cloud is down; the port held at start is retried with backoff,
# the others unharmed, and the daemon tells systemd it is ready meanwhile.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

TOKEN=web-worker-test-token-5e1f
printf '%s\n' "$TOKEN" > "$T/http-token"
chmod 600 "$T/http-token"
sim_cloud --auto-session
cloud_conf "[scale SCALE-01]
name = Kasap 1
[http]
token_file = $T/http-token"
cp "$CONF" "$T/base.conf"
ct_start
wait_for 10 "cloud link up" link_is up

URL=http://127.0.0.1:$HTTP_PORT
code() {   # code PATH [curl args]: the HTTP status (000: no answer), body in $T/body
	local p=$1; shift
	curl -s -m 5 -o "$T/body" -w '%{http_code}' "$@" "$URL$p" || true
}
auth=(-H "Authorization: Bearer $TOKEN")
metrics() { $PY "$CT_TOP/tests/integration/web_scrape.py" "$HTTP_PORT" "$TOKEN" "$1"; }
web_pid() { worker_field web pid; }
reload() {   # reload CONF-FILE: SIGHUP with that config, wait for the web worker's state
	cp "$1" "$CONF"
	kill -HUP "$(cat "$T/daemon.pid")"
}

names=$(sj '[.workers[].name] | join(" ")')
[ "$names" = "ingest store cloud web" ] || fail "workers: $names"
[ "$(code /metrics)" = 401 ] || fail "/metrics without the token: $(cat "$T/body")"
[ "$(code /status.json)" = 401 ] || fail "/status.json without the token"
[ "$(code /metrics -H "Authorization: Bearer wrong")" = 401 ] || fail "wrong token accepted"
[ "$(code /healthz)" = 200 ] && grep -qx ok "$T/body" || fail "/healthz: $(cat "$T/body")"
[ "$(code /)" = 200 ] && grep -q "<title>CarniTrack Edge</title>" "$T/body" || fail "page"
echo "ok: token on /metrics and /status.json, /healthz and / open"

# Idle memory: RssAnon of the web worker (plain build; ASan's shadow memory
# says nothing about ours). The build is told by its directory, as the other
# tests do: `ldd | grep -q` under pipefail failed whenever grep's early exit
# cut ldd off (SIGPIPE), and the check then ran on the ASan build.
case "$B" in
*asan*) ;;
*)
	rss=$(awk '/^RssAnon:/ {print $2}' "/proc/$(web_pid)/status")
	[ "$rss" -lt 4096 ] || fail "web worker RssAnon $rss kB idle, want < 4096"
	echo "ok: web worker RssAnon $rss kB idle"
	;;
esac

metrics 'm["carnitrack_records_received_total"] == 0 and m["carnitrack_healthy"] == 1 and
    m["carnitrack_worker_up{worker=web}"] == 1' || fail "first scrape"
scales run --scales 2 --rate 0 --records 20 --turkish --controlled
wait_for 20 "40 records OK'd" grep -q "scales=2 .*oks=40 errors=0" "$T/run.log"
wait_for 5 "metrics moved with the records" metrics '
m["carnitrack_records_received_total"] == 40 and m["carnitrack_oks_sent_total"] == 40 and
m["carnitrack_events_stored_total"] == 40 and
m["carnitrack_scale_records_total{device=SCALE-01}"] == 20 and
m["carnitrack_scale_last_weight_grams{device=SCALE-01}"] > 0 and
m["carnitrack_http_requests_total"] >= 2 and m["carnitrack_store_state_bytes"] > 0 and
m["carnitrack_scale_ok_latency_seconds_count"] == 40 and
m["carnitrack_store_commit_duration_seconds_count"] >= 1'
[ "$(code /status.json "${auth[@]}")" = 200 ] || fail "/status.json with the token"
$PY - "$T/body" <<'PY' || fail "status.json: $(head -c 600 "$T/body")"
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
ing = [w for w in s["workers"] if w["name"] == "ingest"][0]["status"]
row = [r for r in ing["scales"] if r["id"] == "SCALE-01"][0]
assert row["name"] == "Kasap 1", row
assert row["last_product"] == "ÇĞ İÖŞÜ" and row["last_plu"] == "00020", row
assert row["last_weight_g"] > 0 and row["events_today"] == 20, row
assert sum(ing["records_per_minute"]) == 40 and len(ing["records_per_minute"]) == 60
web = [w for w in s["workers"] if w["name"] == "web"][0]
assert web["state"] == "running" and web["status"]["counters"]["unauthorized"] >= 3, web
PY
echo "ok: status.json: the scale's last weighing, Turkish product, name, per-minute records"

# carnitrackctl restart web: a new web worker, the others keep their pids.
i=$(worker_field ingest pid); s=$(worker_field store pid); c=$(worker_field cloud pid)
w=$(web_pid)
ct restart web | grep -q "web restarted, pid" || fail "ctl restart web"
[ "$(web_pid)" != "$w" ] || fail "web pid unchanged after restart"
[ "$(worker_field ingest pid) $(worker_field store pid) $(worker_field cloud pid)" = \
    "$i $s $c" ] || fail "other workers restarted with web"
[ "$(code /healthz)" = 200 ] || fail "/healthz after restart"
echo "ok: carnitrackctl restart web"

# A web worker killed while the supervisor gathers its status (the store
# stopped, so that takes a second): its successor's first request is
# answered at once, not refused as a second one in flight.
st=$(worker_field store pid); w=$(web_pid)
web_cache_old() { [ "$(worker_status web status_age_ms)" -ge 1100 ]; }
wait_for 5 "the web worker's status older than a second" web_cache_old
kill -STOP "$st"
curl -s -m 5 -o /dev/null "$URL/healthz" &
asker=$!
curl_in() { ss -Htn state established "( dport = :$HTTP_PORT )" | grep -q .; }
wait_for 2 "the held request's connection" curl_in
kill -9 "$w"
new_web() { grep "web ready (pid" "$T/daemon.log" | tail -n 1 | grep -vq "(pid $w)"; }
wait_for 3 "a new web worker" new_web
t0=$(date +%s%N)
got=$(code /healthz)
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$st"
wait "$asker" || true
[ "$got" = 200 ] || fail "the new web worker's first /healthz: $got ($(cat "$T/body")) in $ms ms"
echo "ok: a web worker killed mid-request: its successor answered in $ms ms"

# A reload to an allow list without us: the web worker restarts and closes
# our connections before a byte is read.
w=$(web_pid)
printf '[http]\nallow = 10.0.0.0/8, fd00::/8\n' | cat "$T/base.conf" - > "$T/allow.conf"
reload "$T/allow.conf"
web_replaced() { p=$(web_pid); [ "$p" != "$w" ] && [ "$p" != null ] &&
    [ "$(worker_field web state)" = running ]; }
wait_for 10 "web worker restarted by the reload" web_replaced
[ "$(code /healthz)" = 000 ] || fail "allow: 127.0.0.1 got an answer: $(cat "$T/body")"
wait_for 5 "refusal counted" bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w %{http_code} \
    $URL/healthz)\" = 000 ] && $B/carnitrackctl -c $CONF status --json | grep -q \
    '\"refused_allow\": [1-9]'"
echo "ok: allow refuses others"

# An empty listen turns the worker off: disabled (with why), health ok, port
# closed, restart refused; back on with the listen.
printf '[http]\nlisten =\n' | cat "$T/base.conf" - > "$T/off.conf"
reload "$T/off.conf"
wait_for 10 "web disabled" bash -c "[ \"\$($B/carnitrackctl -c $CONF status --json |
    jq -r '.workers[] | select(.name==\"web\") | .state')\" = disabled ]"
[ "$(worker_field web why)" = "[http] listen is empty" ] || fail "why: $(worker_field web why)"
[ "$(worker_field web pid)" = null ] || fail "disabled web has a pid"
ct status > "$T/st.txt" || fail "status exit $? with web disabled: $(cat "$T/st.txt")"
grep -q "^web .*disabled" "$T/st.txt" || fail "status table: $(cat "$T/st.txt")"
[ "$(code /healthz)" = 000 ] || fail "port still answers with web off"
if ct restart web 2>"$T/err"; then fail "restart of a disabled worker succeeded"; fi
grep -q "disabled" "$T/err" || fail "restart error: $(cat "$T/err")"
reload "$T/base.conf"
wait_for 10 "web running again" bash -c "[ \"\$($B/carnitrackctl -c $CONF status --json |
    jq -r '.workers[] | select(.name==\"web\") | .state')\" = running ]"
[ "$(code /healthz)" = 200 ] || fail "/healthz after turning web back on"
echo "ok: empty listen disables the web worker, a reload enables it"

# The cloud goes away: /healthz 503 with the reason.
simctl stop | grep -q '^ok stopped' || fail "cloudsim stop"
healthz_down() { [ "$(code /healthz)" = 503 ] && grep -q "cloud link" "$T/body"; }
wait_for 10 "/healthz 503 with the cloud down" healthz_down
echo "ok: /healthz says: $(cat "$T/body")"
metrics 'm["carnitrack_cloud_link_up"] == 0 and m["carnitrack_healthy"] == 0' ||
	fail "metrics with the cloud down"

# The port held by another program at start: web backs off (the others run)
# and comes up once the port is free.
ct_stop
$PY -c '
import os, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)' "$HTTP_PORT" "$T/held" "$T/release" &
holder=$!
CT_PIDS+=($holder)
wait_for 5 "port held" test -f "$T/held"
bg notify $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
while True:
    print(s.recv(4096).decode(), flush=True)' "$T/notify.sock" > /dev/null
wait_for 5 "notify socket" test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock "$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
web_backoff() { [ "$(worker_field web state)" = backoff ] &&
    [ "$(worker_field ingest state)" = running ]; }
wait_for 10 "web in backoff while the port is held, ingest running" web_backoff
# the daemon is ready for systemd without the web worker
wait_for 5 "READY=1 with the web port held" grep -q "^READY=1" "$T/notify.log"
grep -q "web: error: \[http\] listen 127.0.0.1:$HTTP_PORT: Address already in use" \
    "$T/daemon.log" || fail "no clear error for the held port"
[ "$(worker_field web state)" = backoff ] || fail "web up while its port is held"
touch "$T/release"
wait "$holder" || true
wait_for 35 "web running once the port is free" all_running
[ "$(code /healthz)" = 503 ] || fail "/healthz after the retry: $(code /healthz)"
echo "web worker test passed"
