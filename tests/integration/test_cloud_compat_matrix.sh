#!/usr/bin/env bash
# The compatibility matrix (issue 12): the real daemon against every dialect
# of the reference cloud (carnitrack-cloudsim options, README "Cloud
# compatibility") and the combinations that matter, all at once, one edge
# and one cloud each. In every run:
#   - a session is started from the cloud side on SCALE-01, paused and
#     resumed (SCALE-02 has none);
#   - two scales weigh in controlled transfer throughout;
#   - the cloud's acks stop for a moment and then the cloud goes away (an
#     outage past offline_grace) and comes back, so events are re-sent and
#     offline batches reported;
# and then: every OK'd record accepted exactly once by localEventId
# (e2e_check.py delivery), offline batches exact, pending 0, the session
# applied (SCALE-01 tagged while active, untagged while paused, SCALE-02
# never), and the edge's status names how it registered.
# Runs are concurrent: the whole matrix takes about as long as one run.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

# name | cloudsim options | what the edge's status must say it registered by
#      | extra [cloud] config (@CLOUD@: the cloud's host:port)
REG_URL="register_url = http://@CLOUD@/api/edge/register"
DIALECTS=(
	"registered|--register-reply edge_registered|edge_registered|"
	"config_update|--register-reply config_update|config_update|"
	"none|--register-reply none|no reply (streaming)|"
	"http|--register-reply http|http|$REG_URL"
	"foreign_wire|--numeric-ids --epoch-timestamps --binary-frames|edge_registered|"
	"alias_nodedupe|--session-id-alias --no-dedupe|edge_registered|"
	"http_numeric|--register-reply http --numeric-ids --binary-frames|http|$REG_URL"
	"all|--register-reply config_update --numeric-ids --epoch-timestamps --binary-frames\
 --session-id-alias --no-dedupe|config_update|"
)
# Per scale, at 8/s: enough to outlast every phase below even on a loaded
# machine (the phases need ~20 OKs plus the waits for the edge's state).
RECORDS=50
MAIN_T=$T

# One dialect, in a subshell with its own $T, ports, config, daemon, cloud.
run_dialect() {
	local name=$1 opts=$2 want_reg=$3 extra=$4
	T=$MAIN_T/$name
	mkdir -p "$T"
	CONF=$T/edge.conf
	SCALE_PORT=$(free_port)
	HTTP_PORT=$(free_port)
	CLOUD_PORT=$(free_port)
	CLOUD_CTL=$(free_port)
	CT_PIDS=()
	# shellcheck disable=SC2086
	cs_start --quiet $opts
	echo "$CS_PID" >>"$T/pids"
	E2E_GRACE=1s
	# The session starts before SCALE-01 connects: the edge stores sessions
	# only for scales it knows (issue 15 item 5), so SCALE-01 is configured.
	e2e_conf "ping_interval = 2s
${extra//@CLOUD@/127.0.0.1:$CLOUD_PORT}
[scale SCALE-01]
name = session started before it connects"
	ct_start 20
	cat "$T/daemon.pid" >>"$T/pids"
	wait_for 20 "$name: link up" link_is_up
	cs "start SCALE-01 A-7" | grep -q '^ok' || fail "$name: start session"
	wait_for 10 "$name: session active at the edge" session_is active

	sim_start load --scales 2 --records "$RECORDS" --rate 8 --controlled --wait-ok --timeout 100
	echo "$SIM_PID" >>"$T/pids"
	wait_for 20 "$name: SCALE-01 weighs in the session" s1_oks_at_least 3
	cs "pause SCALE-01" | grep -q '^ok' || fail "$name: pause"
	wait_for 10 "$name: session paused at the edge" session_is paused
	local n
	n=$(s1_oks)
	wait_for 20 "$name: SCALE-01 weighs while paused" s1_oks_at_least $((n + 3))
	cs "resume SCALE-01" | grep -q '^ok' || fail "$name: resume"
	wait_for 10 "$name: session active again" session_is active
	# acks lost: what the cloud accepted silently is re-sent after the outage
	cs "ack off" | grep -q '^ok' || fail "$name: ack off"
	n=$(oks)
	wait_for 20 "$name: records sent without acks" oks_at_least $((n + 4))
	cs stop | grep -q '^ok stopped' || fail "$name: stop"
	wait_for 15 "$name: link down after the grace period" store_link_is down
	n=$(oks)
	wait_for 20 "$name: records OK'd offline" oks_at_least $((n + 4))
	cs "ack on" | grep -q '^ok' || fail "$name: ack on"
	cs listen | grep -q '^ok listening' || fail "$name: listen"
	wait_for 20 "$name: link back" store_link_is up
	sim_wait "$SIM_PID" 100 "$name: scales done"
	[ "$SIM_RC" = 0 ] || fail "$name: dp401-sim exit $SIM_RC: $(tail -n 1 "$T/load.log")"
	wait_for 30 "$name: backlog drained (pending 0)" pending_zero
	cs "end SCALE-01" | grep -q '^ok' || fail "$name: end session"
	wait_for 10 "$name: session ended at the edge" session_is ended

	[ "$(cloud_field registered)" = "$want_reg" ] ||
		fail "$name: status says registered '$(cloud_field registered)', want '$want_reg'"
	if [ "$want_reg" = http ]; then
		[ "$(cs_stat http_registers)" -ge 2 ] ||
			fail "$name: not one HTTP registration per link"
		[ "$(cloud_field edge_id)" != null ] || fail "$name: no edge id from the HTTP reply"
	fi
	[ "$(cloud_field messages_bad)" = 0 ] ||
		fail "$name: $(cloud_field messages_bad) bad messages"
	[ "$(cloud_field messages_unknown)" = 0 ] || fail "$name: unknown messages"
	[ "$(cloud_field rejected)" = 0 ] || fail "$name: $(cloud_field rejected) events rejected"
	case " $opts " in *" --no-dedupe "*)
		[ "$(cloud_field rejected_as_duplicate)" -ge 1 ] ||
			fail "$name: no re-sent event was answered event_rejected duplicate" ;;
	esac
	case " $opts " in *" --binary-frames "*)
		[ "$(cloud_field messages_binary)" -ge 1 ] || fail "$name: no binary frame read" ;;
	esac
	cs batches >"$T/batches.json"
	e2e_check delivery --events "$T/events.log" --ok "$T/load.ok" --max-extra 0 \
		--records "$RECORDS" --expect-all-scales 2 || fail "$name: delivery"
	e2e_check batches --events "$T/events.log" --batches "$T/batches.json" --scales 2 \
		--per-scale 1 || fail "$name: offline batches"
	check_tags "$name"
	echo "$name: ok ($(wc -l <"$T/load.ok") records," \
	    "$(cs_stat duplicates) re-sent answered duplicate)"
}

