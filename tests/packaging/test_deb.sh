#!/usr/bin/env bash
# Packaging test (make test-deb; CI, as root, no systemd running):
# build the .deb, install it, check what it put where, run the daemon the way
# the unit does (as carnitrack in the unit's file-system sandbox,
# RuntimeDirectory made by hand, NOTIFY_SOCKET for Type=notify), use
# carnitrackctl as root / group member / outsider, stop it; then run the unit
# itself under systemd booted in a throw-away container (unit_probe.sh);
# /metrics from the web worker both ways;
# upgrade in place, remove, purge, and check what is left is what the policy
# says (config gone, data and user kept).
# The machine is put back as it was: a trap purges the package, removes what
# the test created and restores a /var/lib/carnitrack that existed before.
set -euo pipefail

CT_TOP=${CT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PKG=carnitrack-edge
CONF=/etc/carnitrack/edge.conf
DATA=/var/lib/carnitrack
RUN=/run/carnitrack
UNIT=/lib/systemd/system/$PKG.service
WANTS=/etc/systemd/system/multi-user.target.wants/$PKG.service
DEADLINE=${DEADLINE:-20}     # seconds to wait for any one condition

passed=0
pass() { passed=$((passed + 1)); printf "ok   %3ds  %s\n" "$SECONDS" "$*"; }
fail() { echo "FAIL $*" >&2; echo "test_deb: $passed passed, 1 failed"; exit 1; }
check() {   # description, command...
	local what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
# Polls a condition every 0.1 s; fails the test with `what` after DEADLINE s.
wait_for() {   # description, command...
	local what=$1 end=$((SECONDS + DEADLINE)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || fail "timed out after ${DEADLINE}s waiting for: $what"
		sleep 0.1
	done
	pass "$what"
}

# dpkg, waiting (with a deadline) while another apt/dpkg holds its lock:
# dpkg has no lock timeout of its own, and a developer's machine often runs
# apt-get at the same time.
dpkg_run() {   # log file, dpkg args...
	local log=$1 end=$((SECONDS + 180)); shift
	while :; do
		if dpkg "$@" >"$log" 2>&1 </dev/null; then return 0; fi
		grep -q 'lock' "$log" && [ "$SECONDS" -lt "$end" ] || { cat "$log" >&2; return 1; }
		sleep 0.5
	done
}

[ "$(id -u)" -eq 0 ] || { echo "test_deb: needs root (dpkg -i, users, /run)" >&2; exit 1; }
# curl asks /metrics, here and in the container (which sees the host's /usr).
DEPS_WHAT=test-deb "$CT_TOP/tests/deps.sh" curl || exit 1
# One run at a time per machine: two runs would purge the package and delete
# the user under each other.
exec 9>/run/lock/carnitrack-test-deb.lock
flock -w 600 9 || { echo "test_deb: another test_deb still runs after 600 s" >&2; exit 1; }
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'installed'; then
	echo "test_deb: $PKG is already installed here; refusing to replace and purge it" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/test_deb.XXXXXX)
daemon_pid=""; notify_pid=""; notify_dir=""
had_user=0; getent passwd carnitrack >/dev/null && had_user=1
had_group=0; getent group carnitrack >/dev/null && had_group=1
had_run=0; [ -e "$RUN" ] && had_run=1
data_backup=""
if [ -e "$DATA" ]; then
	data_backup=$DATA.test_deb.$$
	mv "$DATA" "$data_backup"
fi

cleanup() {
	local rc=$?
	set +e
	if [ "$rc" -ne 0 ] && [ -s "$tmp/daemon.log" ]; then
		echo "carnitrackd log (last 30 lines):" >&2
		tail -n 80 "$tmp/daemon.log" | sed 's/^/    /' >&2
	fi
	# The daemon's workers by pid, before the supervisor goes and they are
	# reparented; they also die with it (PR_SET_PDEATHSIG).
	local workers=""
	[ -n "$daemon_pid" ] && workers=$(pgrep -P "$daemon_pid" | tr '\n' ' ')
	for p in $daemon_pid $notify_pid; do
		kill -TERM "$p" 2>/dev/null
	done
	# Give the daemon its drain time, then make sure nothing of it is left.
	local end=$((SECONDS + 10))
	while [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null &&
		[ "$SECONDS" -lt "$end" ]; do
		sleep 0.1
	done
	for p in $daemon_pid $workers; do
		kill -KILL "$p" 2>/dev/null
	done
	if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null |
		grep -q 'installed\|config-files\|half'; then
		dpkg_run /dev/null --purge "$PKG"
	fi
	rm -rf "$DATA"
	[ -n "$data_backup" ] && mv "$data_backup" "$DATA"
	[ "$had_run" -eq 1 ] || rm -rf "$RUN"
	[ "$had_user" -eq 1 ] || userdel carnitrack 2>/dev/null
	[ "$had_group" -eq 1 ] || groupdel carnitrack 2>/dev/null
	rm -rf "$tmp" $notify_dir
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ------------------------------------------------------------------
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
version=$(dpkg-parsechangelog -l "$CT_TOP/packaging/debian/changelog" -S Version)
deb=$CT_TOP/build/${PKG}_${version}_${arch}.deb
rm -f "$deb"
if ! make -C "$CT_TOP" --no-print-directory deb >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	fail "make deb (lintian clean)"
fi
check "make deb built $(basename "$deb") and lintian is clean" test -f "$deb"

# --- install (no systemd running: postinst must still succeed) -------------
dpkg_run "$tmp/install.log" -i "$deb" || fail "dpkg -i"
pass "dpkg -i succeeds without a running systemd"
check "package is installed" \
	sh -c "dpkg-query -W -f='\${Status}' $PKG | grep -q '^install ok installed'"

mode_owner() { stat -c '%a %U %G' "$1"; }
expect_mode() {   # path, "mode user group"
	local got; got=$(mode_owner "$1" 2>/dev/null || echo missing)
	[ "$got" = "$2" ] || { echo "  $1: got '$got', want '$2'" >&2; return 1; }
}
check "/usr/sbin/carnitrackd 0755 root" expect_mode /usr/sbin/carnitrackd "755 root root"
check "/usr/bin/carnitrackctl 0755 root" expect_mode /usr/bin/carnitrackctl "755 root root"
for m in man8/carnitrackd.8 man8/carnitrackctl.8 man5/carnitrack-edge.conf.5; do
	check "man page $m" test -f "/usr/share/man/$m.gz"
done
check "unit installed at $UNIT" test -f "$UNIT"
check "sysusers file installed" test -f /usr/lib/sysusers.d/$PKG.conf
check "$CONF installed" test -f "$CONF"
check "$CONF is a conffile" \
	sh -c "dpkg-query -W -f='\${Conffiles}\n' $PKG | grep -q '^ $CONF '"
check "copyright file installed" test -f /usr/share/doc/$PKG/copyright
depends_ok() {
	local dep p; dep=$(dpkg-query -W -f='${Depends}' "$PKG")
	for p in libevent-2.1-7 libevent-openssl-2.1-7 libssl3 liblmdb0 libjansson4 libinih1 \
		libwslay1 systemd; do
		grep -q "\b$p\b" <<<"$dep" || { echo "  Depends lacks $p: $dep" >&2; return 1; }
	done
}
check "Depends names every shared library (shlibs) and the sysusers provider" depends_ok

user_ok() {
	local uid shell home
	IFS=: read -r _ _ uid _ _ home shell < <(getent passwd carnitrack) || return 1
	[ "$uid" -lt 1000 ] && [ "$home" = "$DATA" ] && [ "$shell" = /usr/sbin/nologin ] \
		|| { echo "  uid=$uid home=$home shell=$shell" >&2; return 1; }
	[ "$(id -gn carnitrack)" = carnitrack ]
}
check "system user carnitrack (uid < 1000, nologin, home $DATA, group carnitrack)" user_ok
check "$DATA 0750 carnitrack:carnitrack" expect_mode "$DATA" "750 carnitrack carnitrack"
check "systemd-analyze verify on the installed unit" \
	systemd-analyze verify --man=no "$UNIT"

# --- run as the service would ----------------------------------------------
# RuntimeDirectory=carnitrack, RuntimeDirectoryMode=0750:
install -d -o carnitrack -g carnitrack -m 0750 "$RUN"
# Type=notify: systemd hands the daemon NOTIFY_SOCKET and waits for READY=1.
# Under /run like systemd's own: the sandbox below hides /tmp.
notify_dir=$(mktemp -d /run/test_deb.XXXXXX)
chmod 0711 "$notify_dir"
notify_sock=$notify_dir/notify.sock
python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
out = open(sys.argv[2], "ab", buffering=0)
while True:
    out.write(s.recv(4096) + b"\n")
' "$notify_sock" "$tmp/notify.log" &
notify_pid=$!
wait_for "notify socket is listening" test -S "$notify_sock"

# The unit: ProtectSystem=strict, ProtectHome, PrivateTmp (sandbox.sh in a
# mount namespace), User/Group=carnitrack, NoNewPrivileges, empty capability
# bounding set, UMask=0027, cwd /, a clean environment.
port9180_taken=0
ss -Hltn 'sport = :9180' | grep -q . && port9180_taken=1
( cd / && umask 0027 && exec unshare --mount --propagation private \
	"$CT_TOP/tests/packaging/sandbox.sh" "$DATA" "$RUN" -- \
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NOTIFY_SOCKET="$notify_sock" \
	setpriv --reuid=carnitrack --regid=carnitrack --init-groups \
		--no-new-privs --bounding-set=-all \
		/usr/sbin/carnitrackd -f ) >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
daemon_alive() {
	kill -0 "$daemon_pid" 2>/dev/null && return 0
	echo "  carnitrackd exited; its log:" >&2; sed 's/^/    /' "$tmp/daemon.log" >&2
	fail "carnitrackd died during start"
}
ready() { daemon_alive && grep -q '^READY=1' "$tmp/notify.log" 2>/dev/null; }
wait_for "carnitrackd sends READY=1 on NOTIFY_SOCKET" ready
sock_up() { daemon_alive && test -S "$RUN/control.sock"; }
wait_for "control socket $RUN/control.sock exists" sock_up
check "control socket is 0660 carnitrack:carnitrack" \
	expect_mode "$RUN/control.sock" "660 carnitrack carnitrack"
# The supervisor and its workers (its children) all run as carnitrack.
only_carnitrack() {
	local pids users
	pids=$(pgrep -P "$daemon_pid" | paste -sd, -)
	[ -n "$pids" ] || { echo "  carnitrackd has no workers" >&2; return 1; }
	users=$(ps -o uid= -p "$daemon_pid,$pids" | sort | uniq -c)
	echo "  processes per uid: $(echo $users) (carnitrack is $(id -u carnitrack))"
	! grep -qv " $(id -u carnitrack)\$" <<<"$users"
}
check "every carnitrackd process (supervisor and workers) runs as carnitrack" only_carnitrack
# The default config's [http]: the web worker on 127.0.0.1:9180, /metrics open
# (no token_file), answered by this daemon (status.json's pid). On a shared
# development machine another program may hold 9180: then the daemon must
# have become ready all the same (above) and say why web is not up; the
# container below checks /metrics either way.
metrics_ok() {
	daemon_alive
	curl -s -m 5 http://127.0.0.1:9180/status.json >"$tmp/status.json" 2>/dev/null &&
		grep -q "^{\"ok\":true,.*\"pid\":$daemon_pid," "$tmp/status.json" &&
		curl -s -m 5 http://127.0.0.1:9180/metrics >"$tmp/metrics" 2>/dev/null &&
		grep -q '^carnitrack_worker_up{worker="web"} 1$' "$tmp/metrics" &&
		grep -q '^carnitrack_status_available 1$' "$tmp/metrics"
}
web_port_clash() { grep -q 'web: error: \[http\] listen 127.0.0.1:9180: Address already in use' \
	"$tmp/daemon.log"; }
if [ "$port9180_taken" = 1 ]; then
	echo "  note: 127.0.0.1:9180 was held by another program before the daemon started"
	wait_for "the web worker says its port is held (the daemon ready without it)" \
		web_port_clash
else
	wait_for "/metrics answers on 127.0.0.1:9180 (the web worker, default [http])" metrics_ok
fi

# exit 0 healthy, 1 degraded (e.g. no cloud configured); 2 means down.
ctl_status() {   # label, setpriv args...
	local label=$1 rc=0; shift
	setpriv "$@" /usr/bin/carnitrackctl status >"$tmp/ctl.$label" 2>&1 || rc=$?
	if [ "$rc" -gt 1 ] || ! [ -s "$tmp/ctl.$label" ]; then
		echo "  exit $rc:" >&2; sed 's/^/    /' "$tmp/ctl.$label" >&2; return 1
	fi
}
check "carnitrackctl status as root" ctl_status root --reuid=0
sed 's/^/    root: /' "$tmp/ctl.root"
check "carnitrackctl status as a member of group carnitrack" \
	ctl_status member --reuid=nobody --regid=nogroup --groups=carnitrack
ctl_denied() {
	local rc=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		/usr/bin/carnitrackctl status >"$tmp/ctl.nobody" 2>&1 || rc=$?
	sed 's/^/    nobody: /' "$tmp/ctl.nobody"
	[ "$rc" -ne 0 ] && grep -qi 'permission' "$tmp/ctl.nobody"
}
check "carnitrackctl status as nobody fails with a permission message" ctl_denied

# --- stop (SIGTERM, as systemd does with KillMode=mixed) -------------------
kill -TERM "$daemon_pid"
gone() { ! kill -0 "$daemon_pid" 2>/dev/null; }
wait_for "carnitrackd exits after SIGTERM" gone
rc=0; wait "$daemon_pid" || rc=$?
daemon_pid=""
check "carnitrackd exit status after SIGTERM is 0 (got $rc)" test "$rc" -eq 0
no_procs() { ! pgrep -u carnitrack >/dev/null; }
wait_for "no carnitrack process is left (workers stopped too)" no_procs
has_data() { [ -n "$(find "$DATA" -mindepth 1 -print -quit)" ]; }
check "the daemon wrote its store under $DATA" has_data
foreign=$(find "$DATA" -mindepth 1 ! -user carnitrack -print)
check "everything under $DATA belongs to carnitrack" test -z "$foreign"
# A file of our own too, so the keep-the-data checks below do not depend on
# what the store happens to write.
setpriv --reuid=carnitrack --regid=carnitrack --init-groups \
	sh -c "echo test_deb >'$DATA/test_deb.sentinel'"
find "$DATA" -mindepth 1 -type f -exec sha256sum {} + | sort >"$tmp/data.before"

# --- the unit under a real systemd -------------------------------------------
# No systemd runs here, so boot one in a throw-away container: the host's /usr
# (with the package) read-only, everything else a fresh tmpfs, the installed
# /etc/carnitrack, and unit_probe.sh as a oneshot unit that drives the service
# through systemctl and records what it saw. This is the unit with its whole
# sandbox (seccomp filter, address families, PrivateDevices...) and Type=notify.
if ! command -v systemd-nspawn >/dev/null; then
	{ apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
		--no-install-recommends systemd-container; } >"$tmp/apt.log" 2>&1 \
		|| { cat "$tmp/apt.log" >&2; fail "install systemd-container (for systemd-nspawn)";
		}
fi
ns=$tmp/nspawn; mkdir -p "$ns/units/multi-user.target.wants" "$ns/out"
ln -s /dev/null "$ns/units/systemd-firstboot.service"    # no questions on first boot
cat >"$ns/units/unit-probe.service" <<'UNIT'
[Unit]
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/opt/probe/unit_probe.sh
UNIT
ln -s ../unit-probe.service "$ns/units/multi-user.target.wants/unit-probe.service"
machine=ct-test-deb-$$
if ! timeout --kill-after=10 150 systemd-nspawn -q -D / --volatile=yes --register=no --keep-unit \
	--private-network -M "$machine" --bind-ro=/etc/carnitrack \
	--bind-ro="$CT_TOP/tests/packaging:/opt/probe" --bind-ro="$ns/units:/etc/systemd/system" \
	--bind="$ns/out:/opt/out" -b </dev/null >"$tmp/nspawn.log" 2>&1; then
	tail -n 40 "$tmp/nspawn.log" >&2
	fail "boot a systemd container (systemd-nspawn)"
fi
rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
pass "booted systemd in a container and ran the unit probe"
probe() { sed -n "s/^$1=//p" "$ns/out/result"; }
expect_probe() {   # key, expected value
	local got; got=$(probe "$1")
	[ "$got" = "$2" ] && return 0
	echo "  $1: got '$got', want '$2'" >&2
	[ -f "$ns/out/journal.txt" ] &&
		tail -n 20 "$ns/out/journal.txt" | sed 's/^/    journal: /' >&2
	return 1
}
check "probe ran to the end" expect_probe done 1
check "systemctl start succeeds (Type=notify: READY=1 arrived)" expect_probe start_rc 0
check "service is active/running" expect_probe state active/running
check "supervisor runs as carnitrack" expect_probe main_user carnitrack
check "four workers run (ingest, store, cloud, web)" expect_probe workers 4
check "/metrics answers under systemd's sandbox" expect_probe metrics ok
check "workers run as carnitrack" expect_probe workers_user "carnitrack "
check "NoNewPrivileges applies" expect_probe nonewprivs 1
check "system-call filter applies (Seccomp: 2)" expect_probe seccomp 2
check "no capabilities in the bounding set" expect_probe capbnd 0000000000000000
check "RuntimeDirectory /run/carnitrack 0750 carnitrack" expect_probe rundir \
	"750 carnitrack carnitrack"
check "StateDirectory /var/lib/carnitrack 0750 carnitrack" expect_probe statedir \
	"750 carnitrack carnitrack"
check "control socket 0660 carnitrack" expect_probe socket "660 carnitrack carnitrack"
ctl_ok() { local rc; rc=$(probe ctl_rc); [ "$rc" = 0 ] || [ "$rc" = 1 ] ||
	{ cat "$ns/out/ctl.txt" >&2; return 1; }; }
check "carnitrackctl status under systemd" ctl_ok
check "systemctl reload (SIGHUP) succeeds" expect_probe reload_rc 0
check "after reload: still running, same main pid" expect_probe after_reload active/running/same-pid
check "Restart=on-failure brings a killed daemon back" expect_probe restarted 1/running
check "systemctl stop succeeds" expect_probe stop_rc 0
check "stopped cleanly (Result=success)" expect_probe stop_result success/inactive

# --- upgrade in place: data and the admin's config survive ------------------
echo "# edited by test_deb" >>"$CONF"
dpkg_run "$tmp/upgrade.log" -i "$deb" || fail "dpkg -i over the installed package"
pass "reinstall/upgrade succeeds"
check "upgrade keeps the edited $CONF" grep -q '^# edited by test_deb' "$CONF"
find "$DATA" -mindepth 1 -type f -exec sha256sum {} + | sort >"$tmp/data.after"
check "upgrade keeps the data in $DATA" cmp -s "$tmp/data.before" "$tmp/data.after"

# --- remove: programs go, config and data stay -----------------------------
dpkg_run "$tmp/remove.log" --remove "$PKG" || fail "dpkg --remove"
pass "dpkg --remove"
check "remove deletes /usr/sbin/carnitrackd" test ! -e /usr/sbin/carnitrackd
check "remove deletes the unit" test ! -e "$UNIT"
check "remove keeps $CONF" grep -q '^# edited by test_deb' "$CONF"
check "remove keeps $DATA" test -f "$DATA/test_deb.sentinel"

# --- purge: config goes; data and user stay (documented manual removal) ----
dpkg_run "$tmp/purge.log" --purge "$PKG" || fail "dpkg --purge"
pass "dpkg --purge"
check "purge deletes $CONF" test ! -e "$CONF"
check "purge deletes /etc/carnitrack" test ! -e /etc/carnitrack
check "purge removes the enable symlink" test ! -e "$WANTS" -a ! -L "$WANTS"
check "purge keeps $DATA (rm -rf $DATA is a documented manual step)" \
	cmp -s "$tmp/data.before" <(find "$DATA" -mindepth 1 -type f -exec sha256sum {} + | sort)
check "purge keeps the carnitrack user and group (Debian policy)" \
	sh -c 'getent passwd carnitrack >/dev/null && getent group carnitrack >/dev/null'
check "package is gone from dpkg" \
	sh -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -q ."

echo "test_deb: $passed passed, 0 failed"
