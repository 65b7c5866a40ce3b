#!/usr/bin/env bash
# CarniTrack Edge benchmarks: the real processes (carnitrackd and its four
# workers, the reference cloud, simulated scales) on loopback, a temporary
# data dir, the store as shipped (every commit synced). Prints one table:
# each figure is the median of RUNS runs with min and max, next to its goal.
#
#   bench/bench.sh [--quick] [--results FILE]
#
# Environment: BUILD (build dir, default build), BENCH_RUNS (default 3),
# BENCH_DIR (where the temporary data dirs go: point it at the storage you
# want measured, default $TMPDIR or /tmp), BENCH_KEEP=1 keeps the logs.
#
# How each figure is taken (details in bench/README.md):
#   ingest     50 dp401-sim scales send N records as fast as TCP takes;
#              bench_watch polls the store read-only every 2 ms until it holds
#              all N and none is pending (every cloud ack committed).
#   controlled 20 scales: record, KONTROLLU AKTAR OK?, wait for OK, P" copy;
#              OKs / wall time of the dp401-sim run.
#   latency    bench_probe plays 50 scales at 250 records/s (open loop) and
#              timestamps send -> record committed and -> ack committed in
#              the store (inotify on data.mdb + read txn); the goal of the
#              first comes from the disk: 2 x its fdatasync p50 (measured
#              just before each run) + 0.2 ms. Then on the same edge
#              bench_probe --controlled, 20 scales at 100 records/s in all:
#              record + prompt, send -> OK read. Both with CARNITRACKD_TRACE:
#              every process stamps each record's stages and bench_stages
#              joins them into the per-stage breakdown. Then the latency run
#              again while /metrics is scraped every second (the web
#              worker's cost), without stamps.
#   drain      bench_fill writes N offline events with the store API while
#              the daemon is down; then carnitrackd starts with the cloud up;
#              N / (all acked - edge registered at the cloud).
#   memory     RssAnon of supervisor + 4 workers: 50 registered idle scales,
#              and the peak during the ingest runs.
#   recovery   kill -9 of a worker -> a fresh record from a probe scale is
#              acked in the store and the worker is "ready" again.
#   conns      dp401-sim --idle holds N connections; the ingest figure is
#              taken again with them held.
#   rest       the ingest and drain figures again with [cloud] transport =
#              rest against carnitrack-cloudsim --rest (XPORT=rest).
set -euo pipefail