oks() { wc -l <"$T/load.ok" 2>/dev/null || echo 0; }
oks_at_least() { [ "$(oks)" -ge "$1" ]; }
s1_oks() { grep -c '^SCALE-01 ' "$T/load.ok" 2>/dev/null || echo 0; }
s1_oks_at_least() { [ "$(s1_oks)" -ge "$1" ]; }
cloud_field() { worker_status cloud "$1"; }
link_is_up() { [ "$(cloud_field link_state)" = up ]; }
store_link_is() { [ "$(worker_status store link)" = "$1" ]; }
session_is() { ct sessions 2>/dev/null |
	awk -v s="$1" '$1 == "SCALE-01" && $3 == s { f = 1 } END { exit !f }'; }

# SCALE-01's online events carry the session (active) or nothing (paused),
# never anything else; SCALE-02's never carry one.
check_tags() {
	local sess
	sess=$(ct sessions | awk '$1 == "SCALE-01" { print $2 }')
	[ -n "$sess" ] && [ "$sess" != - ] || fail "$1: no session id at the edge"
	awk -v s="$sess" -v name="$1" '
	$2 != "accepted" { next }
	$3 == "SCALE-02" && $5 != "-" { print name ": SCALE-02 event tagged " $5; bad++ }
	$3 == "SCALE-01" && $6 == "-" && $5 == s { tagged++ }
	$3 == "SCALE-01" && $6 == "-" && $5 == "-" { untagged++ }
	$3 == "SCALE-01" && $5 != "-" && $5 != s { print name ": SCALE-01 event tagged " $5; bad++ }
	END {
		if (tagged < 3) { print name ": only " tagged " SCALE-01 events tagged " s; bad++ }
		if (untagged < 3) { print name ": only " untagged " untagged while paused"; bad++ }
		exit bad > 0
	}' "$T/events.log" || fail "$1: session tags"
}

matrix_exit() {
	local rc=$?
	set +e
	for f in "$MAIN_T"/*/pids; do
		[ -f "$f" ] && kill -TERM $(cat "$f") 2>/dev/null
	done
	(exit $rc)
	ct_cleanup
}
trap matrix_exit EXIT

declare -A PIDS=()
for d in "${DIALECTS[@]}"; do
	IFS='|' read -r name opts want extra <<<"$d"
	( run_dialect "$name" "$opts" "$want" "$extra" ) >"$MAIN_T/$name.out" 2>&1 &
	PIDS[$name]=$!
done
failed=()
for name in "${!PIDS[@]}"; do
	wait "${PIDS[$name]}" || failed+=("$name")
done
for d in "${DIALECTS[@]}"; do
	IFS='|' read -r name _ _ _ <<<"$d"
	grep -E "^(ok: .*(link up|drained)|$name: ok|FAIL)" "$MAIN_T/$name.out" || true
done
for name in "${failed[@]}"; do
	echo "=== $name failed; its log:" >&2
	cat "$MAIN_T/$name.out" >&2
	echo "--- $name daemon.log (last 40) ---" >&2
	tail -n 40 "$MAIN_T/$name/daemon.log" >&2 || true
	echo "--- $name cloudsim.log (last 20) ---" >&2
	tail -n 20 "$MAIN_T/$name/cloudsim.log" >&2 || true
done
[ ${#failed[@]} = 0 ] || fail "dialects failed: ${failed[*]}"
echo "compatibility matrix ok: ${#DIALECTS[@]} dialects"
