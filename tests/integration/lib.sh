# Shared helpers for integration tests. Source it first thing:
#   . "$CT_TOP/tests/integration/lib.sh"
# Gives: $T (temp dir, removed on exit), $B (build dir), free_port, ct_write_conf
# ($SCALE_PORT, $HTTP_PORT),
# ct_start / ct_stop, ct (carnitrackctl with the test config), wait_for, jq_py,
# bg (start a background process that is killed on exit), fail.
set -euo pipefail
CT_TOP=${CT_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
B=${BUILD:-build}
case "$B" in /*) ;; *) B="$CT_TOP/$B" ;; esac
T=$(mktemp -d /tmp/ct-test.XXXXXX)
CONF=$T/edge.conf
CT_PIDS=()
# Sanitizer builds: leaks at exit of killed workers are not findings here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ct_cleanup() {
	local rc=$?
	for p in "${CT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	if [ -f "$T/daemon.pid" ]; then kill -TERM "$(cat "$T/daemon.pid")" 2>/dev/null || true; fi
	# Give them a moment to leave, then make sure.
	for _ in $(seq 1 50); do
		local alive=0
		for p in "${CT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		pgrep -f "carnitrackd.*$T" >/dev/null && alive=1
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${CT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	pkill -KILL -f "carnitrackd.*$T" 2>/dev/null || true
	if [ $rc -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon.log (last 60 lines) ---" >&2
		tail -n 60 "$T/daemon.log" >&2
	fi
	if [ $rc -ne 0 ] &&
		grep -q "ERROR: AddressSanitizer\|runtime error:" "$T"/*.log 2>/dev/null; then
		grep -h -A20 "ERROR: AddressSanitizer\|runtime error:" "$T"/*.log >&2 || true
	fi
	# this test's port reservations (free_port)
	if [ -f "$T/ports" ]; then
		while read -r p; do
			rm -f "/tmp/ct-test-ports-$(id -u)/$p/owner" 2>/dev/null
			rmdir "/tmp/ct-test-ports-$(id -u)/$p" 2>/dev/null
		done < "$T/ports" || true
	fi
	rm -rf "$T"
	exit $rc
}
trap ct_cleanup EXIT

# Debian's python3, not a pyenv shim: start-up time matters in polling loops.
PY=/usr/bin/python3
# A port below the kernel's ephemeral range (32768-60999), so the outgoing
# connections of tests running in parallel cannot take it between this pick
# and the daemon's bind; random, and checked free, so parallel picks differ.
free_port() {
	$PY - "$T" <<'PYEOF'
import os, random, socket, sys
# A pick is also reserved (a directory named for the port, holding the
# test's temp dir) until the test ends: two picks that both found a port
# free before either bound it (dialects of one test started together,
# tests run with -j2) must not get the same one. A reservation whose test
# dir is gone is stale (that test was killed) and may be taken.
T = sys.argv[1]
R = "/tmp/ct-test-ports-%d" % os.getuid()
os.makedirs(R, exist_ok=True)
def reserve(p):
    d = os.path.join(R, str(p))
    try:
        os.mkdir(d)
    except FileExistsError:
        try:
            owner = open(os.path.join(d, "owner")).read()
        except OSError:
            return False          # being written by its taker right now
        if os.path.isdir(owner):
            return False
        try:
            os.unlink(os.path.join(d, "owner")); os.rmdir(d); os.mkdir(d)
        except OSError:
            return False
    with open(os.path.join(d, "owner.tmp"), "w") as f:
        f.write(T)
    os.rename(os.path.join(d, "owner.tmp"), os.path.join(d, "owner"))
    with open(os.path.join(T, "ports"), "a") as f:
        f.write("%d\n" % p)
    return True
def release(p):
    d = os.path.join(R, str(p))
    for n in ("owner", "owner.tmp"):
        try: os.unlink(os.path.join(d, n))
        except OSError: pass
    try: os.rmdir(d)
    except OSError: pass
for _ in range(200):
    p = random.randrange(20000, 32000)
    if not reserve(p):
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        release(p)
        continue
    finally:
        s.close()
PYEOF
}

# wait_for SECONDS DESCRIPTION COMMAND... : polls COMMAND every 0.05 s.
wait_for() {
	local t=$1 what=$2; shift 2
	local end=$((SECONDS + t))
	local start_ns; start_ns=$(date +%s%N)
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && fail "timed out after ${t}s waiting for: $what"
		sleep 0.05
	done
	echo "ok: $what ($(( ($(date +%s%N) - start_ns) / 1000000 )) ms)"
}

# ct_write_conf [extra ini text]: a config on loopback under $T, the web
# worker on $HTTP_PORT; the extra text continues [scales].
SCALE_PORT=${SCALE_PORT:-$(free_port)}
HTTP_PORT=${HTTP_PORT:-$(free_port)}
ct_write_conf() {
	cat > "$CONF" <<EOC
[edge]
site_id = SITE01
site_name = Test Site
data_dir = $T/data
run_dir = $T/run
user =
log_level = ${CT_LOG_LEVEL:-info}
[http]
listen = 127.0.0.1:$HTTP_PORT
[scales]
listen = 127.0.0.1:$SCALE_PORT
EOC
	if [ $# -gt 0 ]; then printf '%s\n' "$1" >> "$CONF"; fi
}

ct() { "$B/carnitrackctl" -c "$CONF" "$@"; }

# jq over `status --json`: sj FILTER (prints raw values; null when absent)
sj() {
	{ ct status --json 2>/dev/null || true; } | jq -r "$1"
}
worker_field() {   # worker_field NAME FIELD
	sj ".workers[] | select(.name==\"$1\") | .$2"
}
worker_status() {  # worker_status NAME PATH  (inside the worker's own figures)
	sj ".workers[] | select(.name==\"$1\") | .status.$2"
}
# ingest_connections OP N: ingest's live connection count OP ("=", "-ge") N.
ingest_connections() {
	local n; n=$(worker_status ingest connections)
	[ "$n" != null ] && [ "$n" "$1" "$2" ]
}
# every worker the config wants runs (one it turns off shows "disabled")
all_running() {
	[ "$(sj '[.workers[] | .state == "running" or .state == "disabled"] | all')" = true ]
}

ct_start() {
	[ -f "$CONF" ] || ct_write_conf
	"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
	echo $! > "$T/daemon.pid"
	wait_for "${1:-10}" "all workers running" all_running
}

ct_stop() {
	local pid; pid=$(cat "$T/daemon.pid")
	kill -TERM "$pid"
	wait_for 10 "carnitrackd exited" bash -c "! kill -0 $pid 2>/dev/null"
	wait "$pid" 2>/dev/null || true
	rm -f "$T/daemon.pid"
}

bg() {   # bg LOGNAME COMMAND...: run in the background, killed on exit
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	CT_PIDS+=($!)
	echo $!
}
