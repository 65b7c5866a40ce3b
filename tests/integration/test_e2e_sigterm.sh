#!/usr/bin/env bash
# The supervisor gets SIGTERM under load while the cloud holds back its acks
# (so there is a backlog), exits cleanly, and is started again on the same
# data: nothing a scale was told OK for is lost, the scales reconnect and
# finish, the backlog resumes and drains to 0 once the cloud acks again.
# Under a sanitizer build (BUILD=*asan) the load is scaled by E2E_SCALE.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

NSCALES=$(scaled 10)
NREC=$(scaled 300)
cs_start --auto-session
e2e_conf
ct_start 10
wait_for 15 "edge registered with the cloud" cloud_link_up
wait_for 10 "store sees the link up" link_up

cs "ack off" | grep -q '^ok ack off' || fail "cloudsim ack off"
sim_start load --scales "$NSCALES" --records "$NREC" --rate 20 --controlled --reconnect \
	--hb 2 --timeout 100
wait_for 10 "all scales connected" grep -q "all $NSCALES connected" "$T/load.log"
backlog_at_least() {
	local p
	p=$(worker_status store pending)
	[ "$p" != null ] && [ "$p" -ge "$1" ]
}
wait_for 30 "a backlog of $((NSCALES * 10)) unacknowledged events" backlog_at_least \
	$((NSCALES * 10))

pid=$(cat "$T/daemon.pid")
oks_before=$(wc -l <"$T/load.ok")
kill -TERM "$pid"
wait_for 15 "carnitrackd exited after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "carnitrackd exit status $rc after SIGTERM"
rm -f "$T/daemon.pid"
grep -q "supervisor: info: stopped" "$T/daemon.log" || fail "no clean stop logged"
echo "stopped with $oks_before records OK'd"

ct_start 10
backlog_back() { backlog_at_least 1; }
wait_for 10 "the backlog is still there after the restart" backlog_back
cs "ack on" | grep -q '^ok ack on' || fail "cloudsim ack on"
sim_wait "$SIM_PID" "$(left 90)" "simulator finished"
tail -n 1 "$T/load.log"
[ "$SIM_RC" = 0 ] || fail "dp401-sim exit $SIM_RC: not every record got its OK"
resent=$(sed -n 's/.* resent=\([0-9]*\).*/\1/p' "$T/load.log" | tail -n 1)
wait_for "$(left 60)" "backlog drained (pending 0)" pending_zero
no_crashes 0
cs batches >"$T/batches.json"
e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --records "$NREC" \
	--expect-all-scales "$NSCALES" --max-extra "$resent" || fail "delivery check"
e2e_check batches --events "$T/events.log" --batches "$T/batches.json" || fail "batch check"
echo "ok: SIGTERM under load, restart, nothing confirmed lost, backlog drained"
