# Helpers for the end-to-end fault suite (tests/integration/test_e2e_*.sh),
# on top of lib.sh. Source after lib.sh:
#   . "$CT_TOP/tests/integration/lib.sh"; . "$CT_TOP/tests/integration/e2e_lib.sh"
# Gives: cs_start / cs (reference cloud and its control port), e2e_conf (a
# config with the cloud), sim_start (dp401-sim in the background), e2e_check
# (the python checker), crashes_none (no worker died of anything but our
# kill -9), E2E_SCALE (scale counts reduced under sanitizer builds).

E2E_CHECK="$CT_TOP/tests/integration/e2e_check.py"

# Sanitizer builds run 2-5x slower: tests scale their load by E2E_SCALE
# (percent; 100 normally, 40 when BUILD ends in asan) unless it is given.
case "$B" in
*asan) E2E_SCALE=${E2E_SCALE:-40} ;;
*) E2E_SCALE=${E2E_SCALE:-100} ;;
esac
scaled() {   # scaled N: N * E2E_SCALE / 100, at least 1
	local n=$(($1 * E2E_SCALE / 100))
	[ "$n" -ge 1 ] || n=1
	echo "$n"
}

# Every test finishes (passes or fails) within E2E_BUDGET seconds: long
# waits take $(left N), N capped by what is left of the budget.
E2E_BUDGET=${E2E_BUDGET:-115}
E2E_END=$((SECONDS + E2E_BUDGET))
left() {
	local l=$((E2E_END - SECONDS))
	[ "$l" -ge 1 ] || l=1
	[ "$l" -lt "$1" ] && echo "$l" || echo "$1"
}

CLOUD_PORT=${CLOUD_PORT:-$(free_port)}
CLOUD_CTL=${CLOUD_CTL:-$(free_port)}
CS_PID=
# E2E_TRANSPORT=rest: the same suite over the REST API (cloudsim --rest,
# [cloud] transport = rest; sessions polled every E2E_INTERVALS).
E2E_TRANSPORT=${E2E_TRANSPORT:-websocket}

# cs_start [extra cloudsim options]: the reference cloud, event log in $T/events.log.
cs_start() {
	local rest=()
	[ "$E2E_TRANSPORT" = rest ] &&
		rest=(--rest --intervals "${E2E_INTERVALS:-5000,1000,2000,5000}")
	"$B/carnitrack-cloudsim" --listen "127.0.0.1:$CLOUD_PORT" --control "$CLOUD_CTL" --quiet \
		--event-log "$T/events.log" "${rest[@]}" "$@" >>"$T/cloudsim.log" 2>&1 &
	CS_PID=$!
	CT_PIDS+=("$CS_PID")
	wait_for 10 "cloudsim control port" cs_up
}
cs_up() { (exec 6<>/dev/tcp/127.0.0.1/"$CLOUD_CTL") 2>/dev/null; }

# cs COMMAND: one command on the cloud's control port; prints its answer
# (one line, or JSON lines up to "end ..." for batches/sessions).
cs() {
	$PY -I - "$CLOUD_CTL" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode() + b"\n")
multi = sys.argv[2].split()[0] in ("batches", "sessions", "help")
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    lines = buf.split(b"\n")
    done = [l for l in lines[:-1]]
    if multi and any(l.startswith(b"end ") for l in done):
        break
    if not multi and done:
        break
sys.stdout.write(buf.decode(errors="replace"))
PY
}
cs_stat() {   # cs_stat FIELD: one field of `stats`
	cs stats | jq -r ".$1"
}
# cloud_link_up [N]: WebSocket: the cloud saw the edge's Nth registration (one
# per link) and a link is open; REST (no link to count, and /register only
# when the edge has no identity): the edge registered once and its link is
# up.
cloud_link_up() {
	if [ "$E2E_TRANSPORT" = rest ]; then
		[ "$(cs_stat registers)" -ge 1 ] &&
			[ "$(worker_status cloud link_state)" = up ]
	else
		[ "$(cs_stat registers)" -ge "${1:-1}" ] && [ "$(cs_stat connections)" -ge 1 ]
	fi
}

# e2e_conf [extra ini]: loopback config with the cloud at CLOUD_PORT.
e2e_conf() {
	local url="url = ws://127.0.0.1:$CLOUD_PORT/edge"
	[ "$E2E_TRANSPORT" = rest ] &&
		url="transport = rest
url = http://127.0.0.1:$CLOUD_PORT/api/v1"
	ct_write_conf "max_per_ip = 100
[cloud]
$url
offline_grace = ${E2E_GRACE:-2s}
ack_timeout = ${E2E_ACK_TIMEOUT:-5s}
${1:-}"
}

# sim_start NAME [dp401-sim options]: scales against the edge, --ok-log $T/NAME.ok.
# Sets SIM_PID.
SIM_PID=
sim_start() {
	local name=$1; shift
	"$B/dp401-sim" --ok-log "$T/$name.ok" "$@" "127.0.0.1:$SCALE_PORT" >"$T/$name.log" 2>&1 &
	SIM_PID=$!
	CT_PIDS+=("$SIM_PID")
}
# sim_wait PID SECONDS WHAT: wait for a simulator to finish; fail on timeout.
# Returns its status in SIM_RC.
SIM_RC=
sim_wait() {
	local pid=$1 t=$2 what=$3
	wait_for "$t" "$what" bash -c "! kill -0 $pid 2>/dev/null"
	SIM_RC=0
	wait "$pid" 2>/dev/null || SIM_RC=$?
}

# poll_until SECONDS COMMAND...: like wait_for, but returns 1 on timeout
# instead of failing the test (for retrying a racy fault injection).
poll_until() {
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

e2e_check() { $PY -I "$E2E_CHECK" "$@"; }

pending_zero() { [ "$(worker_status store pending)" = 0 ]; }
link_up() { [ "$(worker_status store link)" = up ]; }

# No worker exit other than the SIGKILLs the test itself sent, and no
# sanitizer report: "the daemon stays up".
no_crashes() {
	if grep -E "ERROR: AddressSanitizer|runtime error:" "$T"/*.log >/dev/null 2>&1; then
		fail "sanitizer report in logs"
	fi
	local r
	r=$(sj '[.workers[] | .restarts] | add')
	if [ "$r" != "${1:-0}" ]; then
		ct status >&2 || true
		fail "workers restarted $r times (expected ${1:-0})"
	fi
}

# E2E_KEEP=DIR: keep the logs (daemon, cloudsim, simulators) there after the
# test, for a look at a failure lib.sh's 60-line tail does not explain.
e2e_exit() {
	local rc=$?
	if [ -n "${E2E_KEEP:-}" ]; then
		mkdir -p "$E2E_KEEP" && cp "$T"/*.log "$T"/*.ok "$E2E_KEEP"/ 2>/dev/null || true
	fi
	# errexit would end this trap at the "(exit $rc)" of a failed test and
	# skip the cleanup: switch it off, then hand ct_cleanup the status in $?.
	set +e
	(exit $rc)
	ct_cleanup
}
trap e2e_exit EXIT
