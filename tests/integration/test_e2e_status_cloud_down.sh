#!/usr/bin/env bash
# `carnitrackctl status` with the cloud link down (after offline_grace): exit 1,
# .health "degraded", cloud .status.link_state not "up"; exit 0 again once the
# cloud is back. What a monitoring script alerts on when the site is offline.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/e2e_lib.sh"

status_rc() { local rc=0; ct status "$@" >"$T/st.out" 2>"$T/st.err" || rc=$?; echo "$rc"; }
expect_rc() {   # expect_rc WANT WHY [--json]
	local want=$1 why=$2; shift 2
	local rc; rc=$(status_rc "$@")
	[ "$rc" = "$want" ] ||
		{ cat "$T/st.out" "$T/st.err" >&2; fail "status $* exit $rc, want $want ($why)"; }
}
rc_is() { [ "$(status_rc)" = "$1" ]; }

e2e_conf
cs_start --auto-session
ct_start 10
wait_for 15 "edge registered with the cloud" cloud_link_up
wait_for 10 "store sees the link up" link_up
wait_for 10 "status healthy (exit 0)" rc_is 0

# 1: the cloud link is down (after the grace period); 0 again when it is back.
cs stop | grep -q '^ok stopped' || fail "cloudsim stop"
link_down() { [ "$(worker_status store link)" = down ]; }
wait_for 15 "store sees the link down" link_down
wait_for 10 "status degraded (exit 1) with the cloud down" rc_is 1
expect_rc 1 "cloud down" --json
[ "$(jq -r .health "$T/st.out")" = degraded ] || fail "health not degraded with the cloud down"
[ "$(jq -r '.workers[] | select(.name=="cloud") | .status.link_state' "$T/st.out")" != up ] \
	|| fail "cloud link_state up with the cloud stopped"
cs listen | grep -q '^ok listening' || fail "cloudsim listen"
wait_for 40 "status healthy again (exit 0) with the cloud back" rc_is 0

no_crashes 0
echo "ok: cloud link down -> status exit 1 / degraded; back -> exit 0"
