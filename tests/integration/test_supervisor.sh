#!/usr/bin/env bash
# Supervisor: start, status, kill -9 and restart of each worker, ctl restart,
# hung worker, reload, SIGTERM, supervisor death, control-socket garbage.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
ct_start 2
ct status --json | $PY -c '
import json,sys; d=json.load(sys.stdin)
names=[w["name"] for w in d["workers"]]
assert names==["ingest","store","cloud","web"], names
assert all(w["state"]=="running" and w["restarts"]==0 and w["pid"] for w in d["workers"])'
ct status >/dev/null || fail "status exit code $? with all workers running"

pid_of() { worker_field "$1" pid; }
healthy_for_a_second() { [ "$(worker_field "$1" uptime_s)" -ge 2 ]; }

# kill -9 of each worker in turn: back with a new pid, restarts +1, within 2 s.
for w in ingest store cloud web; do
	wait_for 5 "$w up for 2 s" healthy_for_a_second $w
	old=$(pid_of $w)
	declare -A others=()
	for o in ingest store cloud web; do [ $o = $w ] || others[$o]=$(pid_of $o); done
	before=$(worker_field $w restarts)
	kill -9 "$old"
	back() { p=$(pid_of $w); [ "$p" != "$old" ] && [ "$p" != null ] &&
		[ "$(worker_field $w state)" = running ]; }
	wait_for 2 "$w restarted after kill -9" back
	[ "$(worker_field $w restarts)" -eq $((before + 1)) ] || fail "$w restarts not +1"
	[ "$(worker_field $w last_exit)" = "signal 9" ] || fail "$w last_exit not signal 9"
	for o in "${!others[@]}"; do
		[ "$(pid_of $o)" = "${others[$o]}" ] || fail "$o changed pid when $w was killed"
	done
done

# carnitrackctl restart cloud: new pid for cloud only.
i=$(pid_of ingest); s=$(pid_of store); c=$(pid_of cloud)
out=$(ct restart cloud)
echo "$out" | grep -q "cloud restarted, pid" || fail "restart output: $out"
[ "$(pid_of cloud)" != "$c" ] || fail "cloud pid unchanged after restart"
[ "$(pid_of ingest)" = "$i" ] && [ "$(pid_of store)" = "$s" ] || fail "other workers restarted"
if ct restart bogus 2>"$T/err"; then fail "restart of unknown worker succeeded"; fi
grep -q "unknown worker" "$T/err" || fail "no clear error for unknown worker"

# Garbage on the control socket: the supervisor stays up and answers.
$PY - "$T/run/control.sock" <<'PY'
import socket, sys, os
for payload in [b"\x00\xff\xfe garbage\n", b"{\"version\":1}\n", b"[1,2,3]\n",
                os.urandom(3000) + b"\n", b"x" * 10000,
                b"{\"version\":1,\"cmd\":\"restart\",\"worker\":\"../../x\"}\n"]:
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(payload)
    s.settimeout(2)
    try: s.recv(4096)
    except Exception: pass
    s.close()
PY
ct status >/dev/null || fail "status after control-socket garbage"
grep -q "control: bad request" "$T/daemon.log" || fail "bad control requests not logged"

# A bad config on SIGHUP is refused; the old one stays.
cp "$CONF" "$T/good.conf"
printf '[scales]\nlisten = 127.0.0.1:99999\n' >> "$CONF"
kill -HUP "$(cat "$T/daemon.pid")"
wait_for 3 "reload refused in log" grep -q "reload refused" "$T/daemon.log"
grep "reload refused" "$T/daemon.log" | grep -q "edge.conf:[0-9]*:" ||
	fail "reload error without file:line"
cp "$T/good.conf" "$CONF"
all_running || fail "workers not running after refused reload"
kill -HUP "$(cat "$T/daemon.pid")"
wait_for 3 "good reload applied" grep -q "config reloaded" "$T/daemon.log"

# A hung worker (stopped, so it cannot answer pings) is killed and replaced.
wait_for 5 "store up for 2 s" healthy_for_a_second store
old=$(pid_of store)
kill -STOP "$old"
replaced() { p=$(pid_of store); [ "$p" != "$old" ] && [ "$(worker_field store state)" = running ]; }
wait_for 15 "hung store replaced" replaced
grep -q "hung: no answer to ping" "$T/daemon.log" || fail "hang not logged"

# SIGTERM: every process gone within 5 s.
pids="$(cat "$T/daemon.pid") $(pid_of ingest) $(pid_of store) $(pid_of cloud)"
kill -TERM "$(cat "$T/daemon.pid")"
gone() { for p in $pids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 5 "all processes gone after SIGTERM" gone
rm -f "$T/daemon.pid"
[ ! -e "$T/run/control.sock" ] || fail "control socket left behind"
if ct status >/dev/null 2>"$T/err"; then fail "status succeeded with no daemon"; fi
ct status >/dev/null 2>&1 || rc=$?; [ "${rc:-0}" -eq 2 ] ||
	fail "status exit code ${rc:-0} with no daemon, want 2"
grep -q "not running" "$T/err" || fail "no clear message when the daemon is down: $(cat "$T/err")"

# kill -9 of the supervisor: the workers exit on their own.
ct_start 5
pids="$(pid_of ingest) $(pid_of store) $(pid_of cloud)"
kill -9 "$(cat "$T/daemon.pid")"
wait_for 5 "workers gone after supervisor kill -9" gone
rm -f "$T/daemon.pid"
echo "supervisor test passed"
