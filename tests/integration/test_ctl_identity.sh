#!/usr/bin/env bash
# carnitrackctl identity (issue 12): shows the edge id, site id and where
# they came from; --reset clears them, with the daemon running (through the
# store worker: the edge reconnects without its old X-Edge-Id and registers
# afresh, the backlog kept) or stopped (ctl opens the store itself and
# refuses a symbolic link anywhere in data_dir/store, and as root does the
# work as the store's owner).
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud
cloud_conf
ct_start
edge_is_set() { [ "$(cloud_status edge_id)" != null ]; }
wait_for 10 "an edge id from the cloud" edge_is_set
e1=$(cloud_status edge_id)
stored_is() { [ "$(ct identity --json | jq -r .edge_id)" = "$1" ]; }
wait_for 10 "the store has it" stored_is "$e1"
ct identity >"$T/id.txt"
grep -q "^edge id:    $e1  (from edge_registered)$" "$T/id.txt" ||
	{ cat "$T/id.txt"; fail "identity text"; }
grep -q "^site id:    SITE01  (from config (\[edge\] site_id))" "$T/id.txt" || fail "site id source"
[ "$(ct identity --json | jq -r .cloud_site_id)" = SITE01 ] || fail "cloud_site_id"

# Running: a backlog waits (acks off), the identity is reset, the edge
# registers afresh on a new link and the backlog still goes.
simctl "ack off" >/dev/null
scales run --records 5 --rate 20 --controlled --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "5 pending" pending_is 5
c0=$(simstat connects)
ct identity --reset | grep -q "identity cleared" || fail "reset through the daemon"
simctl "ack on" >/dev/null
new_edge() { local e; e=$(cloud_status edge_id); [ "$e" != null ] && [ "$e" != "$e1" ]; }
wait_for 15 "a fresh identity" new_edge
e2=$(cloud_status edge_id)
[ "$(simstat connects)" -gt "$c0" ] || fail "the link was not remade"
grep -q "connect conn=.* edge=- site=SITE01" "$T/cloudsim.log" ||
	fail "no upgrade without X-Edge-Id"
wait_for 20 "backlog delivered after the reset" pending_is 0
[ "$(accepted_ids)" = 5 ] || fail "cloud accepted $(accepted_ids) of 5"
wait_for 10 "the store has the new id" stored_is "$e2"
grep -q "edge identity cleared (carnitrackctl identity --reset)" "$T/daemon.log" ||
	fail "not logged"

# Stopped: ctl writes the store itself, and follows no link.
ct_stop
ct identity --reset | grep -q "carnitrackd not running" || fail "offline reset"
[ "$(ct identity --json | jq -r .edge_id)" = null ] || fail "edge id survived the reset"
ct identity | grep -q "^edge id:    none  (reset by carnitrackctl (daemon stopped))$" ||
	fail "the source of the reset is not shown"
mv "$T/data/store" "$T/store.real"
ln -s "$T/store.real" "$T/data/store"
if ct identity --reset 2>"$T/err"; then fail "followed a store symlink"; fi
grep -q "symbolic link" "$T/err" || { cat "$T/err"; fail "no word about the link"; }
rm "$T/data/store"
mv "$T/store.real" "$T/data/store"
mv "$T/data/store/lock.mdb" "$T/lock.real"
ln -s "$T/lock.real" "$T/data/store/lock.mdb"
if ct identity --reset 2>"$T/err"; then fail "followed a lock.mdb symlink"; fi
grep -q "lock.mdb is not a regular file" "$T/err" ||
	{ cat "$T/err"; fail "lock.mdb link not named"; }
rm "$T/data/store/lock.mdb"
mv "$T/lock.real" "$T/data/store/lock.mdb"
mv "$T/data" "$T/data.real"
ln -s "$T/data.real" "$T/data"
if ct identity --reset 2>"$T/err"; then fail "followed a data_dir symlink"; fi
grep -q "'data' is a symbolic link" "$T/err" || { cat "$T/err"; fail "data_dir link not named"; }
rm "$T/data"
mv "$T/data.real" "$T/data"
# As root over a store the daemon's user owns: ctl becomes that user first,
# so what LMDB creates (lock.mdb here) is theirs, not root's.
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	chmod 755 "$T"
	chown -R nobody "$T/data"
	rm "$T/data/store/lock.mdb"
	ct identity --reset | grep -q "carnitrackd not running" || fail "reset as the store's owner"
	[ "$(stat -c %U "$T/data/store/lock.mdb")" = nobody ] ||
		fail "lock.mdb made as $(stat -c %U "$T/data/store/lock.mdb")"
	chown -R root "$T/data"
fi

# Started again: a fresh registration.
ct_start
wait_for 10 "registered afresh after the offline reset" new_edge
[ "$(cloud_status edge_id)" != "$e2" ] || fail "kept the identity reset offline"
# a setup code is a REST cloud's: refused over websocket, saying so
if ct activate CT-7K2P-9QXD 2>"$T/err"; then fail "activate over websocket"; fi
grep -q "transport = rest" "$T/err" || { cat "$T/err"; fail "activate: no reason"; }
echo "carnitrackctl identity ok: $e1 -> $e2 -> $(cloud_status edge_id)"
