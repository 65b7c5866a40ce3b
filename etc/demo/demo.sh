#!/usr/bin/env bash
# make demo: the whole edge on one machine, no root paths needed.
#   carnitrack-cloudsim --auto-session  (the reference cloud, on loopback)
#   carnitrackd                         (data under ./var/demo)
#   dp401-sim                           (4 scales, controlled transfer, Turkish text)
# It shows a refreshed `carnitrackctl status` and what the cloud received,
# and serves the status page and /metrics (the web worker, URL on screen);
# after a while it stops the cloud for some seconds, to show offline batches
# and the resync. Ctrl-C stops everything it started.
#   DEMO_SECONDS=N   stop by itself after N seconds (default: run until Ctrl-C)
#   DEMO_SCALES=N    number of simulated scales (default 4)
set -euo pipefail
cd "$(dirname "$0")/../.."
TOP=$PWD
B=$TOP/build
D=$TOP/var/demo
SCALES=${DEMO_SCALES:-4}
DURATION=${DEMO_SECONDS:-0}
PY=/usr/bin/python3
port() { $PY -c 'import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); print(p); break
    except OSError: continue
    finally: s.close()'; }

rm -rf "$D"
mkdir -p "$D"
SCALE_PORT=$(port); CLOUD_PORT=$(port); CTL_PORT=$(port); HTTP_PORT=$(port)
cat > "$D/edge.conf" <<CONF
[edge]
site_id = DEMO01
site_name = Demo plant
data_dir = $D/data
run_dir = $D/run
user =
[http]
listen = 127.0.0.1:$HTTP_PORT
[scales]
listen = 127.0.0.1:$SCALE_PORT
heartbeat_interval = 5s
[cloud]
url = ws://127.0.0.1:$CLOUD_PORT/edge
offline_grace = 3s
ping_interval = 5s
CONF

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: stopping..."
	# in reverse order of start: the scales first, so that none sees the
	# edge close its connection and counts it as an error, then the edge,
	# then the cloud
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		p=${pids[i]}
		kill -TERM "$p" 2>/dev/null || continue
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	echo "demo: cloud summary: $(grep 'cloudsim: accepted' "$D/cloud.log" | tail -n1)"
	echo "demo: scales summary: $(grep 'dp401-sim: scales=' "$D/sim.log" | tail -n1)"
	echo "demo: logs and data are in $D"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

cloud_cmd() {
	exec 9<>"/dev/tcp/127.0.0.1/$CTL_PORT" && printf '%s\n' "$1" >&9 &&
	    timeout 2 head -n 1 <&9 || true
	exec 9>&- 9<&- || true
}

"$B/carnitrack-cloudsim" --listen "127.0.0.1:$CLOUD_PORT" --control "$CTL_PORT" \
	--auto-session --quiet \
	</dev/null >"$D/cloud.log" 2>&1 &
pids+=($!)
"$B/carnitrackd" -f -c "$D/edge.conf" >"$D/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	"$B/carnitrackctl" -c "$D/edge.conf" status >/dev/null 2>&1 && break
	sleep 0.1
done
"$B/dp401-sim" -n "$SCALES" --rate 1 --records 0 --hb 5 --controlled --turkish \
	"127.0.0.1:$SCALE_PORT" >"$D/sim.log" 2>&1 &
pids+=($!)

start=$SECONDS
phase="cloud up"
while :; do
	t=$((SECONDS - start))
	# The loop's period is not exact: compare with >=, once per phase.
	if [ $t -ge 20 ] && [ "$phase" = "cloud up" ]; then
		cloud_cmd stop >/dev/null; phase="cloud DOWN (offline batches)"
	elif [ $t -ge 30 ] && [ "$phase" = "cloud DOWN (offline batches)" ]; then
		cloud_cmd listen >/dev/null; phase="cloud back (resync)"
	fi
	{
		printf '\033[H\033[2J'
		echo "CarniTrack Edge demo  t=${t}s  phase: $phase" \
		    "  (Ctrl-C to stop; files in var/demo)"
		echo "status page: http://127.0.0.1:$HTTP_PORT/" \
		    "  metrics: http://127.0.0.1:$HTTP_PORT/metrics"
		echo
		"$B/carnitrackctl" -c "$D/edge.conf" status 2>&1 | head -n 60 || true
		echo
		echo "cloud (carnitrack-cloudsim) stats: $(cloud_cmd stats)"
		echo "last cloud lines:"
		tail -n 4 "$D/cloud.log" | cut -c1-150
	}
	if [ "$DURATION" -gt 0 ] && [ $t -ge "$DURATION" ]; then break; fi
	sleep 2
done
