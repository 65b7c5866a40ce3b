#!/bin/sh
# Runs as a oneshot unit inside the throw-away systemd container that
# test_deb.sh boots (systemd-nspawn --volatile=yes over the host's /usr, where
# the package is installed): drives carnitrack-edge.service through systemd
# and writes what it saw to /opt/out/result as key=value lines, which
# test_deb.sh checks. Always powers the container off at the end.
u=carnitrack-edge.service
out=/opt/out/result
: >"$out"
trap 'journalctl --no-pager -o short-precise -u $u >/opt/out/journal.txt 2>&1
	echo done=1 >>"$out"; systemctl --no-block poweroff' EXIT

say() { echo "$1=$2" >>"$out"; }
show() { systemctl show -P "$1" "$u"; }
# Not awk: it is an alternatives link through /etc, which is empty here.
proc_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
# Polls every 0.1 s until `show KEY` prints VALUE, for at most $3 seconds.
wait_show() {
	n=0
	while [ "$(show "$1")" != "$2" ]; do
		n=$((n + 1))
		[ "$n" -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

timeout 30 systemctl start "$u"; say start_rc $?
say state "$(show ActiveState)/$(show SubState)"
pid=$(show MainPID)
say main_user "$(stat -c %U "/proc/$pid")"
say workers "$(pgrep -c -P "$pid")"
say workers_user "$(ps -o user= --ppid "$pid" | sort -u | tr '\n' ' ')"
say nonewprivs "$(proc_field "$pid" NoNewPrivs)"
say seccomp "$(proc_field "$pid" Seccomp)"
say capbnd "$(proc_field "$pid" CapBnd)"
say rundir "$(stat -c '%a %U %G' /run/carnitrack)"
say statedir "$(stat -c '%a %U %G' /var/lib/carnitrack)"
say socket "$(stat -c '%a %U %G' /run/carnitrack/control.sock)"
timeout 10 carnitrackctl status >/opt/out/ctl.txt 2>&1; say ctl_rc $?
# The web worker (default [http] listen 127.0.0.1:9180): a few tries, as
# it may still be binding when the unit reports ready.
n=0
until curl -s -m 5 http://127.0.0.1:9180/metrics >/opt/out/metrics.txt 2>&1 &&
	grep -q '^carnitrack_status_available 1$' /opt/out/metrics.txt; do
	n=$((n + 1))
	[ "$n" -le 20 ] || break
	sleep 0.2
done
say metrics "$([ "$n" -le 20 ] && echo ok || echo "no: $(head -c 200 /opt/out/metrics.txt)")"

timeout 30 systemctl reload "$u"; say reload_rc $?
say after_reload \
	"$(show ActiveState)/$(show SubState)/$([ "$(show MainPID)" = "$pid" ] && echo same-pid)"

# Restart=on-failure: a killed supervisor comes back (RestartSec=2s).
kill -KILL "$pid"
if wait_show NRestarts 1 20 && wait_show SubState running 20; then
	say restarted "$(show NRestarts)/$(show SubState)"
else
	say restarted "no: NRestarts=$(show NRestarts) state=$(show ActiveState)/$(show SubState)"
fi

timeout 60 systemctl stop "$u"; say stop_rc $?
say stop_result "$(show Result)/$(show ActiveState)"
