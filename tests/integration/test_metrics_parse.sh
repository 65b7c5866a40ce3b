#!/usr/bin/env bash
# The /metrics exposition (lib/metrics, printed by tests/helpers/metrics_dump
# from the real daemon's `status --json` and its store, as the web worker
# will) parses with python3-prometheus-client's parser, follows the naming
# conventions, and its values move as records flow: records and OKs count
# up, the configured scales have their series (SCALE-05, never connected,
# at 0; SCALE-01 with the store's own total), scales neither configured nor
# connected have none, and a cloud outage shows as link down,
# unhealthy and a backlog with an age.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud --auto-session
cloud_conf "[scale SCALE-01]
name = Kasap 1
[scale SCALE-05]
name = Kasap 5"
ct_start
wait_for 10 "cloud link up" link_is up

scrape() {   # scrape NAME: status and metrics into $T/NAME.json / $T/NAME.prom
	ct status --json > "$T/$1.json" || true
	"$B/tests/metrics_dump" "$T/$1.json" "$T/data" "$CONF" > "$T/$1.prom"
}
# check FILE PYTHON-ASSERTIONS: parse with the real parser, then assert on
# m (name -> value, labels folded in as name{k=v,...}).
check() {
	local f=$1; shift
	$PY - "$f" "$1" <<'PY' || fail "$f: $(head -c 2000 "$f")"
import re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
fams = list(text_string_to_metric_families(text))
names = [f.name for f in fams]
assert len(names) == len(set(names)), "a family twice"
assert len(fams) >= 50, len(fams)
helps = re.findall(r"^# HELP (\S+) ", text, re.M)
types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
assert len(helps) == len(types) == len(fams), (len(helps), len(types), len(fams))
for name, typ in types:
    assert name.startswith("carnitrack_"), name
    assert (typ == "counter") == name.endswith("_total"), name
    assert not re.search(r"_(ms|milliseconds|percent|pct)(_|$)", name), name
m = {}
for f in fams:
    for s in f.samples:
        k = s.name + ("{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
                      if s.labels else "")
        m[k] = s.value
exec(sys.argv[2])
PY
}

bg sim "$B/dp401-sim" -n 2 --rate 0 --records 20 --turkish --controlled \
    "127.0.0.1:$SCALE_PORT" >/dev/null
wait_for 20 "40 records OK'd" grep -q "scales=2 .*oks=40 errors=0" "$T/sim.log"
wait_for 10 "all acknowledged" pending_is 0
scrape a
check "$T/a.prom" '
assert m["carnitrack_records_received_total"] == 40, m["carnitrack_records_received_total"]
assert m["carnitrack_oks_sent_total"] == 40
assert m["carnitrack_events_stored_total"] == 40
assert m["carnitrack_events_acknowledged_total"] == 40
assert m["carnitrack_backlog_events"] == 0
assert m["carnitrack_cloud_link_up"] == 1 and m["carnitrack_healthy"] == 1
assert m["carnitrack_cloud_link_state{state=up}"] == 1
assert m["carnitrack_worker_up{worker=ingest}"] == 1
assert m["carnitrack_worker_state{state=running,worker=store}"] == 1
assert m["carnitrack_scale_connected{device=SCALE-05}"] == 0, "configured, never seen"
assert m["carnitrack_scale_records_total{device=SCALE-01}"] == 20
assert m["carnitrack_scale_records_today{device=SCALE-01}"] == 20
assert not [k for k in m if "SCALE-02" in k], "SCALE-02: not configured, gone"
assert m["carnitrack_store_map_size_bytes"] > m["carnitrack_store_map_used_bytes"] > 0
assert m["carnitrack_metrics_series_omitted"] == 0
'

# More records: the counters move; then the cloud goes away.
bg sim2 "$B/dp401-sim" -n 2 --rate 0 --records 10 --turkish --controlled \
    "127.0.0.1:$SCALE_PORT" >/dev/null
wait_for 20 "20 more OK'd" grep -q "scales=2 .*oks=20 errors=0" "$T/sim2.log"
simctl stop | grep -q '^ok stopped' || fail "cloudsim stop"
link_down() { cloud_status_not link_state up && [ "$(worker_status store link)" = down ]; }
wait_for 10 "cloud link down" link_down
bg sim3 "$B/dp401-sim" -n 1 --rate 0 --records 5 --controlled "127.0.0.1:$SCALE_PORT" >/dev/null
wait_for 20 "5 more OK'd offline" grep -q "scales=1 .*oks=5 errors=0" "$T/sim3.log"
scrape b
check "$T/b.prom" '
assert m["carnitrack_records_received_total"] == 65, m["carnitrack_records_received_total"]
assert m["carnitrack_oks_sent_total"] == 65
assert m["carnitrack_cloud_link_up"] == 0 and m["carnitrack_healthy"] == 0
assert m["carnitrack_cloud_link_state{state=up}"] == 0
assert m["carnitrack_backlog_events"] >= 5, m["carnitrack_backlog_events"]
assert m["carnitrack_offline_batches_open"] == 1
assert m["carnitrack_scale_records_total{device=SCALE-01}"] == 35
'
# The same without the store open: backlog from the store worker's status.
"$B/tests/metrics_dump" "$T/b.json" > "$T/c.prom"
check "$T/c.prom" '
assert m["carnitrack_backlog_events"] >= 5
assert "carnitrack_scale_records_total{device=SCALE-01}" not in m
'
# Daemon unreachable: still a valid exposition that says so.
"$B/tests/metrics_dump" - "$T/data" > "$T/d.prom"
check "$T/d.prom" '
assert m["carnitrack_status_available"] == 0
assert "carnitrack_healthy" not in m and m["carnitrack_backlog_events"] >= 5
'
echo "ok: metrics parse and move"
