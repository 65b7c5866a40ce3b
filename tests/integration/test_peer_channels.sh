#!/usr/bin/env bash
# The workers' direct channels across restarts (README, "While a worker
# restarts"; messages.def, HELD). Under controlled transfer, kill -9 of the
# store and then of the cloud worker lose nothing: every record that got its
# OK is accepted by the cloud. A session_started the cloud sends while the
# store is down is held by the cloud worker (its status: frames_held) and
# stored once the store is back.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

NSCALES=$(scaled 10)
NREC=$(scaled 150)
RATE=$(scaled 40)     # about 4 s of load
cs_start
# SCALE-90 never connects: configured, so the store keeps its sessions
e2e_conf "[scale SCALE-90]
name = held session"
ct_start 10
wait_for 10 "edge registered with the cloud" cloud_link_up
wait_for 10 "store sees the link up" link_up

served() {   # served NAME SECONDS: running for at least that long
	[ "$(worker_field "$1" state)" = running ] && [ "$(worker_field "$1" uptime_s)" -ge "$2" ]
}
back_from() {   # back_from NAME OLDPID
	local p; p=$(worker_field "$1" pid)
	[ "$p" != "$2" ] && [ "$p" != null ] && [ "$(worker_field "$1" state)" = running ]
}
oks() { cat "$T/load.ok" 2>/dev/null | wc -l; }
oks_ge() { [ "$(oks)" -ge "$1" ]; }
kill_worker() {   # kill_worker NAME: kill -9, wait until it runs again
	local pid; pid=$(worker_field "$1" pid)
	kill -9 "$pid"
	wait_for 10 "$1 back after kill -9 of $pid" back_from "$1" "$pid"
}

sim_start load --scales "$NSCALES" --records "$NREC" --rate "$RATE" --controlled --reconnect \
	--hb 5 --timeout 60
wait_for 10 "all scales connected" grep -q "all $NSCALES connected" "$T/load.log"
for w in store cloud; do
	wait_for 10 "$NSCALES OKs more" oks_ge $(($(oks) + NSCALES))
	wait_for 10 "$w served a second" served "$w" 1
	kill_worker "$w"
	# OKs flow again: ingest re-sent what the store had not confirmed
	wait_for 10 "OKs again after the $w came back" oks_ge $(($(oks) + NSCALES))
done
sim_wait "$SIM_PID" 60 "simulator exited"
tail -n 1 "$T/load.log"
[ "$SIM_RC" = 0 ] || fail "dp401-sim exit $SIM_RC: not every record got its OK"
resent=$(sed -n 's/.* resent=\([0-9]*\).*/\1/p' "$T/load.log" | tail -n 1)
wait_for 30 "backlog drained (pending 0)" pending_zero
e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --records "$NREC" \
	--expect-all-scales "$NSCALES" --max-extra "${resent:-0}" || fail "delivery check"

# Hold: keep the store down for a moment (killed again within a second of
# its start it waits 1 s, the restart backoff) and start a session then.
wait_for 10 "store served a second" served store 1
kill_worker store
kill -9 "$(worker_field store pid)"
wait_for 5 "store in backoff" bash -c "[ \"\$(\"$B/carnitrackctl\" -c \"$CONF\" status --json |
	jq -r '.workers[] | select(.name==\"store\") | .state')\" = backoff ]"
cs "start SCALE-90 T-90" | grep -q '^ok' || fail "cloudsim: start SCALE-90"
held_ge1() { [ "$(worker_status cloud frames_held)" -ge 1 ]; }
wait_for 5 "the cloud worker holds the session for the store" held_ge1
wait_for 10 "store running again" served store 0
sess_stored() { ct sessions 2>/dev/null | grep -q "SCALE-90.*T-90"; }
wait_for 10 "the held session is stored" sess_stored
grep -q "store: delivered [0-9]* frames held while it was down" "$T/daemon.log" ||
	fail "no hold delivered to the store in the log"
[ "$(worker_status cloud frames_held)" = 0 ] || fail "frames still held after the store is back"
[ "$(worker_status cloud frames_dropped)" = 0 ] || fail "the cloud worker dropped frames"
no_crashes 4
echo "ok: store and cloud killed under controlled load, nothing lost ($resent re-sent);" \
	"a session sent while the store was down held and stored"
