# Throw-away local accounts for the tests of what local users may do (issue
# 18): a daemon user, a member of its group and an outsider, with names of
# this test only, removed on exit. Source after lib.sh; needs root.
#   users_make          creates them: $DUSER (group $DGROUP), $MUSER (in
#                       $DGROUP), $OUSER (not), and $T/bin with copies of
#                       the programs (the build tree may not be reachable)
#   as USER CMD...      runs CMD as USER
[ "$(id -u)" = 0 ] || fail "this test creates local users: run it as root"
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
DGROUP=ctg$tag DUSER=ctd$tag MUSER=ctm$tag OUSER=cto$tag

users_cleanup() {
	local rc=$?
	# the daemon runs as $DUSER: it must be gone before the account
	[ -f "$T/daemon.pid" ] && kill -TERM "$(cat "$T/daemon.pid")" 2>/dev/null
	for _ in $(seq 1 50); do
		pgrep -f "carnitrackd.*$T" >/dev/null || break
		sleep 0.1
	done
	pkill -KILL -f "carnitrackd.*$T" 2>/dev/null || true
	for u in "$DUSER" "$MUSER" "$OUSER"; do userdel -f "$u" >/dev/null 2>&1 || true; done
	groupdel "$DGROUP" >/dev/null 2>&1 || true
	return $rc
}
trap 'users_cleanup; ct_cleanup' EXIT

users_make() {
	groupadd "$DGROUP" || fail "groupadd $DGROUP"
	useradd -M -N -d / -s /usr/sbin/nologin -g "$DGROUP" "$DUSER" || fail "useradd $DUSER"
	useradd -M -N -d / -s /usr/sbin/nologin -g nogroup -G "$DGROUP" "$MUSER" ||
		fail "useradd $MUSER"
	useradd -M -N -d / -s /usr/sbin/nologin -g nogroup "$OUSER" || fail "useradd $OUSER"
	chmod 755 "$T"
	mkdir -p "$T/bin"
	cp "$B/carnitrackd" "$B/carnitrackctl" "$T/bin/"
	chmod 755 "$T/bin" "$T/bin/"*
}

as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
