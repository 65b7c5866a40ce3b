#!/usr/bin/env bash
# /metrics through Prometheus' own linter, `promtool check metrics` (Debian
# package prometheus): the exposition must parse and follow the naming
# conventions with no lint finding. Fed three ways: the fixture status with
# both histograms, served over HTTP by tests/helpers/web_serve; the real
# daemon's web worker after records flowed; and with the daemon unreachable
# (metrics_dump).
. "$CT_TOP/tests/browser/lib.sh"
command -v promtool >/dev/null || fail "promtool not installed (make check-browser installs it)"

lint() {   # lint FILE WHAT
	promtool check metrics < "$1" > "$T/lint.out" 2>&1 ||
		fail "$2: promtool: $(cat "$T/lint.out")"
	[ ! -s "$T/lint.out" ] || fail "$2: promtool lint: $(cat "$T/lint.out")"
	echo "ok: $2 passes promtool check metrics ($(grep -c '^carnitrack_' "$1") samples)"
}

cp "$CT_TOP/tests/browser/status_fixture.json" "$T/status.json"
serve fixture --status "$T/status.json"
curl -sf "http://127.0.0.1:$PORT/metrics" > "$T/fixture.prom"
grep -q '^carnitrack_scale_ok_latency_seconds_bucket{le="+Inf"} 409$' "$T/fixture.prom" ||
	fail "histogram not in the exposition"
lint "$T/fixture.prom" "fixture over HTTP"

. "$CT_TOP/tests/cloud_py/cloud_lib.sh"
sim_cloud --auto-session
cloud_conf "[scale SCALE-01]
name = Kasap 1"
ct_start
wait_for 10 "cloud link up" link_is up
scales run --scales 2 --rate 0 --records 20 --turkish --controlled
wait_for 30 "40 records OK'd" grep -q "scales=2 .*oks=40 errors=0" "$T/run.log"
live_moved() {
	curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/live.prom" &&
		grep -q '^carnitrack_records_received_total 40$' "$T/live.prom"
}
wait_for 5 "the web worker's /metrics shows the 40 records" live_moved
lint "$T/live.prom" "live daemon's /metrics"
"$B/tests/metrics_dump" - "$T/data" > "$T/down.prom"
lint "$T/down.prom" "daemon unreachable"
echo "ok: metrics lint clean"
