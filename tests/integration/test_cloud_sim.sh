#!/usr/bin/env bash
# The reference cloud on its own, driven by a python3-websockets edge
# (tests/cloud_py/sim_probe.py): registration, sessions on connect, acks,
# duplicates, PLU rejection, batch records, token refusal, control port,
# stop/listen, and the exit summary.
set -euo pipefail
BUILD=${BUILD:-build}; CT_TOP=${CT_TOP:-$PWD}
SIM=$BUILD/carnitrack-cloudsim
PY=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- cloudsim output"; tail -n 40 "$tmp/sim.out" || true; exit 1; }
# Below the ephemeral range, so parallel tests' outgoing connections cannot take it.
freeport() { $PY -c 'import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); print(p); break
    except OSError: continue
    finally: s.close()'; }
wait_for() {   # deadline_s, description, command...
	local end=$((SECONDS + $1)) what=$2; shift 2
	until "$@"; do [ $SECONDS -lt $end ] || fail "timed out waiting for $what"; sleep 0.05; done
}
# sends one command on the control port, prints the answer lines up to
# "ok"/"error"/"end"/JSON
ctl() {
	exec 5<>/dev/tcp/127.0.0.1/"$CTL"
	printf '%s\n' "$1" >&5
	local line
	while IFS= read -r -t 5 line <&5; do
		printf '%s\n' "$line"
		case $line in ok*|error*|end*|'{"accepted"'*) break;; esac
	done
	exec 5<&-
}
port_open() { (exec 6<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; }

PORT=$(freeport); CTL=$(freeport)
"$SIM" --port "$PORT" --control "$CTL" --require-token s3cret --reject-plu 00013,00099 \
	--event-log "$tmp/events.log" >"$tmp/sim.out" 2>&1 &
pids+=($!)
wait_for 10 "cloudsim to listen" port_open
ctl "start SCALE-01 A-7" | grep -q '^ok started SCALE-01' || fail "start command"

$PY "$CT_TOP/tests/cloud_py/sim_probe.py" "ws://127.0.0.1:$PORT/edge" s3cret >"$tmp/probe.out" \
	2>&1 \
	|| { cat "$tmp/probe.out"; fail "probe"; }

stats=$(ctl stats)
echo "$stats"
echo "$stats" | $PY -c '
import json, sys
s = json.load(sys.stdin)
want = {"accepted": 3, "duplicates": 1, "rejected": 1, "batches": 1, "batch_events": 2,
        "batch_events_received": 2, "unauthorized": 1, "registers": 1}
bad = {k: (s[k], v) for k, v in want.items() if s[k] != v}
sys.exit("stats off (got, want): %r" % bad if bad else 0)' || fail "stats"
ctl batches > "$tmp/batches.out"   # not piped: grep -q would SIGPIPE ctl under pipefail
grep -q '"eventCount":2,"totalWeightGrams":3000,"received":2,"receivedWeightGrams":3000' \
	"$tmp/batches.out" \
	|| fail "batch record"
[ "$(grep -c ' accepted ' "$tmp/events.log")" -eq 3 ] || fail "event log"

# stop: the port is closed; listen: it is back
ctl stop | grep -q '^ok stopped' || fail "stop"
! port_open || fail "still accepting after stop"
ctl listen | grep -q '^ok listening' || fail "listen"
wait_for 5 "listening again" port_open
ctl "end SCALE-01" | grep -q '^ok ended' || fail "end"
ctl "end SCALE-01" | grep -q '^error: no session' || fail "end twice"

ctl quit >/dev/null || true
wait "${pids[0]}" || fail "cloudsim exit status"
pids=()
grep -q '^cloudsim: accepted=3 duplicates=1 rejected=1 batches=1 batch_events=2$' "$tmp/sim.out" \
	|| fail "summary line"
echo "cloudsim ok"