CT_TOP=${CT_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${BUILD:-build}
case "$B" in /*) ;; *) B="$CT_TOP/$B" ;; esac
PY=/usr/bin/python3
MODE=full
RESULTS=
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) MODE=quick ;;
	--results) RESULTS=$2; shift ;;
	*) echo "usage: bench/bench.sh [--quick] [--results FILE]" >&2; exit 2 ;;
	esac
	shift
done
if [ "$MODE" = quick ]; then
	# a sanity check in under a minute: one run each, smaller counts
	RUNS=${BENCH_RUNS:-1}
	ING_PER=200; CTL_PER=100; LAT_S=2; DRAIN_N=50000; IDLE_N=1000; CONN_PER=200
else
	RUNS=${BENCH_RUNS:-3}
	ING_PER=1000; CTL_PER=500; LAT_S=8; DRAIN_N=1000000; IDLE_N=5000; CONN_PER=1000
fi
ING_SCALES=50; CTL_SCALES=20; LAT_RATE=250; OK_SCALES=20; OK_RATE=100
MAP_SIZE=4GiB; MAP_BYTES=$((4 << 30))

# 5,000 idle scales plus the real ones, the probes and our own files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_N + 500)) ]; then
	echo "bench: ulimit -n is $(ulimit -n) (hard $(ulimit -Hn));" \
	    "the connections figure needs $((IDLE_N + 500))" >&2
fi

# BENCH_NICE=-10 (root): run everything of the benchmark at that priority, a
# diagnostic on a shared machine to see what the edge does when it gets the CPU
RUN=()
if [ -n "${BENCH_NICE:-}" ]; then RUN=(nice -n "$BENCH_NICE"); fi

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ct-bench.XXXXXX")
PIDS=()
cleanup() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		find "$W" -name data -type d -prune -exec rm -rf {} + 2>/dev/null || true
		echo "bench: logs kept in $W" >&2
	else
		rm -rf "$W"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { local t=$EPOCHREALTIME; echo "${t/./}000"; }
log() { printf '[bench %s] %s\n' "$(date -u +%T)" "$*" >&2; }
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0))
print(s.getsockname()[1])'
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# kv LINE KEY: the value of KEY=... in a helper's output line
kv() { sed -n "s/.*[ ^]$2=\([^ ]*\).*/\1/p" <<<" $1"; }

# The build must define a worker for its figures to mean anything: a worker
# of the daemon's process table has its NAME_worker_ops.
NM_OUT=$(nm "$B/carnitrackd" 2>/dev/null || true)
have_worker() { grep -Eq " [BDRT] ${1}_worker_ops\$" <<<"$NM_OUT"; }
need() {   # need WORKER...: prints the missing ones
	local miss=()
	for w in "$@"; do have_worker "$w" || miss+=("$w"); done
	echo "${miss[*]:-}"
}

# ------------------------------------------------------------ one edge
# edge_up NAME [extra ini]: cloud + daemon in $W/NAME; sets D SP HP WP CP DPID CSPID.
# NOCLOUD=1: no reference cloud. PREFILL=N: backlog written before start.
# XPORT=rest: the REST transport against cloudsim --rest (default websocket).
XPORT=websocket
edge_conf() {
	cat > "$D/edge.conf" <<EOC
[edge]
site_id = SITE01
site_name = Bench Site
data_dir = $D/data
run_dir = $D/run
user =
log_level = ${LOGLEVEL:-warning}
$(have_worker web && printf '[http]\nlisten = 127.0.0.1:%s\n' "$HP")
[scales]
listen = 127.0.0.1:$SP
max_connections = $((IDLE_N + 1000))
max_per_ip = $((IDLE_N + 1000))
[cloud]
$( [ "$XPORT" = rest ] && printf 'transport = rest\nurl = http://127.0.0.1:%s/api/v1' "$WP" ||
	printf 'url = ws://127.0.0.1:%s/edge' "$WP")
offline_grace = 2s
[store]
map_size = $MAP_SIZE
EOC
	if [ -n "${1:-}" ]; then printf '%s\n' "$1" >> "$D/edge.conf"; fi
}

ct() { "$B/carnitrackctl" -c "$D/edge.conf" "$@"; }
sj() { { ct status --json 2>/dev/null || true; } | jq -r "$1" 2>/dev/null; }
all_running() { [ "$(sj '[.workers[] | .state == "running"] | all')" = true ]; }
worker_pid() { sj ".workers[] | select(.name==\"$1\") | .pid"; }
ingest_conns() { sj '.workers[] | select(.name=="ingest") | .status.connections // 0'; }
ingest_conns_ge() { [ "$(ingest_conns)" -ge "$1" ]; }
worker_up_2s() {   # worker_up_2s NAME: running for 2 s at least
	[ "$(sj ".workers[] | select(.name==\"$1\") |
	    (.state == \"running\" and .uptime_s >= 2)")" = true ]
}
worker_replaced() {   # worker_replaced NAME OLDPID: running again, another pid
	[ "$(sj ".workers[] | select(.name==\"$1\") | (.state == \"running\" and .pid != $2)")" \
	    = true ]
}

cloud_cmd() {   # cloud_cmd COMMAND: one line from the reference cloud
	local fd line
	exec {fd}<>"/dev/tcp/127.0.0.1/$CP" || return 1
	printf '%s\n' "$1" >&"$fd"
	IFS= read -r -t 5 line <&"$fd" || true
	exec {fd}>&-
	printf '%s\n' "$line"
}
cloud_registered() { [ "$(cloud_cmd stats 2>/dev/null | jq -r '.registers // 0' 2>/dev/null)" \
	-ge 1 ] 2>/dev/null; }

wait_for() {    # wait_for SECONDS WHAT COMMAND...
	local t=$1 what=$2; shift 2
	local end=$((SECONDS + t))
	while ! "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then log "timed out after ${t}s: $what"; return 1; fi
		sleep 0.05
	done
}

edge_up() {
	local name=$1 extra=${2:-}
	D=$W/$name
	mkdir -p "$D"
	SP=$(free_port); HP=$(free_port); WP=$(free_port); CP=$(free_port)
	edge_conf "$extra"
	if [ -n "${PREFILL:-}" ]; then
		# a copy of the backlog written once by bench_fill (LMDB files copied
		# while no process has them open)
		cp -a "$PREFILL" "$D/data" || { log "copying the backlog failed"; return 1; }
	fi
	CSPID=
	if [ "${NOCLOUD:-0}" != 1 ]; then
		local rest=()
		[ "$XPORT" = rest ] && rest=(--rest --batch-limit 1000)
		"${RUN[@]}" "$B/carnitrack-cloudsim" --quiet -p "$WP" --control "$CP" "${rest[@]}" \
			< /dev/null > "$D/cloud.log" 2>&1 &
		CSPID=$!
		PIDS+=("$CSPID")
		wait_for 10 "reference cloud control port" cloud_cmd stats || return 1
	fi
	DSTART_NS=$(now_ns)
	EWPID=
	if [ -n "${EARLY_WATCH:-}" ]; then
		# started before the daemon, so the edge's registration at the cloud
		# is seen when it happens, not when edge_up returns
		"${RUN[@]}" "$B/bench/bench_watch" --cloud-port "$CP" --since-ns "$DSTART_NS" \
			--timeout 120 \
		    "$D/data" > "$EARLY_WATCH" 2>&1 &
		EWPID=$!
		PIDS+=("$EWPID")
	fi
	# TRACE=DIR: every worker writes its stage stamps there (CARNITRACKD_TRACE)
	env ${TRACE:+CARNITRACKD_TRACE="$TRACE"} "${RUN[@]}" "$B/carnitrackd" -f \
		-c "$D/edge.conf" > "$D/daemon.log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	wait_for 20 "all workers running" all_running || return 1
	if [ "${NOCLOUD:-0}" != 1 ] && [ -z "${PREFILL:-}" ] && have_worker cloud; then
		wait_for 20 "edge registered at the cloud" cloud_registered || return 1
	fi
	SUPPID=$DPID
	INGPID=$(worker_pid ingest); STOPID=$(worker_pid store); CLDPID=$(worker_pid cloud)
	WEBPID=$(worker_pid web)
	[ "$WEBPID" != null ] || WEBPID=
}

stop_pid() {    # TERM, wait up to 10 s, then KILL
	local p=$1
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

edge_down() {
	stop_pid "$DPID"
	stop_pid "${CSPID:-}"
	rm -rf "$D/data"
}

edge_pids() { echo "$SUPPID,$INGPID,$STOPID,$CLDPID${WEBPID:+,$WEBPID}"; }
edge_cpu() { echo \
	"sup=$SUPPID,ingest=$INGPID,store=$STOPID,cloud=$CLDPID${CSPID:+,cloudsim=$CSPID}"; }
rss_sum_kb() {
	local sum=0 kb p
	for p in $SUPPID $INGPID $STOPID $CLDPID $WEBPID; do
		kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
		sum=$((sum + ${kb:-0}))
	done
	echo $sum
}

# ------------------------------------------------------------ results
ROWS=()
NOTES=()
LOADS_ALL=()
# stats V...: "median min max" (numeric; values may be fractional)
stats() { printf '%s\n' "$@" | sort -g |
	awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
fmt() {         # fmt VALUE DECIMALS: thousands separators
	LC_ALL=C awk -v v="$1" -v d="$2" 'BEGIN {
		s = sprintf("%." d "f", v); split(s, p, "."); i = p[1]; o = "";
		neg = (substr(i, 1, 1) == "-"); if (neg) i = substr(i, 2);
		while (length(i) > 3) {
			o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3)
		}
		o = (neg ? "-" : "") i o; if (d > 0) o = o "." p[2]; print o }'
}
# row FIGURE UNIT GOAL_OP GOAL DECIMALS LOADS VALUES...  (GOAL_OP ge|le|none)
row() {
	local fig=$1 unit=$2 op=$3 goal=$4 dec=$5 loads=$6 g ok; shift 6
	case $op in
	ge) g="≥ $(fmt "$goal" 0) $unit" ;;
	le) g="≤ $goal $unit" ;;
	*)  g="-" ;;
	esac
	if [ $# -eq 0 ]; then
		ROWS+=("| $fig | n/a (no run finished) | | | $g | - | $loads |")
		return
	fi
	read -r med min max < <(stats "$@")
	ok=$(awk -v m="$med" -v g="$goal" -v op="$op" 'BEGIN {
		if (op == "none") print "-"
		else print ((op == "ge" ? m >= g : m <= g) ? "yes" : "**no**") }')
	ROWS+=("| $fig | $(fmt "$med" "$dec") $unit | $(fmt "$min" "$dec") |\
 $(fmt "$max" "$dec") | $g | $ok | $loads |")
}
na_row() {      # na_row FIGURE GOAL WHY
	ROWS+=("| $1 | n/a ($3) | | | $2 | - | |")
}

# cpu_per_record WATCH_LINE N: CPU microseconds the four edge processes
# spent per record over the watched window (load-independent, unlike rates)
cpu_per_record() {
	awk -v w="$(kv "$1" wall_s)" -v n="$2" -v a="$(kv "$1" cpu_sup)" \
		-v b="$(kv "$1" cpu_ingest)" \
	    -v c="$(kv "$1" cpu_store)" -v d="$(kv "$1" cpu_cloud)" \
	    'BEGIN { print (a + b + c + d) * w / n * 1e6 }'
}
cloudsim_per_record() {
	awk -v w="$(kv "$1" wall_s)" -v n="$2" -v a="$(kv "$1" cpu_cloudsim)" \
		'BEGIN { print a * w / n * 1e6 }'
}

# ------------------------------------------------------------ figures

bench_fsync() {
	mkdir -p "$W/fsync"
	local out
	out=$("$B/bench/bench_fsync" "$W/fsync" 200)
	FSYNC_MED=$(kv "$out" median); FSYNC_MIN=$(kv "$out" min); FSYNC_MAX=$(kv "$out" max)
	log "fsync 4 KiB: median $FSYNC_MED us (min $FSYNC_MIN, max $FSYNC_MAX)"
}

# open_idle N: N silent connections, opened 100 at a time, each step checked
# against ingest's own count. A burst beyond the listen backlog is completed
# by the kernel on the client side and dropped on the server side, and a
# client that never speaks never learns it: this figure is about holding
# connections, not about accepting a burst.
open_idle() {
	local n=$1 k=0 b
	while [ $k -lt "$n" ]; do
		b=$(( n - k < 100 ? n - k : 100 ))
		"${RUN[@]}" "$B/dp401-sim" --idle -n "$b" --records 0 \
			"127.0.0.1:$SP" >> "$D/idle.log" 2>&1 &
		IDLEPIDS+=($!)
		PIDS+=($!)
		k=$((k + b))
		wait_for 30 "$k idle connections" ingest_conns_ge "$k" || return 1
	done
}

# ingest_once NAME IDLE PER: one ingest run; sets ING_OUT (the watcher's
# line), RUN_LOAD and HELD (idle connections still open at the end)
ingest_once() {
	local name=$1 idle=$2 per=$3 n t0 out simpid p
	edge_up "$name" || return 1
	IDLEPIDS=()
	if [ "$idle" -gt 0 ] && ! open_idle "$idle"; then
		for p in "${IDLEPIDS[@]}"; do stop_pid "$p"; done
		edge_down
		return 1
	fi
	n=$((ING_SCALES * per))
	RUN_LOAD=$(loadavg)
	t0=$(now_ns)
	"${RUN[@]}" "$B/dp401-sim" -n $ING_SCALES --rate 0 --records "$per" --hb 0 --timeout 600 \
		"127.0.0.1:$SP" > "$D/sim.log" 2>&1 &
	simpid=$!
	PIDS+=("$simpid")
	out=$("${RUN[@]}" "$B/bench/bench_watch" --events "$n" --pending0 --since-ns "$t0" \
	    --rss "$(edge_pids)" \
	    --cpu "$(edge_cpu)" --timeout $((n / 2000 + 60)) "$D/data") || true
	wait "$simpid" 2>/dev/null || true
	HELD=
	if [ "$idle" -gt 0 ]; then
		HELD=$(ingest_conns)
		for p in "${IDLEPIDS[@]}"; do stop_pid "$p"; done
	fi
	ct status --json > "$D/status.json" 2>/dev/null || true
	cp "$D/status.json" "$W/$name.status.json" 2>/dev/null || true
	edge_down
	ING_OUT="$out n=$n"
}

# fig_ingest [rest]: over the WebSocket, or over REST (XPORT=rest)
fig_ingest() {
	local miss v=() loads=() rss=() cpus=() cpr=() cspr=() i out via=${1:-}
	local title="ingest throughput${via:+ over REST} (50 scales, stored + acked)"
	miss=$(need ingest store cloud)
	if [ -n "$miss" ]; then na_row "$title" \
		"≥ 25,000 records/s" "worker missing: $miss"; return; fi
	for i in $(seq 1 "$RUNS"); do
		XPORT=${via:-websocket} ingest_once "ingest$via$i" 0 "$ING_PER" ||
			{ log "ingest$via run $i failed"; continue; }
		out=$ING_OUT
		local done_s; done_s=$(kv "$out" done_s)
		if awk -v d="$done_s" 'BEGIN { exit !(d > 0) }'; then
			v+=("$(awk -v n="$(kv "$out" n)" -v d="$done_s" 'BEGIN { print n / d }')")
		else
			log "ingest run $i did not finish: $out"
		fi
		loads+=("$RUN_LOAD")
		rss+=("$(kv "$out" rss_peak_kb)")
		RSS_SPLIT+=("$(kv "$out" rss_at_peak_kb | awk -F/ '{
		    printf "%.1f/%.1f/%.1f/%.1f/%.1f", $1/1024, $2/1024, $3/1024, $4/1024,
		    $5/1024 }')")
		cpus+=("$out")
		cpr+=("$(cpu_per_record "$out" "$(kv "$out" n)")")
		cspr+=("$(cloudsim_per_record "$out" "$(kv "$out" n)")")
		log "ingest$via run $i: $out load=$RUN_LOAD"
	done
	row "$title" "records/s" ge 25000 0 "$(IFS=/; echo "${loads[*]}")" "${v[@]}"
	[ ${#cpr[@]} -gt 0 ] && row "  edge CPU per record (4 processes)" us none 0 1 "" "${cpr[@]}"
	[ ${#cspr[@]} -gt 0 ] && row "  reference cloud CPU per record" us none 0 1 "" "${cspr[@]}"
	[ -n "$via" ] && return 0
	LOAD_RSS_KB=("${rss[@]}")
	ING_CPU=("${cpus[@]}")
}

fig_controlled() {
	local miss v=() loads=() i t0 t1 out oks
	miss=$(need ingest store)
	if [ -n "$miss" ]; then na_row "controlled transfer (20 scales, record+prompt+OK)" \
		"≥ 10,000 OKs/s" "worker missing: $miss"; return; fi
	for i in $(seq 1 "$RUNS"); do
		edge_up "ctl$i" || { log "controlled run $i: edge did not start"; continue; }
		loads+=("$(loadavg)")
		t0=$(now_ns)
		out=$("${RUN[@]}" "$B/dp401-sim" -n $CTL_SCALES --controlled --rate 0 \
		    --records "$CTL_PER" --hb 0 --timeout 300 "127.0.0.1:$SP" 2>"$D/sim.err" |
		    tail -n 1) || true
		t1=$(now_ns)
		oks=$(kv "$out" oks)
		local commits; \
			commits=$(sj '.workers[] | select(.name=="store") | .status.commits // 0')
		edge_down
		local per_commit
		per_commit=$(awk -v c="$commits" -v a="$t0" -v b="$t1" \
		    'BEGIN { if (c > 0) print (b - a) / 1e6 / c }')
		log "controlled run $i: $out in $(( (t1 - t0) / 1000000 )) ms; store commits" \
		    "$commits (${per_commit:+$(printf '%.2f' "$per_commit") ms wall per commit})"
		CTL_COMMITS+=("$per_commit")
		[ -n "$oks" ] && [ "$oks" -gt 0 ] &&
			v+=("$(awk -v k="$oks" -v a="$t0" -v b="$t1" \
			    'BEGIN { print k / ((b - a) / 1e9) }')")
		[ "${oks:-0}" -eq $((CTL_SCALES * CTL_PER)) ] ||
			log "controlled run $i: $oks of $((CTL_SCALES * CTL_PER)) OKs"
	done
	row "controlled transfer (20 scales, record+prompt+OK)" "OKs/s" ge 10000 0 \
		"$(IFS=/; echo "${loads[*]}")" "${v[@]}"
	# an OK waits for a synced commit: 20 scales give at most 20 OKs per commit
	[ ${#CTL_COMMITS[@]} -gt 0 ] &&
		row "  wall time per store commit in those runs" ms none 0 2 "" "${CTL_COMMITS[@]}"
}

# probe_latency WHAT FIRST_ID: one bench_probe run on the edge that is up;
# its line in LAT_OUT. With TRACE set the probe stamps its records there.
probe_latency() {
	local out
	out=$(env ${TRACE:+CARNITRACKD_TRACE="$TRACE"} "${RUN[@]}" "$B/bench/bench_probe" \
	    --scales 50 --first-id "$2" --rate $LAT_RATE --duration "$LAT_S" --warmup 1 \
	    --timeout 30 "127.0.0.1:$SP" "$D/data" 2>>"$D/probe.err") ||
	    log "latency $1: probe reports a problem"
	log "latency $1: $out"
	[ -n "$(kv "$out" acked_p50_us)" ] || return 1
	[ "$(kv "$out" n)" -gt 0 ] || return 1
	LAT_OUT=$out
}
ms_of() { awk -v u="$(kv "$LAT_OUT" "$1")" 'BEGIN { print u / 1000 }'; }

# probe_ok WHAT FIRST_ID: controlled transfer, send -> OK read; line in OK_OUT
probe_ok() {
	local out
	out=$(env ${TRACE:+CARNITRACKD_TRACE="$TRACE"} "${RUN[@]}" "$B/bench/bench_probe" \
	    --controlled --scales $OK_SCALES --first-id "$2" --rate $OK_RATE \
	    --duration "$LAT_S" --warmup 1 --timeout 30 "127.0.0.1:$SP" 2>>"$D/probe.err") ||
	    log "OK latency $1: probe reports a problem"
	log "OK latency $1: $out"
	[ "$(kv "$out" n)" -gt 0 ] 2>/dev/null || return 1
	OK_OUT=$out
}

# scrape_every_second URL: Prometheus' part, in the background (pid in SCRAPER)
scrape_every_second() {
	( while :; do curl -s -m 2 -o /dev/null "$1" || true; sleep 1; done ) &
	SCRAPER=$!
	PIDS+=("$SCRAPER")
}

# sched_snap: "wait_ns:runs" summed per edge process from /proc/PID/schedstat
# (ns spent runnable but waiting for a CPU, and the times it got one)
sched_snap() {
	local p out=""
	for p in $SUPPID $INGPID $STOPID $CLDPID; do
		out+="$(awk '{ printf "%s:%s", $2, $3 }' "/proc/$p/schedstat" 2>/dev/null ||
		    echo 0:0) "
	done
	echo "$out"
}
# sched_per_record BEFORE AFTER N: per process (sup ingest store cloud), the
# wait for a CPU and the wake-ups per record over the run
sched_per_record() {
	awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {
		split("sup ingest store cloud", name, " ")
		k = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= k; i++) {
			split(x[i], p, ":"); split(y[i], q, ":")
			printf "%s %.1f us, %.1f runs; ", name[i], (q[1] - p[1]) / n / 1e3,
			    (q[2] - p[2]) / n
		}
	}' | sed 's/; $//'
}

# The breakdown: for each stage, the median over the runs of its p50 and p99.
declare -A STAGE50=() STAGE99=() STAGEN=()
stages_add() {   # stages_add DIR: one run's stamps
	local name n p50 p99
	while read -r _ name n p50 p99; do
		STAGE50[$name]+=" ${p50#p50_us=}"
		STAGE99[$name]+=" ${p99#p99_us=}"
		STAGEN[$name]=$(( ${STAGEN[$name]:-0} + ${n#n=} ))
	done < <("$B/bench/bench_stages" "$1" 2>/dev/null)
}
STAGE_ORDER="scale_to_ingest ingest_turn ingest_to_store store_wait store_commit
probe_sees_commit store_to_ingest ingest_ok ok_to_scale store_to_cloud_sent
cloud_round_trip cloud_to_store store_ack_wait store_ack_commit probe_sees_ack
total_committed total_acked total_ok"
declare -A STAGE_TEXT=(
	[scale_to_ingest]="scale's write -> ingest parsed it (TCP, wake-up, parse)"
	[ingest_turn]="ingest: record -> EVENT frame sent (rest of its loop turn)"
	[ingest_to_store]="EVENT frame -> store decoded it (the hop)"
	[store_wait]="store: decoded -> its write transaction begins"
	[store_commit]="store: the transaction and its synced commit (2 flushes)"
	[probe_sees_commit]="commit returned -> the probe's read txn sees it (measurement)"
	[store_to_ingest]="commit returned -> ingest read EVENT_STORED (the hop back)"
	[ingest_ok]="ingest: EVENT_STORED -> OK written"
	[ok_to_scale]="OK written -> the scale read it"
	[store_to_cloud_sent]="commit returned -> cloud sent the event (WORK_READY, LMDB read)"
	[cloud_round_trip]="cloud sent it -> the reference cloud's ack read"
	[cloud_to_store]="ack read -> store decoded ACKED (end of turn, the hop)"
	[store_ack_wait]="store: ACKED decoded -> its transaction begins"
	[store_ack_commit]="store: the ack's transaction and synced commit"
	[probe_sees_ack]="ack commit returned -> the probe sees it (measurement)"
	[total_committed]="total: send -> record committed (probe)"
	[total_acked]="total: send -> ack committed (probe)"
	[total_ok]="total: send -> OK read (controlled, probe)"
)

# cpu_wake_hold / cpu_wake_release: hold the kernel's CPU wake-up latency
# request (PM QoS, /dev/cpu_dma_latency) at 0 us while the holder lives, as
# tuned's latency-performance profile does: idle CPUs poll instead of
# sleeping. A machine setting, not the daemon's; root only. The holder is a
# child of its own so that no daemon started meanwhile inherits the request.
CPU_WAKE_PID=
cpu_wake_possible() { [ "$(id -u)" = 0 ] && [ -w /dev/cpu_dma_latency ]; }
cpu_wake_hold() {
	# the kernel takes a 4-byte binary value; the request lasts while the
	# file stays open, i.e. while sleep (which inherits fd 7) runs
	( exec 7>/dev/cpu_dma_latency && printf '\x00\x00\x00\x00' >&7 && exec sleep 3600 ) &
	CPU_WAKE_PID=$!
	PIDS+=("$CPU_WAKE_PID")
	sleep 0.2
	kill -0 "$CPU_WAKE_PID" 2>/dev/null
}
cpu_wake_release() {
	[ -n "$CPU_WAKE_PID" ] && stop_pid "$CPU_WAKE_PID"
	CPU_WAKE_PID=
}

# disk_irq_cpu DIR: the CPU that took most interrupts of the disk holding DIR
# (virtio-blk: virtioN-req.*, NVMe: nvmeNq*), or nothing when not found
disk_irq_cpu() {
	local dev name
	dev=$(basename "$(readlink -f "$(df --output=source "$1" | tail -n 1)")")
	if [ -e "/sys/class/block/$dev/partition" ]; then
		dev=$(basename "$(readlink -f "/sys/class/block/$dev/..")")
	fi
	name=$(basename "$(readlink -f "/sys/block/$dev/device" 2>/dev/null)" 2>/dev/null)
	[ -n "$name" ] || return 0
	awk -v n="$name" 'NR == 1 { ncpu = NF; next }
		$NF ~ ("^" n "(-req|q)") { for (c = 1; c <= ncpu; c++) sum[c - 1] += $(c + 1) }
		END { best = -1; for (c in sum) if (sum[c] > 0 && (best < 0 || sum[c] > sum[best]))
			best = c; if (best >= 0) print best }' /proc/interrupts
}
# pin_edge [CPU]: ingest and store to CPU by a reload ([cpus]); no CPU: back
pin_edge() {
	local want=${1:-$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)}
	sed -i '/^\[cpus\]$/,$d' "$D/edge.conf"
	[ -n "${1:-}" ] && printf '[cpus]\ningest = %s\nstore = %s\n' "$1" "$1" >> "$D/edge.conf"
	kill -HUP "$DPID"
	wait_for 10 "ingest and store on CPUs $want" pinned_to "$want"
}
pinned_to() {
	[ "$(sj '.workers[] | select(.name=="ingest") | .status.cpus')" = "$1" ] &&
	[ "$(sj '.workers[] | select(.name=="store") | .status.cpus')" = "$1" ]
}

fig_latency() {
	local miss s50=() s99=() smax=() a50=() a99=() amax=() o50=() o99=() fs=() w50=() w99=()
	local loads=() i snap0 goal l fsp=() fl=() flp=() q50=() qo50=() qfsp=() qflp=()
	local p50=() po50=() pqo50=() irq
	irq=$(disk_irq_cpu "$W")
	miss=$(need ingest store cloud)
	if [ -n "$miss" ]; then
		na_row "latency p50, send -> record committed (250/s, 50 scales)" \
			"≤ 2 × fdatasync + 0.2 ms" "worker missing: $miss"
		na_row "latency p50, send -> OK read (controlled, 100/s, 20 scales)" "≤ 0.6 ms" \
			"worker missing: $miss"
		return
	fi
	for i in $(seq 1 "$RUNS"); do
		mkdir -p "$W/lat$i/trace"
		TRACE=$W/lat$i/trace edge_up "lat$i" ||
			{ log "latency run $i: edge did not start"; continue; }
		loads+=("$(loadavg)")
		# the disk as it is now: the goal follows it
		fs+=("$(kv "$("$B/bench/bench_fsync" "$D" 200)" median)")
		# and at the latency run's pace (250/s: one every 4 ms), as its commits meet it
		fsp+=("$(kv "$("$B/bench/bench_fsync" "$D" 200 4000)" median)")
		# LMDB's own synced commit of one value, back to back and at that pace
		fl+=("$(kv "$("$B/bench/bench_lmdb_floor" "$D" 200)" median)")
		flp+=("$(kv "$("$B/bench/bench_lmdb_floor" "$D" 200 4000)" median)")
		snap0=$(sched_snap)
		if TRACE=$W/lat$i/trace probe_latency "run $i" 1; then
			s50+=("$(ms_of stored_p50_us)"); s99+=("$(ms_of stored_p99_us)")
			smax+=("$(ms_of stored_max_us)"); a50+=("$(ms_of acked_p50_us)")
			a99+=("$(ms_of acked_p99_us)"); amax+=("$(ms_of acked_max_us)")
			LAT_LAST=$LAT_OUT
			LAT_SCHED+=("$(sched_per_record "$snap0" "$(sched_snap)" \
			    "$(kv "$LAT_OUT" sent)")")
		fi
		if TRACE=$W/lat$i/trace probe_ok "run $i" 51; then
			o50+=("$(awk -v u="$(kv "$OK_OUT" ok_p50_us)" 'BEGIN { print u / 1000 }')")
			o99+=("$(awk -v u="$(kv "$OK_OUT" ok_p99_us)" 'BEGIN { print u / 1000 }')")
			OK_LAST=$OK_OUT
		fi
		# the same edge, right after, on a machine tuned for wake-up latency
		if cpu_wake_possible && cpu_wake_hold; then
			qfsp+=("$(kv "$("$B/bench/bench_fsync" "$D" 200 4000)" median)")
			qflp+=("$(kv "$("$B/bench/bench_lmdb_floor" "$D" 200 4000)" median)")
			if probe_latency "run $i, CPU wake-up latency held at 0" 151; then
				q50+=("$(ms_of stored_p50_us)")
			fi
			if probe_ok "run $i, CPU wake-up latency held at 0" 171; then
				qo50+=("$(awk -v u="$(kv "$OK_OUT" ok_p50_us)" \
				    'BEGIN { print u / 1000 }')")
			fi
			cpu_wake_release
		fi
		# the same edge, ingest and store moved to the CPU that takes the
		# disk's interrupts ([cpus], by a reload), then back
		if [ -n "$irq" ] && pin_edge "$irq"; then
			probe_latency "run $i, ingest and store on CPU $irq" 1 &&
				p50+=("$(ms_of stored_p50_us)")
			if probe_ok "run $i, ingest and store on CPU $irq" 51; then
				po50+=("$(awk -v u="$(kv "$OK_OUT" ok_p50_us)" \
				    'BEGIN { print u / 1000 }')")
			fi
			if cpu_wake_possible && cpu_wake_hold; then
				if probe_ok "run $i, on CPU $irq, CPU wake-up latency 0" 51; then
					pqo50+=("$(awk -v u="$(kv "$OK_OUT" ok_p50_us)" \
					    'BEGIN { print u / 1000 }')")
				fi
				cpu_wake_release
			fi
			pin_edge || log "latency run $i: the [cpus] reload did not undo"
		fi
		# the same edge, right after, with /metrics scraped every second
		if have_worker web; then
			scrape_every_second "http://127.0.0.1:$HP/metrics"
			if probe_latency "run $i, /metrics every second" 101; then
				w50+=("$(ms_of acked_p50_us)"); w99+=("$(ms_of acked_p99_us)")
			fi
			stop_pid "$SCRAPER"
		fi
		edge_down
		stages_add "$W/lat$i/trace"
	done
	l=$(IFS=/; echo "${loads[*]}")
	if [ ${#fs[@]} -gt 0 ]; then
		read -r FSYNC_LAT _ < <(stats "${fs[@]}")
		goal=$(awk -v f="$FSYNC_LAT" 'BEGIN { printf "%.2f", 2 * f / 1000 + 0.2 }')
	else
		goal=0.46
	fi
	row "latency p50, send -> record committed (250/s, 50 scales)" ms le "$goal" 2 "$l" \
		"${s50[@]}"
	row "latency p99, send -> record committed" ms le 2 2 "$l" "${s99[@]}"
	row "latency max, send -> record committed" ms none 0 2 "$l" "${smax[@]}"
	[ ${#fs[@]} -gt 0 ] &&
		row "  fdatasync p50 just before (goal above: 2 × this + 0.2 ms)" us none 0 0 \
		"$l" \
		"${fs[@]}"
	[ ${#fsp[@]} -gt 0 ] &&
		row "  fdatasync p50, one every 4 ms (the latency run's pace)" us none 0 0 "$l" \
		"${fsp[@]}"
	[ ${#fl[@]} -gt 0 ] &&
		row "  LMDB's floor: one 8-byte value, synced commit, back to back" us none 0 0 \
		"$l" "${fl[@]}"
	[ ${#flp[@]} -gt 0 ] &&
		row "  LMDB's floor, one commit every 4 ms (no record can commit faster)" us none \
		0 0 "$l" "${flp[@]}"
	row "latency p50, send -> cloud ack committed" ms le 1.5 2 "$l" "${a50[@]}"
	row "latency p99, send -> cloud ack committed" ms none 0 2 "$l" "${a99[@]}"
	row "latency max, send -> cloud ack committed" ms none 0 2 "$l" "${amax[@]}"
	row "latency p50, send -> OK read (controlled, 100/s, 20 scales)" ms le 0.6 2 "$l" \
		"${o50[@]}"
	row "latency p99, send -> OK read" ms none 0 2 "$l" "${o99[@]}"
	if [ -n "$irq" ]; then
		row "  [cpus] ingest, store = $irq (the disk's interrupts): send -> OK read p50" \
			ms none 0 2 "$l" "${po50[@]}"
		row "  [cpus] ingest, store = $irq: send -> record committed p50" ms none 0 2 \
			"$l" "${p50[@]}"
		cpu_wake_possible &&
			row "  [cpus] as above on a tuned machine: send -> OK read p50" ms none \
			0 2 "$l" "${pqo50[@]}"
	else
		na_row "  [cpus] on the disk's interrupt CPU" "-" \
			"no CPU found for the disk in /proc/interrupts"
	fi
	if cpu_wake_possible; then
		row "  tuned machine (CPU wake-up latency 0): send -> record committed p50" ms \
			none 0 2 "$l" "${q50[@]}"
		row "  tuned machine: send -> OK read p50" ms none 0 2 "$l" "${qo50[@]}"
		row "  tuned machine: fdatasync p50, one every 4 ms" us none 0 0 "$l" "${qfsp[@]}"
		row "  tuned machine: LMDB's floor, one commit every 4 ms" us none 0 0 "$l" \
			"${qflp[@]}"
	else
		na_row "  tuned machine (CPU wake-up latency 0)" "-" \
			"needs root and /dev/cpu_dma_latency"
	fi
	if have_worker web; then
		row "  ack committed p50 with /metrics scraped every second" ms le 1.5 2 "$l" \
			"${w50[@]}"
		row "  ack committed p99 with /metrics scraped every second" ms none 0 2 "$l" \
			"${w99[@]}"
	else
		na_row "  latency with /metrics scraped every second" "≤ 1.5 ms" \
			"worker missing: web"
	fi
}

# fig_drain [rest]: the backlog over the WebSocket (goal 50,000 events/s), or
# over REST (XPORT=rest; goal 20,000 events/s); the backlog is written once
# and kept for both (DRAIN_TPL)
DRAIN_TPL=
fig_drain() {
	local miss v=() loads=() reg=() cpu=() i out t_reg t_done t0 tpl=$W/backlog
	local via=${1:-} goal=50000 title
	[ -n "$via" ] && goal=20000
	title="backlog drain${via:+ over REST} ($(fmt $DRAIN_N 0) events, from registration)"
	miss=$(need store cloud)
	if [ -n "$miss" ]; then na_row "$title" "≥ $(fmt $goal 0) events/s" \
		"worker missing: $miss"; return; fi
	t0=$(now_ns)
	mkdir -p "$tpl"
	if [ -z "$DRAIN_TPL" ] && ! "$B/bench/bench_fill" "$tpl/data" "$DRAIN_N" 50 \
		"$MAP_BYTES" > "$tpl/fill.log" 2>&1; then
		log "bench_fill failed: $(tail -n 3 "$tpl/fill.log")"
		na_row "$title" "≥ $(fmt $goal 0) events/s" "bench_fill failed"
		return
	fi
	[ -z "$DRAIN_TPL" ] && log "backlog of $DRAIN_N offline events written in" \
	    "$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
	DRAIN_TPL=$tpl
	for i in $(seq 1 "$RUNS"); do
		loads+=("$(loadavg)")
		if ! XPORT=${via:-websocket} EARLY_WATCH=$W/drain$via$i.reg PREFILL=$tpl/data \
			edge_up "drain$via$i"; then
			log "drain$via run $i: edge did not start"; edge_down; continue
		fi
		out=$("${RUN[@]}" "$B/bench/bench_watch" --events "$DRAIN_N" --pending0 \
		    --since-ns "$DSTART_NS" \
		    --rss "$(edge_pids)" --cpu "$(edge_cpu)" --timeout $((DRAIN_N / 5000 + 60)) \
		    "$D/data") || true
		# the workers were born with the daemon: their whole CPU time is the drain's
		local edge_cpu_s=0 p
		for p in $SUPPID $INGPID $STOPID $CLDPID; do
			edge_cpu_s=$(awk -v a="$edge_cpu_s" -v t="$(getconf CLK_TCK)" \
			    '{ print a + ($14 + $15) / t }' "/proc/$p/stat" 2>/dev/null ||
			    echo "$edge_cpu_s")
		done
		wait "$EWPID" 2>/dev/null || true
		t_reg=$(kv "$(cat "$W/drain$via$i.reg" 2>/dev/null)" registered_s)
		edge_down
		log "drain$via run $i: registered_s=$t_reg edge_cpu_s=$edge_cpu_s $out"
		t_done=$(kv "$out" done_s)
		if awk -v a="${t_reg:--1}" -v b="$t_done" 'BEGIN { exit !(a >= 0 && b > a) }'; then
			v+=("$(awk -v n="$DRAIN_N" -v a="$t_reg" -v b="$t_done" \
			    'BEGIN { print n / (b - a) }')")
			reg+=("$t_reg")
			cpu+=("$(awk -v c="$edge_cpu_s" -v n="$DRAIN_N" \
			    'BEGIN { print c / n * 1e6 }')")
		fi
		[ -z "$via" ] && DRAIN_CPU=$out
	done
	[ -n "$via" ] && rm -rf "$tpl"     # the REST figure comes last
	row "$title" "events/s" ge "$goal" 0 "$(IFS=/; echo "${loads[*]}")" "${v[@]}"
	[ ${#reg[@]} -gt 0 ] &&
		row "  (daemon start -> registered at the cloud)" s none 0 2 "" "${reg[@]}"
	[ ${#cpu[@]} -gt 0 ] &&
		row "  edge CPU per drained event (4 processes, start-up included)" us none 0 1 "" \
		"${cpu[@]}"
	return 0
}

fig_memory() {
	local idle=() loads=() i simpid
	for i in $(seq 1 "$RUNS"); do
		edge_up "mem$i" || { log "memory run $i: edge did not start"; continue; }
		loads+=("$(loadavg)")
		# 50 registered scales, heartbeats on, first record due in ~3 h
		"${RUN[@]}" "$B/dp401-sim" -n 50 --rate 0.0001 --records 0 --hb 30 \
			"127.0.0.1:$SP" > "$D/sim.log" 2>&1 &
		simpid=$!
		PIDS+=("$simpid")
		if have_worker ingest; then
			wait_for 20 "50 scales connected" ingest_conns_ge 50 || true
		else
			wait_for 10 "50 scales connected" grep -q "all 50 connected" "$D/sim.log" ||
				true
		fi
		sleep 0.5    # let every process settle after the connection burst
		idle+=("$(awk -v k="$(rss_sum_kb)" 'BEGIN { print k / 1024 }')")
		stop_pid "$simpid"
		edge_down
	done
	local miss; miss=$(need ingest store cloud)
	row "memory, idle (50 scales connected; RssAnon of 5 processes)${miss:+ [missing: $miss]}" \
		MiB le 16 1 "$(IFS=/; echo "${loads[*]}")" "${idle[@]}"
	if [ ${#LOAD_RSS_KB[@]} -gt 0 ]; then
		local mib=()
		for k in "${LOAD_RSS_KB[@]}"; do \
			mib+=("$(awk -v k="$k" 'BEGIN { print k / 1024 }')"); done
		row "memory, peak under load (ingest runs)" MiB le 16 1 "" "${mib[@]}"
	else
		na_row "memory, peak under load" "≤ 16 MiB" "needs the ingest figure"
	fi
}

# ready_ns WORKER PID: when the supervisor logged "WORKER ready (pid PID)"
ready_ns() {
	local l
	l=$(grep -a "$1 ready (pid $2)" "$D/daemon.log" | tail -n 1 | cut -d' ' -f1)
	[ -n "$l" ] || return 1
	date -u -d "$(date -u +%F) $l" +%s%N
}

fig_recovery() {
	local miss w i old new t0 out acked rdy loads=()
	declare -A rec=()
	miss=$(need ingest store cloud)
	if [ -n "$miss" ]; then
		for w in ingest store cloud; do na_row "recovery after kill -9 of $w" "≤ 1 s" \
			"worker missing: $miss"; done
		return
	fi
	# info: the supervisor's "WORKER ready (pid N)" lines time the restarts
	LOGLEVEL=info edge_up recovery "" ||
		{ for w in ingest store cloud; do na_row "recovery after kill -9 of $w" "≤ 1 s" \
		"edge did not start"; done; return; }
	for i in $(seq 1 "$RUNS"); do
		loads+=("$(loadavg)")
		for w in ingest store cloud; do
			# a worker that dies within 1 s of READY is restarted with backoff: stay
			# outside that window
			wait_for 10 "$w up for 2 s" worker_up_2s "$w" || true
			old=$(worker_pid "$w")
			t0=$(now_ns)
			kill -KILL "$old"
			out=$("${RUN[@]}" "$B/bench/bench_probe" --once --scales 1 --first-id 99 \
			    --timeout 20 "127.0.0.1:$SP" "$D/data" 2>>"$D/probe.err") || true
			acked=$(kv "$out" acked_real_ns)
			wait_for 10 "$w running again" worker_replaced "$w" "$old" || true
			new=$(worker_pid "$w")
			rdy=$(ready_ns "$w" "$new" || now_ns)
			log "recovery $w run $i: pid $old -> $new; $out"
			if [ -n "$acked" ]; then
				rec[$w]+=" $(awk -v a="$acked" -v r="$rdy" -v t="$t0" \
				    'BEGIN { m = a > r ? a : r; print (m - t) / 1e6 }')"
			fi
		done
	done
	edge_down
	local l; l=$(IFS=/; echo "${loads[*]}")
	for w in ingest store cloud; do
		# shellcheck disable=SC2086
		row "recovery after kill -9 of $w (ready + next event acked)" ms le 1000 0 "$l" \
			${rec[$w]:-}
	done
}

fig_connections() {
	local miss v=() held=() loads=() i out
	miss=$(need ingest store cloud)
	if [ -n "$miss" ]; then na_row "connections held idle while 50 scales send" "≥ 5,000" \
		"worker missing: $miss"; return; fi
	for i in $(seq 1 "$RUNS"); do
		ingest_once "conn$i" "$IDLE_N" "$CONN_PER" ||
			{ log "connections run $i failed"; continue; }
		out=$ING_OUT
		loads+=("$RUN_LOAD")
		log "connections run $i: held=$HELD $out"
		local done_s; done_s=$(kv "$out" done_s)
		awk -v d="$done_s" 'BEGIN { exit !(d > 0) }' &&
			v+=("$(awk -v n="$(kv "$out" n)" -v d="$done_s" 'BEGIN { print n / d }')")
		[ -n "$HELD" ] && held+=("$HELD")
	done
	local l; l=$(IFS=/; echo "${loads[*]}")
	# quick mode opens fewer and checks that many
	row "connections held idle (after the run below)" conns ge \
		"$( [ "$MODE" = quick ] && echo "$IDLE_N" || echo 5000)" 0 "$l" "${held[@]}"
	row "  ingest throughput with them held" "records/s" ge 25000 0 "$l" "${v[@]}"
}

# ------------------------------------------------------------ main
for t in carnitrackd carnitrackctl carnitrack-cloudsim dp401-sim bench/bench_probe \
	bench/bench_watch bench/bench_fsync bench/bench_fill bench/bench_lmdb_floor; do
	[ -x "$B/$t" ] ||
		{ echo "bench: $B/$t missing (make all and the bench helpers first)" >&2; exit 1; }
done
START=$SECONDS
CORES=$(nproc)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
KERNEL=$(uname -r)
FS=$(df -T "$W" | awk 'NR == 2 { print $2 " on " $1 }')
COMMIT=${BENCH_COMMIT:-$(git -C "$CT_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "mode $MODE, $RUNS runs per figure, work dir $W"
log "workers in this build: $(for w in ingest store cloud web; do
	have_worker $w && printf '%s ' $w || printf '(%s missing) ' $w; done)"

bench_fsync
LOAD_RSS_KB=(); ING_CPU=(); LAT_LAST=; DRAIN_CPU=; CTL_COMMITS=(); RSS_SPLIT=()
LAT_SCHED=(); OK_LAST=; FSYNC_LAT=
fig_ingest
fig_controlled
fig_latency
fig_drain
fig_ingest rest
fig_drain rest
fig_memory
fig_recovery
fig_connections

# CPU shares during a run: CPU seconds / wall seconds (100% = one core), and
# in brackets the share of the run the process sat runnable waiting for a CPU
cpu_line() {
	local o=$1 s="" k c q
	for k in sup ingest store cloud cloudsim; do
		c=$(kv "$o" "cpu_$k"); q=$(kv "$o" "runq_$k")
		[ -n "$c" ] && [ "${c#-}" = "$c" ] || continue
		s+="$k $(awk -v c="$c" 'BEGIN { printf "%.0f%%", c * 100 }')"
		[ -n "$q" ] && [ "${q#-}" = "$q" ] &&
			s+=" ($(awk -v c="$q" 'BEGIN { printf "%.0f%%", c * 100 }') waiting)"
		s+=", "
	done
	echo "${s%, }"
}

TABLE=$(
	echo "| figure | median | min | max | goal | met | load avg (1 min) per run |"
	echo "|---|---:|---:|---:|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
)
{
	echo
	echo "CarniTrack Edge benchmark ($MODE, $RUNS runs per figure, median with min and max)," \
	    "commit $COMMIT, $(date -u '+%F %H:%M UTC')"
	echo
	echo "- Machine: $CORES cores ($CPU), $MEM RAM, Linux $KERNEL; data dir on $FS"
	echo "- Storage: write+fdatasync of 4 KiB in the data dir:" \
	    "median $(fmt "$FSYNC_MED" 0) us (min $(fmt "$FSYNC_MIN" 0)," \
	    "max $(fmt "$FSYNC_MAX" 0), 200 samples)"
	echo "- Load average at start: $LOAD0 (other work on this machine shares the cores)"
	[ -n "${BENCH_NICE:-}" ] && echo "- Diagnostic run: every benchmark process at nice" \
	    "$BENCH_NICE (BENCH_NICE), ahead of the machine's other work"
	echo
	echo "$TABLE"
	echo
	if [ ${#ING_CPU[@]} -gt 0 ]; then
		echo "CPU share (CPU s / wall s; 100% = one core; in brackets: share of the run" \
		    "spent runnable, waiting for a CPU) during each ingest run:"
		echo
		for o in "${ING_CPU[@]}"; do echo "- $(cpu_line "$o")"; done
		echo
	fi
	[ ${#RSS_SPLIT[@]} -gt 0 ] && echo "- RssAnon at the peak of each ingest run," \
	    "supervisor/ingest/store/cloud/web (MiB): ${RSS_SPLIT[*]}"
	[ -n "$DRAIN_CPU" ] && echo "- CPU share during the last drain run (from all workers" \
	    "running to the last ack): $(cpu_line "$DRAIN_CPU")"
	echo "- The reference cloud is 'cloudsim' above: it must stay well below one core for the" \
	    "edge to be what is measured."
	[ -n "$LAT_LAST" ] && echo "- Last latency run: \`$LAT_LAST\`"
	[ -n "$OK_LAST" ] && echo "- Last OK latency run: \`$OK_LAST\`"
	if [ ${#LAT_SCHED[@]} -gt 0 ]; then
		echo "- Waiting for a CPU (runnable, /proc/PID/schedstat) and times scheduled, per"
		echo "  record, during each latency run:"
		for o in "${LAT_SCHED[@]}"; do echo "  - $o"; done
	fi
	if [ ${#STAGEN[@]} -gt 0 ]; then
		echo
		echo "Where a record's time goes (latency and OK runs, stamped by every process"
		echo "with CARNITRACKD_TRACE and joined by bench_stages; per stage the median over"
		echo "the runs of its p50 and p99; stages are not additive at p99):"
		echo
		echo "| stage | p50 | p99 | records |"
		echo "|---|---:|---:|---:|"
		for st in $STAGE_ORDER; do
			[ -n "${STAGEN[$st]:-}" ] || continue
			# shellcheck disable=SC2086
			read -r m50 _ < <(stats ${STAGE50[$st]})
			# shellcheck disable=SC2086
			read -r m99 _ < <(stats ${STAGE99[$st]})
			echo "| ${STAGE_TEXT[$st]} | $(fmt "$m50" 0) us | $(fmt "$m99" 0) us |" \
			    "$(fmt "${STAGEN[$st]}" 0) |"
		done
	fi
	echo
	echo "- Total time $((SECONDS - START)) s."
} | tee "$W/table.txt"

if [ -n "$RESULTS" ]; then
	# what follows the marker in the old file (the analysis, written by hand)
	# is kept under the new table
	KEEP="<!-- bench.sh keeps everything below this line -->"
	kept=
	if [ -f "$RESULTS" ] && grep -qF "$KEEP" "$RESULTS"; then
		kept=$(sed -n "/^$KEEP\$/,\$p" "$RESULTS")
	fi
	cat > "$RESULTS" <<EOF
# Benchmark results

Produced by \`make bench\` (bench/bench.sh); how each figure is measured is in
bench/README.md. Every figure is the median of $RUNS runs with min and max.
$(cat "$W/table.txt")

${kept:-$KEEP}
EOF
	log "written to $RESULTS"
fi
