#!/usr/bin/env bash
# The bearer token: a token file that others, or another group, may read is
# refused with a message naming the mode, and so is a symlink planted by
# another user (the cloud worker does not start); a token over plain ws://
# is a config error unless allow_plaintext_token = yes, which is warned
# about at every connect (issue 15 item 8, issue 18 item 6); a wrong token
# is refused by the cloud (401) and the refusal is shown in status; the
# right one works, for the WebSocket upgrade and for register_url's POST.
# carnitrackd -n refuses what the worker would, judged for [edge] user.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud --require-token right-token
TOKEN=$T/token
# 0. a token over ws:// without allow_plaintext_token: the config is refused
cloud_conf "token_file = $TOKEN"
echo right-token > "$TOKEN"
chmod 600 "$TOKEN"
if "$B/carnitrackd" -n -c "$CONF" > "$T/check.txt" 2>&1; then fail "token over ws:// accepted"; fi
grep -q "token_file is set but url .* is ws://: the bearer token would travel unencrypted" \
	"$T/check.txt" || { cat "$T/check.txt"; fail "no clear message for the plaintext token"; }
# (the HTTP registration carries the token too, issue 13: an http://
# register_url is allowed by the same key; test_conf has its refusal)
cloud_conf "token_file = $TOKEN
allow_plaintext_token = yes
register_url = http://127.0.0.1:$CLOUD_PORT/api/edge/register"
"$B/carnitrackd" -n -c "$CONF" || fail "allow_plaintext_token = yes refused"

# 1. readable by others, or by a group that is not the daemon's, or a link
#    planted by another user: refused before any connection is made
cloud_not_running() {
	[ "$(worker_field cloud state)" != running ] && [ -n "$(worker_field cloud state)" ]
}
refused() {   # refused WHAT PATTERN: the cloud worker refuses the token file
	# carnitrackd -n says so first, with the same words
	if "$B/carnitrackd" -n -c "$CONF" > "$T/check.txt" 2>&1; then
		fail "carnitrackd -n accepted $1"
	fi
	grep -q -- "$2" "$T/check.txt" ||
		{ cat "$T/check.txt"; fail "-n: no clear message for $1"; }
	"$B/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
	echo $! > "$T/daemon.pid"
	wait_for 10 "$1 refused in the log" grep -q -- "$2" "$T/daemon.log"
	wait_for 10 "cloud worker not running" cloud_not_running
	[ "$(simstat connects)" = 0 ] || fail "the edge connected with $1"
	ct_stop
}
chmod 644 "$TOKEN"
refused "a world-readable token" "token_file $TOKEN is readable by others (mode 0644)"
if [ "$(id -u)" = 0 ]; then
	chmod 640 "$TOKEN"
	chgrp nogroup "$TOKEN"
	refused "a token of another group" "token_file $TOKEN is readable by group nogroup"
	chgrp root "$TOKEN"
	# -n run by root judges the file for [edge] user, as the daemon will
	# once it has dropped to that user: root's group is not nobody's
	"$B/carnitrackd" -n -c "$CONF" > "$T/check.txt" 2>&1 ||
		{ cat "$T/check.txt"; fail "-n refused a root:root 0640 token for root"; }
	sed -i 's/^user =$/user = nobody/' "$CONF"
	if "$B/carnitrackd" -n -c "$CONF" > "$T/check.txt" 2>&1; then
		fail "-n accepted for user nobody a token readable by group root"
	fi
	grep -q "token_file $TOKEN is readable by group root, not nobody's group nogroup" \
		"$T/check.txt" ||
		{ cat "$T/check.txt"; fail "-n: no clear message for [edge] user"; }
	sed -i 's/^user = nobody$/user =/' "$CONF"
	chmod 600 "$TOKEN"
	mv "$TOKEN" "$T/real-token"
	ln -s "$T/real-token" "$TOKEN"
	chown -h nobody:nogroup "$TOKEN"
	refused "a symlink planted by another user" "token_file $TOKEN is a symlink owned by nobody"
	rm "$TOKEN"
	mv "$T/real-token" "$TOKEN"
fi

# 2. wrong token, private file: the cloud answers 401, status says so
echo wrong-token > "$TOKEN"
chmod 600 "$TOKEN"
ct_start
shows_401() { cloud_status last_error | grep -q "401"; }
wait_for 15 "status shows the 401" shows_401
# (status exits 1 while the link is down: degraded)
{ ct status || true; } > "$T/status.txt"
grep -q "401 Unauthorized" "$T/status.txt" ||
	{ cat "$T/status.txt"; fail "carnitrackctl status does not show the refusal"; }
[ "$(cloud_status link_state)" != up ] || fail "link up with a wrong token"
[ "$(simstat unauthorized)" -ge 1 ] || fail "cloud saw no unauthorized attempt"
[ "$(simstat registers)" = 0 ] || fail "registered with a wrong token"
! grep -q wrong-token "$T/daemon.log" || fail "the token appears in the log"

# 3. the right token: the worker reads it again when restarted; every
#    connect warned that the token goes unencrypted
echo right-token > "$TOKEN"
ct restart cloud >/dev/null || fail "restart cloud"
wait_for 15 "edge registered with the right token" link_is up
warned=$(grep -c "sending the bearer token to .* unencrypted" "$T/daemon.log")
[ "$warned" -ge "$(cloud_status connects)" ] && [ "$warned" -ge 2 ] ||
	fail "$warned plaintext warnings for more connects"
scales run --records 3 --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "3 events accepted" simstat_is accepted 3
# register_url's POST went with the token (the cloud requires it there too)
wait_for 10 "HTTP registration with the token" simstat_ge http_registers 1
echo "token ok"
