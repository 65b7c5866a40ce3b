#!/usr/bin/env bash
# Issue 18 item 4: whatever the umask the daemon starts with (000, 022,
# 027), a member of its group can run carnitrackctl status and events (LMDB
# readers need write access to lock.mdb) but cannot write the data, and
# anyone else gets nothing: data.mdb 0640, lock.mdb 0660, the store, data
# and run directories 0750, all of the daemon's user and group, and
# control.sock 0660 of its group. On the old code, under umask 022 lock.mdb was 0644 and a member's
# `carnitrackctl events` failed; under 000 data.mdb was group-writable.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/local_users.sh"
users_make

mode_is() {   # mode_is PATH MODE OWNER:GROUP
	local got; got=$(stat -c '%a %U:%G' "$1")
	[ "$got" = "$2 $3" ] || fail "umask $um: $1 is $got, want $2 $3"
}

for um in 000 022 027; do
	d=$T/u$um
	mkdir -p "$d"
	chmod 755 "$d"
	CONF=$d/edge.conf
	port=$(free_port)
	cat > "$CONF" <<EOC
[edge]
site_id = SITE01
data_dir = $d/data
run_dir = $d/run
user = $DUSER
[http]
listen =
[scales]
listen = 127.0.0.1:$port
EOC
	chmod 644 "$CONF"
	( umask "$um"; exec "$T/bin/carnitrackd" -f -c "$CONF" ) >>"$d/daemon.log" 2>&1 &
	echo $! > "$T/daemon.pid"
	wait_for 10 "umask $um: all workers running" all_running
	"$B/dp401-sim" --records 1 --rate 0 --wait-ok "127.0.0.1:$port" >"$d/sim.log" 2>&1 ||
		fail "umask $um: the record was not OK'd"

	mode_is "$d/data" 750 "$DUSER:$DGROUP"
	mode_is "$d/run" 750 "$DUSER:$DGROUP"
	mode_is "$d/data/store" 750 "$DUSER:$DGROUP"
	mode_is "$d/data/store/data.mdb" 640 "$DUSER:$DGROUP"
	mode_is "$d/data/store/lock.mdb" 660 "$DUSER:$DGROUP"
	mode_is "$d/run/control.sock" 660 "root:$DGROUP"   # made before the drop

	# a member of the group: status and the tables that read LMDB
	rc=0; as "$MUSER" "$T/bin/carnitrackctl" -c "$CONF" status >"$d/m-status.txt" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || { cat "$d/m-status.txt"; fail "umask $um: member: status exit $rc"; }
	as "$MUSER" "$T/bin/carnitrackctl" -c "$CONF" events >"$d/m-events.txt" 2>&1 ||
		{ cat "$d/m-events.txt"; fail "umask $um: member: carnitrackctl events failed"; }
	grep -q "SCALE-01" "$d/m-events.txt" || fail "umask $um: member: the event is not listed"
	as "$MUSER" "$T/bin/carnitrackctl" -c "$CONF" devices >/dev/null 2>&1 ||
		fail "umask $um: member: carnitrackctl devices failed"
	if as "$MUSER" sh -c ": >> '$d/data/store/data.mdb'" 2>/dev/null; then
		fail "umask $um: a member can write data.mdb"
	fi
	# anyone else: nothing
	rc=0; as "$OUSER" "$T/bin/carnitrackctl" -c "$CONF" status >"$d/o-status.txt" 2>&1 || rc=$?
	[ "$rc" = 2 ] || { cat "$d/o-status.txt"; fail "umask $um: outsider: status exit $rc"; }
	grep -qi "permission denied" "$d/o-status.txt" ||
		fail "umask $um: outsider: no clear refusal"
	if as "$OUSER" "$T/bin/carnitrackctl" -c "$CONF" events >"$d/o-events.txt" 2>&1; then
		fail "umask $um: an outsider read the events"
	fi
	if as "$OUSER" cat "$d/data/store/data.mdb" >/dev/null 2>&1; then
		fail "umask $um: an outsider can read data.mdb"
	fi
	echo "ok: umask $um: modes right, member reads, outsider refused"
	ct_stop
done
echo "local users modes test passed"
