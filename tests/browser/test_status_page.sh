#!/usr/bin/env bash
# The status page (lib/web/status_page.html, compiled in) in a real
# headless browser, served by tests/helpers/web_serve:
#  1. a fixture status (tests/browser/status_fixture.json): the page fetches
#     status.json and renders the workers, the cloud link, backlog, batches,
#     store use, a scale row with a Turkish product name and last weight,
#     and the 60-bar chart from the ingest worker's per-minute figures;
#  2. with a token: the page asks for it instead of showing data;
#  3. the real daemon, its page served by its own web worker, after
#     Turkish-text scales weighed: the four workers running, the link up,
#     the scale rows with their configured names, today's counts, last
#     weight and Turkish product name, and the chart from the ingest
#     worker's records per minute.
# A screenshot of (3) is left in $SCREENSHOT when that is set:
# `SCREENSHOT=$PWD/doc/status-page.png make check-browser` refreshes the
# README's picture.
. "$CT_TOP/tests/browser/lib.sh"

dom_has() {   # dom_has FILE WHAT PYTHON-REGEX
	$PY - "$1" "$3" <<'PY' || fail "$2: not in the page ($(head -c 300 "$1"))"
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
sys.exit(0 if re.search(sys.argv[2], dom, re.S) else 1)
PY
	echo "ok: $2"
}

# 1. the fixture, its heartbeats made recent
$PY - "$CT_TOP/tests/browser/status_fixture.json" "$T/status.json" <<'PY'
import datetime, json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
now = datetime.datetime.now(datetime.timezone.utc)
for sc, ago in zip(s["workers"][0]["status"]["scales"], (12, 340)):
    if "last_heartbeat" in sc:
        t = now - datetime.timedelta(seconds=ago)
        sc["last_heartbeat"] = t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
json.dump(s, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
PY
serve fixture --status "$T/status.json"
browse "http://127.0.0.1:$PORT/" "$T/fixture.html"
D=$T/fixture.html
dom_has "$D" "rendered from status.json" 'data-rendered="[1-9]'
dom_has "$D" "health pill" '<span id="health" class="pill degraded">degraded</span>'
for w in ingest store cloud; do
	dom_has "$D" "worker $w running" "<tr><td>$w</td><td class=\"st-running\">running</td>"
done
dom_has "$D" "cloud restarts and last exit" '<td class="num">1</td><td>signal 9</td>'
dom_has "$D" "cloud link state" '<div id="link" class="big bad">retrying</div>'
dom_has "$D" "cloud last error" 'last error: connect to cloud.example:443: Connection refused'
dom_has "$D" "backlog and its age" 'id="backlog" class="big warn">42<.*oldest waiting 3m11s'
dom_has "$D" "open offline batches" 'id="batches" class="big warn">2<'
dom_has "$D" "store use" 'id="store" class="big ">12.5%<.*of 1024 MiB'
dom_has "$D" "scale row, Turkish product, last weight" '<td>SCALE-01</td><td class="st-online">'\
'online</td><td class="num">412</td><td class="num">12.345 kg</td>'\
'<td class="product">00013 KUŞBAŞI İÇ YAĞ</td>'
dom_has "$D" "second Turkish name" 'ÇİĞ KÖFTELİK ÖZEL ĞÜŞ'
dom_has "$D" "offline scale" '<td>SCALE-03</td><td class="st-offline">offline</td>'
dom_has "$D" "heartbeat age" 'KUŞBAŞI İÇ YAĞ</td><td>[0-9]+s ago</td>'
n=$(grep -o '<rect ' "$D" | wc -l)
[ "$n" = 60 ] || fail "chart: $n bars, want 60"
dom_has "$D" "chart from the ingest worker" 'this minute 20 · busiest 55 · from the ingest worker'

# 2. a token: the page shows the form, no data
serve locked --status "$T/status.json" --token "page-token"
browse "http://127.0.0.1:$PORT/" "$T/locked.html"
dom_has "$T/locked.html" "token form shown" '<form id="auth">'
dom_has "$T/locked.html" "asks for the token" 'needs a token to show its status'
if grep -q 'KUŞBAŞI' "$T/locked.html"; then fail "data shown without the token"; fi

# 3. the real daemon after weighings, its page from its own web worker
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"
sim_cloud --auto-session
cloud_conf "[scale SCALE-01]
name = Kasap 1
[scale SCALE-02]
name = Kıyma hattı
[scale SCALE-03]
name = Paketleme"
ct_start
wait_for 10 "cloud link up" link_is up
scales run --scales 2 --rate 0 --records 15 --turkish --controlled --hb 1
wait_for 30 "30 records OK'd" grep -q "scales=2 .*oks=30 errors=0" "$T/run.log"
scales more --scales 1 --first-id 3 --rate 0 --records 4 --controlled --hb 1
wait_for 30 "4 more OK'd" grep -q "scales=1 .*oks=4 errors=0" "$T/more.log"
LIVE=http://127.0.0.1:$HTTP_PORT/
browse "$LIVE" "$T/live.html"
L=$T/live.html
dom_has "$L" "live: rendered" 'data-rendered="[1-9]'
for w in ingest store cloud web; do
	dom_has "$L" "live: worker $w running" \
	    "<tr><td>$w</td><td class=\"st-running\">running</td>"
done
dom_has "$L" "live: link up" '<div id="link" class="big ok">up</div>'
dom_has "$L" "live: SCALE-01 row: name, 15 weighings, last weight, Turkish product" \
    '<td>SCALE-01 · Kasap 1</td><td class="st-[a-z]+">[a-z]+</td>'\
'<td class="num">15</td><td class="num">[0-9,]+\.[0-9]{3} kg</td>'\
'<td class="product">00015 ÇĞ İÖŞÜ</td>'
dom_has "$L" "live: SCALE-02 row with its Turkish name" '<td>SCALE-02 · Kıyma hattı</td>'
dom_has "$L" "live: chart from the ingest worker" \
    'this minute [0-9]+ · busiest (34|30|4) · from the ingest worker'
if [ -n "${SCREENSHOT:-}" ]; then
	shoot "$LIVE" "$SCREENSHOT"
	[ -s "$SCREENSHOT" ] || fail "no screenshot"
	echo "ok: screenshot of the live page in $SCREENSHOT"
fi
echo "ok: status page in chromium"
