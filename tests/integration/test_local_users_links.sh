#!/usr/bin/env bash
# Issue 18 items 5 and 6: started as root with `user = <daemon user>`, the
# daemon follows no link that user planted. A data_dir or run_dir that is a
# symlink (to a directory of root's) is refused with a clear error and its
# target keeps its owner and mode; a data_dir whose parent the user can
# write is refused; a control.sock the user left as a link is replaced, not
# followed. On the old code the planted data_dir's target was chowned to
# the daemon's user.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/local_users.sh"
users_make

# conf NAME DATA_DIR RUN_DIR: a config for one case, in $T/NAME.conf
conf() {
	CONF=$T/$1.conf
	cat > "$CONF" <<EOC
[edge]
site_id = SITE01
data_dir = $2
run_dir = $3
user = $DUSER
[http]
listen =
[scales]
listen = 127.0.0.1:$(free_port)
EOC
	chmod 644 "$CONF"
}
# refused NAME PATTERN: the daemon exits at start, its log says PATTERN
refused() {
	"$T/bin/carnitrackd" -f -c "$CONF" >"$T/$1.log" 2>&1 &
	local pid=$!
	wait_for 10 "$1: the daemon refused to start" bash -c "! kill -0 $pid 2>/dev/null"
	wait "$pid" && fail "$1: exit status 0"
	grep -q -- "$2" "$T/$1.log" || { cat "$T/$1.log"; fail "$1: no clear error"; }
}
untouched() {   # untouched PATH: still root's, mode as made
	local got; got=$(stat -c '%a %U' "$1")
	[ "$got" = "${2:-700} root" ] || fail "$1 is now $got: the planted link was followed"
}

mkdir -m 700 "$T/victim" "$T/victim2"
mkdir -m 755 "$T/a" "$T/b" "$T/c"

# 1. data_dir is a link the daemon's user planted, to a directory of root's
ln -s "$T/victim" "$T/a/data"
chown -h "$DUSER" "$T/a/data"
conf a "$T/a/data" "$T/a/run"
refused data_link "\[edge\] data_dir: $T/a/data is a symbolic link: refusing it"
untouched "$T/victim"

# 2. run_dir the same
ln -s "$T/victim2" "$T/b/run"
chown -h "$DUSER" "$T/b/run"
conf b "$T/b/data" "$T/b/run"
refused run_link "\[edge\] run_dir: $T/b/run is a symbolic link: refusing it"
untouched "$T/victim2"

# 3. a data_dir whose parent the daemon's user can write
mkdir -m 755 "$T/c/mine"
chown "$DUSER" "$T/c/mine"
conf c "$T/c/mine/data" "$T/c/run"
refused parent_writable "data_dir: $T/c/mine is writable by user $DUSER"
[ ! -e "$T/c/mine/data" ] || fail "data_dir made inside a directory the user can write"

# 4. control.sock left as a link in run_dir (the user's): replaced
touch "$T/victim-file"
chmod 600 "$T/victim-file"
conf d "$T/d/data" "$T/d/run"
mkdir -p -m 750 "$T/d/run"
chown "$DUSER" "$T/d/run"
ln -s "$T/victim-file" "$T/d/run/control.sock"
chown -h "$DUSER" "$T/d/run/control.sock"
"$T/bin/carnitrackd" -f -c "$CONF" >>"$T/daemon.log" 2>&1 &
echo $! > "$T/daemon.pid"
wait_for 10 "d: all workers running" all_running
[ -S "$T/d/run/control.sock" ] || fail "control.sock is not a socket"
untouched "$T/victim-file" 600
[ "$(stat -c %G "$T/victim-file")" = root ] || fail "the link's target changed group"
echo "local users links test passed"
