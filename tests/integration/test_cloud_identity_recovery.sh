#!/usr/bin/env bash
# Identity recovery (issue 12): when the cloud no longer knows the edge's
# stored identity, the edge says so in its log, registers afresh and keeps
# its backlog. Three ways the cloud says it, against the reference cloud
# after `forget` (it lost its edge table):
#   1. the upgrade carrying X-Edge-Id is refused 401;
#   2. an `error` message naming the edge unknown, on an open link;
#   3. a registration answered with a different edgeId.
# Records keep being weighed throughout; every one is accepted, pending 0.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud
cloud_conf
ct_start
wait_for 10 "registered" link_is up
edge_is_set() { [ "$(cloud_status edge_id)" != null ]; }
wait_for 10 "an edge id from the cloud" edge_is_set
e1=$(cloud_status edge_id)
scales load --scales 2 --records 60 --rate 10 --controlled --wait-ok

# 1. refused upgrade: a new link without the old X-Edge-Id, a new identity
simctl forget | grep -q '^ok' || fail "forget"
simctl drop >/dev/null
new_id() { local e; e=$(cloud_status edge_id); [ "$e" != null ] && [ "$e" != "$1" ] && link_is up; }
wait_for 15 "1: a new identity after the refused upgrade" new_id "$e1"
e2=$(cloud_status edge_id)
grep -q "does not know this edge as $e1 (upgrade refused with HTTP 401)" "$T/daemon.log" ||
	fail "1: the refusal is not logged"
[ "$(simstat unknown_edge_refusals)" -ge 1 ] || fail "1: the cloud refused nothing"
[ "$(cloud_status identity_source)" = edge_registered ] ||
	fail "1: source $(cloud_status identity_source)"

# 2. an error message on the open link: register again on the same link
c0=$(cloud_status connects)
simctl forget | grep -q '^ok' || fail "forget"
simctl 'send {"type":"error","payload":{"code":"EDGE_NOT_FOUND","message":"Unknown edge"}}' |
	grep -q '^ok sent to 1' || fail "send error"
wait_for 15 "2: a new identity after the error message" new_id "$e2"
e3=$(cloud_status edge_id)
[ "$(cloud_status connects)" = "$c0" ] || fail "2: the link was remade instead of registering on it"
grep -q "does not know this edge as $e2 (error message EDGE_NOT_FOUND" "$T/daemon.log" ||
	fail "2: not logged"

# 3. the upgrade is let through but `register` gets a different edgeId
simctl 'forget register' | grep -q '^ok' || fail "forget register"
simctl drop >/dev/null
wait_for 15 "3: the new edgeId of the registration reply taken" new_id "$e3"
grep -q "cloud answered by edge_registered with edgeId .*, we were $e3" "$T/daemon.log" ||
	fail "3: not logged"
[ "$(cloud_status identity_resets)" -ge 3 ] ||
	fail "identity_resets $(cloud_status identity_resets)"

wait_for 60 "scales done" scales_done
oks=$(wc -l <"$T/load.ok")
[ "$oks" = 120 ] || fail "$oks of 120 records OK'd"
wait_for 30 "backlog drained" pending_is 0
[ "$(accepted_ids)" = 120 ] || fail "cloud accepted $(accepted_ids) of 120"
echo "identity recovery ok: $e1 -> $e2 -> $e3 -> $(cloud_status edge_id)"
