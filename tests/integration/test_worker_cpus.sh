#!/usr/bin/env bash
# [cpus]: each worker runs on the CPUs its entry names, from its start, after
# a restart and after a reload; a removed entry gives the placement back; a
# list with no CPU of this machine is logged, shown in status, and the
# worker keeps taking records; a malformed list is a config error at file:line.
. "$CT_TOP/tests/integration/lib.sh"

LAST=$(($(nproc) - 1))
ORIG=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
allowed() {   # allowed PID: the kernel's own view of where PID may run
	awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status"
}
pid_of() { worker_field "$1" pid; }
runs_on() {   # runs_on WORKER LIST
	local p; p=$(pid_of "$1")
	[ "$p" != null ] && [ "$(allowed "$p")" = "$2" ]
}

# malformed: refused with file:line, by -n and by a real start
ct_write_conf
printf '[cpus]\nstore = 2-1\n' >> "$CONF"
if "$B/carnitrackd" -n -c "$CONF" 2>"$T/err"; then fail "-n accepted store = 2-1"; fi
grep -q "edge.conf:[0-9]*: store: '2-1' is not a CPU list" "$T/err" ||
	fail "bad CPU list error: $(cat "$T/err")"

ct_write_conf
cat >> "$CONF" <<EOF
[cpus]
ingest = 0
store = $LAST
cloud = 0,1023
web = 1000-1001
EOF
"$B/carnitrackd" -n -c "$CONF" >"$T/n.out" 2>"$T/n.err" ||
	fail "-n on a good [cpus]: $(cat "$T/n.err")"
grep -q "configuration OK" "$T/n.out" || fail "-n said: $(cat "$T/n.out")"
grep -q "warning: \[cpus\] web = 1000-1001: none of these CPUs is available here ($ORIG)" \
	"$T/n.err" || fail "-n does not warn about web = 1000-1001: $(cat "$T/n.err")"
grep -q "warning: \[cpus\] cloud = 0,1023: only CPUs 0 of it are available here" "$T/n.err" ||
	fail "-n does not warn about cloud = 0,1023: $(cat "$T/n.err")"
if grep -q "ingest\|store" "$T/n.err"; then
	fail "-n warns about a list that fits: $(cat "$T/n.err")"
fi
ct_start
wait_for 10 "ingest on CPU 0" runs_on ingest 0
wait_for 10 "store on CPU $LAST" runs_on store "$LAST"
[ "$(worker_status ingest cpus)" = 0 ] || fail "ingest status cpus: $(worker_status ingest cpus)"
[ "$(worker_status store cpus)" = "$LAST" ] || fail "store status cpus"
# a list partly outside this machine: the CPUs that exist, and a warning
wait_for 10 "cloud on CPU 0" runs_on cloud 0
grep -q "cloud: warn: \[cpus\] cloud = 0,1023: only CPUs 0 of it are available" \
	"$T/daemon.log" || fail "no warning for the missing CPU 1023"
# a list with none of them: not applied, logged, in status, still running
[ "$(worker_field web state)" = running ] || fail "web not running"
runs_on web "$ORIG" || fail "web moved: $(allowed "$(pid_of web)")"
grep -q "web: warn: \[cpus\] web = 1000-1001 not applied: Invalid argument; runs on CPUs $ORIG" \
	"$T/daemon.log" || fail "no warning for web = 1000-1001"
worker_status web cpus_error | grep -q "Invalid argument" ||
	fail "web cpus_error: $(worker_status web cpus_error)"
ct status -v | grep -q "cpus_error" || fail "status -v does not show cpus_error"

# records flow with ingest and store pinned
"$B/dp401-sim" --first-id 7 --records 5 --rate 0 --wait-ok --timeout 20 \
	127.0.0.1:$SCALE_PORT > "$T/sim.log" 2>&1 || fail "scale: $(cat "$T/sim.log")"
[ "$(ct events --limit 0 | awk '$3 == "SCALE-07"' | wc -l)" -eq 5 ] ||
	fail "events of the pinned run"

# a restarted worker is placed again
old=$(pid_of store)
ct restart store > /dev/null || fail "restart store"
store_new() { p=$(pid_of store); [ "$p" != null ] && [ "$p" != "$old" ]; }
wait_for 10 "store restarted" store_new
wait_for 10 "restarted store on CPU $LAST" runs_on store "$LAST"

# reload: ingest's entry removed (back where it started), web's fixed
sed -i '/^ingest = 0$/d; s/^web = 1000-1001$/web = 0/' "$CONF"
n=$(grep -c "config reloaded" "$T/daemon.log" || true)
kill -HUP "$(cat "$T/daemon.pid")"
reloaded() { [ "$(grep -c "config reloaded" "$T/daemon.log")" -gt "$n" ]; }
wait_for 10 "config reloaded" reloaded
wait_for 10 "ingest back on $ORIG" runs_on ingest "$ORIG"
wait_for 10 "web on CPU 0" runs_on web 0
web_clear() { [ "$(worker_status web cpus_error)" = null ]; }
wait_for 10 "web cpus_error gone" web_clear
grep -q "ingest: info: \[cpus\] ingest removed: runs on CPUs $ORIG again" "$T/daemon.log" ||
	fail "no log line for ingest's entry removed"
runs_on store "$LAST" || fail "store moved on a reload that kept its entry"
"$B/dp401-sim" --first-id 8 --records 3 --rate 0 --wait-ok --timeout 20 \
	127.0.0.1:$SCALE_PORT > "$T/sim2.log" 2>&1 ||
	fail "scale after reload: $(cat "$T/sim2.log")"
[ "$(worker_field ingest restarts)" = 0 ] || fail "ingest restarted"
ct_stop
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$T"/*.log; then fail "sanitizer report"; fi
echo "worker cpus test passed"
