# Helpers for the cloud link's integration tests (tests/integration/test_cloud_*.sh),
# on top of tests/integration/lib.sh. Source after lib.sh.
#   cloud_conf [extra [cloud] lines]   config with the cloud at CLOUD_PORT
#   sim_cloud [cloudsim options]       start carnitrack-cloudsim (events in $T/events.log)
#   simctl COMMAND                     one command on its control port, prints the answer
#   simstat FIELD                      one field of `stats`
#   scales NAME [dp401-sim options]    run dp401-sim in the background (SCALES_PID)
#   accepted_ids                       unique localEventIds the cloud accepted (all runs)
#   no_restarts [N]                    workers restarted N (0) times, no sanitizer report
# CLOUD_TRANSPORT=rest runs the same against carnitrack-cloudsim --rest with
# [cloud] transport = rest (polls every second: CLOUD_INTERVALS).

CLOUD_PORT=${CLOUD_PORT:-$(free_port)}
CLOUD_CTL=${CLOUD_CTL:-$(free_port)}
CLOUD_TRANSPORT=${CLOUD_TRANSPORT:-websocket}
SIM_CLOUD_PID=

cloud_url() {
	if [ "$CLOUD_TRANSPORT" = rest ]; then
		printf 'transport = rest\nurl = http://127.0.0.1:%s/api/v1' "$CLOUD_PORT"
	else
		printf 'url = ws://127.0.0.1:%s/edge' "$CLOUD_PORT"
	fi
}

cloud_conf() {
	ct_write_conf "[cloud]
$(cloud_url)
offline_grace = ${CLOUD_GRACE:-1s}
ack_timeout = ${CLOUD_ACK_TIMEOUT:-5s}
ping_interval = ${CLOUD_PING:-2s}
${1:-}"
}

sim_cloud_up() { (exec 6<>/dev/tcp/127.0.0.1/"$CLOUD_CTL") 2>/dev/null; }

sim_cloud() {
	local rest=()
	[ "$CLOUD_TRANSPORT" = rest ] &&
		rest=(--rest --intervals "${CLOUD_INTERVALS:-1000,1000,1000,2000}")
	"$B/carnitrack-cloudsim" --listen "127.0.0.1:$CLOUD_PORT" --control "$CLOUD_CTL" --quiet \
		--event-log "$T/events.log" "${rest[@]}" "$@" >>"$T/cloudsim.log" 2>&1 &
	SIM_CLOUD_PID=$!
	CT_PIDS+=("$SIM_CLOUD_PID")
	wait_for 10 "cloudsim control port" sim_cloud_up
}

# simctl COMMAND, or simctl -f FILE for a command too long for argv
simctl() {
	$PY -I - "$CLOUD_CTL" "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
cmd = open(sys.argv[3]).read().rstrip("\n") if sys.argv[2] == "-f" else sys.argv[2]
s.sendall(cmd.encode() + b"\n")
multi = cmd.split()[0] in ("batches", "sessions", "help")
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    done = buf.split(b"\n")[:-1]
    if done and (not multi or any(l.startswith(b"end ") for l in done)):
        break
sys.stdout.write(buf.decode(errors="replace"))
PY
}

simstat() { simctl stats | $PY -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

SCALES_PID=
scales() {
	local name=$1; shift
	"$B/dp401-sim" --ok-log "$T/$name.ok" "$@" "127.0.0.1:$SCALE_PORT" >"$T/$name.log" 2>&1 &
	SCALES_PID=$!
	CT_PIDS+=("$SCALES_PID")
}
scales_done() { ! kill -0 "$SCALES_PID" 2>/dev/null; }

accepted_ids() { awk '$2 == "accepted" { print $1 }' "$T/events.log" | sort -u | wc -l; }
cloud_status() { worker_status cloud "$1"; }
store_pending() { worker_status store pending; }
pending_is() { [ "$(store_pending)" = "$1" ]; }
link_is() { [ "$(cloud_status link_state)" = "$1" ]; }
simstat_is() { [ "$(simstat "$1")" = "$2" ]; }
simstat_ge() { [ "$(simstat "$1")" -ge "$2" ]; }
cloud_status_not() { [ "$(cloud_status "$1")" != "$2" ]; }
no_restarts() {
	local r
	if grep -E "ERROR: AddressSanitizer|runtime error:" "$T"/*.log >/dev/null 2>&1; then
		fail "sanitizer report in the logs"
	fi
	r=$(sj '[.workers[] | .restarts] | add')
	[ "$r" = "${1:-0}" ] || fail "workers restarted $r times (expected ${1:-0})"
}
