#!/usr/bin/env bash
# Identity over [cloud] transport = rest (issue 13, REST_API.md 3), with
# records weighed throughout and every one accepted once at the end:
#   1. a fresh edge registers (edgeId null) once, with the bearer token
#      ([cloud] token_file: every request carries it, the cloud requires it);
#   2. the cloud forgets the edge while it holds several of its requests:
#      all are refused 401 unknown_edge at once, and the edge registers
#      afresh exactly once (single-flight), then delivers on;
#   3. carnitrackctl identity --reset: one new registration;
#   4. carnitrackctl activate: a code the cloud does not know is refused
#      with the cloud's own words, a good one gives the identity (source
#      "activate"), used at once; the same code again is refused;
#   5. scripted 429 (with Retry-After) and 404 answers delay requests but
#      never take the link down (a 4xx is not an outage, REST_API.md 8.3).
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
CLOUD_TRANSPORT=rest
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

CODE=CT-7K2P-9QXD
sim_cloud --require-token s3cret --activation-code "$CODE"
echo s3cret > "$T/token"
chmod 600 "$T/token"
cloud_conf "token_file = $T/token
allow_plaintext_token = yes"
ct_start
wait_for 10 "1: registered, link up" link_is up
e1=$(cloud_status edge_id)
[ "$(simstat registers)" = 1 ] || fail "1: $(simstat registers) registrations"
[ "$(simstat unauthorized)" = 0 ] || fail "1: a request went without the token"
grep -q "sending the bearer token to http://127.0.0.1:$CLOUD_PORT/api/v1 unencrypted" \
	"$T/daemon.log" || fail "1: the clear-text token is not warned about"
scales load --scales 2 --records 50 --rate 8 --controlled --hb 1 --wait-ok
accepted_ge() { [ "$(simstat accepted)" -ge "$1" ]; }
wait_for 10 "events flowing" accepted_ge 4

new_id() { local e; e=$(cloud_status edge_id); [ "$e" != null ] && [ "$e" != "$1" ] &&
	link_is up; }
# 2. forgotten, and the requests held meanwhile (events, polls, heartbeats)
#    all refused at once when the cloud thaws
simctl freeze | grep -q '^ok' || fail "freeze"
wait_for 10 "2: requests held by the frozen cloud" simstat_ge rest_held 3
simctl forget | grep -q '^ok' || fail "forget"
simctl thaw | grep -q '^ok thawed' || fail "thaw"
wait_for 15 "2: a new identity after the cloud forgot the edge" new_id "$e1"
e2=$(cloud_status edge_id)
n=$(simstat accepted)
wait_for 10 "2: events flow under the new identity" accepted_ge $((n + 4))
[ "$(simstat registers)" = 2 ] || fail "2: $(simstat registers) registrations (want 2)"
[ "$(cloud_status identity_recoveries)" = 1 ] ||
	fail "2: $(cloud_status identity_recoveries) recoveries"
grep -q "does not know this edge as $e1 (.*401.*unknown_edge" "$T/daemon.log" ||
	fail "2: the refusal is not logged"

# 3. identity --reset
ct identity --reset >/dev/null || fail "3: identity --reset"
wait_for 15 "3: a new identity after the reset" new_id "$e2"
e3=$(cloud_status edge_id)
[ "$(simstat registers)" = 3 ] || fail "3: $(simstat registers) registrations (want 3)"

# 4. activate
if ct activate CT-0000-0000 >"$T/act.out" 2>&1; then fail "4: an unknown code accepted"; fi
grep -q "refused the code: HTTP 404: Invalid or expired setup code" "$T/act.out" ||
	{ cat "$T/act.out"; fail "4: the cloud's words are not shown"; }
ct activate "$CODE" >"$T/act.out" || { cat "$T/act.out"; fail "4: activate $CODE"; }
grep -q "^activated: edge id " "$T/act.out" || fail "4: $(cat "$T/act.out")"
wait_for 10 "4: the activated identity in use" new_id "$e3"
[ "$(cloud_status identity_source)" = activate ] ||
	fail "4: source $(cloud_status identity_source)"
ct identity | grep -q "from activate" || fail "4: identity does not say activate"
if ct activate "$CODE" >/dev/null 2>&1; then fail "4: a code used twice"; fi
n=$(simstat accepted)
wait_for 10 "4: events flow as the activated edge" accepted_ge $((n + 4))

# 5. 429 with Retry-After, then 404s: slower, never offline
simctl "fail 429 3 1" | grep -q '^ok' || fail "fail 429"
wait_for 15 "5: the 429s answered" simstat_ge rest_scripted 3
simctl "fail 404 3" | grep -q '^ok' || fail "fail 404"
wait_for 15 "5: the 404s answered" simstat_ge rest_scripted 6

wait_for 60 "scales done" scales_done
wait "$SCALES_PID" || fail "dp401-sim: $(tail -n 1 "$T/load.log")"
wait_for 60 "backlog drained" pending_is 0
[ "$(accepted_ids)" = 100 ] || fail "cloud accepted $(accepted_ids) of 100 records"
[ "$(simstat accepted)" = 100 ] || fail "an event was accepted twice"
[ "$(cloud_status requests_unanswered)" = 0 ] || fail "5: a request went unanswered"
grep -q "cloud link down for" "$T/daemon.log" && fail "the link went down (offline batches)"
[ "$(simstat unauthorized)" = 0 ] || fail "a request went without the token"
no_restarts
echo "REST identity ok: $e1 -> $e2 -> $e3 -> $(cloud_status edge_id)"
