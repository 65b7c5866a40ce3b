#!/usr/bin/env bash
# Restart policy edges: a worker that keeps dying young is backed off, not
# restarted in a tight loop; a bad config never starts; -n checks only.
. "$CT_TOP/tests/integration/lib.sh"

# Config errors name file:line and exit non-zero, for -n and for a real start.
ct_write_conf
printf '[scales]\nlisten = 127.0.0.1:0\n' >> "$CONF"
if "$B/carnitrackd" -n -c "$CONF" 2>"$T/err"; then fail "-n accepted port 0"; fi
grep -q "edge.conf:[0-9]*: listen" "$T/err" ||
	fail "bad port error lacks file:line: $(cat "$T/err")"
ct_write_conf
printf '[edge]\nfavourite_colour = red\n' >> "$CONF"
rc=0; "$B/carnitrackd" -f -c "$CONF" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || fail "daemon started with an unknown key"
grep -q "edge.conf:[0-9]*: unknown key 'favourite_colour'" "$T/err" ||
	fail "unknown key error: $(cat "$T/err")"
ct_write_conf
"$B/carnitrackd" -n -c "$CONF" | grep -q "configuration OK" || fail "-n on a good config"

# A worker that always dies young: state backoff, restarts grow slowly.
export CARNITRACKD_TEST_FAIL=cloud
"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
unset CARNITRACKD_TEST_FAIL
in_backoff() { [ "$(worker_field cloud state)" = backoff ]; }
wait_for 5 "cloud in backoff" in_backoff
ct status >/dev/null && fail "status exit 0 while cloud is in backoff" || true
ct status >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "status exit code $rc while degraded, want 1"
# The 1 s and 2 s backoffs are short: the table may show cloud starting.
human_shows_backoff() { ct status > "$T/human" || true; grep -q "^cloud .* backoff " "$T/human"; }
wait_for 10 "human status shows cloud in backoff" human_shows_backoff
# Over 4 s, backoff 1+2 s allows at most 3 spawns, not hundreds.
end=$((SECONDS + 4)); while [ $SECONDS -lt $end ]; do sleep 0.2; done
n=$(worker_field cloud restarts)
[ "$n" -le 3 ] || fail "cloud restarted $n times in ~4 s: no backoff"
[ "$(worker_field ingest state)" = running ] || fail "ingest not running"
echo "policy test passed (cloud restarts in 4 s: $n)"

# Readiness reaches systemd through NOTIFY_SOCKET, once all workers run.
ct_stop
$PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(20)
while True:
    m = s.recv(4096).decode()
    open(sys.argv[2], "a").write(m + "\n")
    if "READY=1" in m: break
' "$T/notify.sock" "$T/notify.txt" &
CT_PIDS+=($!)
wait_for 5 "notify socket bound" test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock ct_start 10
wait_for 5 "READY=1 sent to NOTIFY_SOCKET" grep -q "READY=1" "$T/notify.txt"

# Started as root with a user set, every process runs as that user. The
# workers are re-executed after the drop, so nobody must reach the binary: a
# checkout under a 0700 directory (mktemp -d) cannot be tested this way.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 &&
	! runuser -u nobody -- test -x "$B/carnitrackd"; then
	echo "skipped: privilege drop (user nobody cannot execute $B/carnitrackd:" \
	    "a directory above it is closed to others)"
elif [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	ct_stop
	sed -i 's/^user =.*/user = nobody/' "$CONF"
	chmod 755 "$T"   # nobody must reach data_dir and run_dir below it
	rm -rf "$T/data" "$T/run"   # made by root above; the daemon chowns only what it creates
	ct_start 10
	for w in ingest store cloud web; do
		u=$(ps -o user= -p "$(worker_field $w pid)")
		[ "$u" = nobody ] || fail "$w runs as $u, not nobody"
	done
	u=$(ps -o user= -p "$(cat "$T/daemon.pid")")
	[ "$u" = nobody ] || fail "supervisor runs as $u, not nobody"
	[ "$(stat -c %a "$T/run/control.sock")" = 660 ] ||
		fail "control socket mode $(stat -c %a "$T/run/control.sock")"
	echo "ok: privileges dropped to nobody"
fi

# The scale port held by someone else at start: ingest is retried with
# backoff (not failed for good) and runs once the port is free.
ct_stop
rm -rf "$T/data" "$T/run"; sed -i 's/^user =.*/user =/' "$CONF"
$PY -c "import socket,time,sys; s=socket.socket(); s.bind(('127.0.0.1', $SCALE_PORT));
s.listen(1); open(sys.argv[1],'w').close(); time.sleep(3)" "$T/held" &
CT_PIDS+=($!)
wait_for 5 "port held" test -e "$T/held"
"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
ingest_backoff() { [ "$(worker_field ingest state)" = backoff ]; }
wait_for 5 "ingest in backoff while the port is held" ingest_backoff
wait_for 20 "ingest running once the port is free" all_running
echo "policy test passed"
