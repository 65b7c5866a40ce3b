# lazyfs (tests/lazyfs/lazyfs.c) for integration tests: a FUSE file system
# that loses unsynced writes at unmount (a power cut) and fails writes or
# syncs on command (a full or failing disk). Source after lib.sh:
#   lz_mount               mounts $T/disk on $LZ (= $T/mnt), waits until it is up
#   lz_cmd "fail write ENOSPC" | "fail fsync EIO" | "fail none" | "fsync ignore"
#   lz_cut                 the power cut: nothing more becomes durable (SIGUSR1)
#   lz_umount              unmounts: every write not synced (before a cut) is lost
# The test's exit unmounts it too (lazily), before lib.sh cleans up.
LZ=$T/mnt
LZ_PID=

lz_mounted() { grep -q " $LZ fuse.lazyfs " /proc/mounts; }

lz_mount() {
	[ -e /dev/fuse ] || fail "no /dev/fuse: lazyfs needs FUSE (fuse3; root or user_allow_other)"
	mkdir -p "$T/disk" "$LZ"
	"$B/tests/lazyfs" "$T/disk" "$LZ" >>"$T/lazyfs.log" 2>&1 &
	LZ_PID=$!
	wait_for 10 "lazyfs mounted on $LZ" lz_mounted
}

lz_cmd() { printf '%s\n' "$1" > "$LZ/.lazyfs" || fail "lazyfs: $1 refused"; }

lz_cut() { kill -USR1 "$LZ_PID" || fail "lazyfs is gone"; }

lz_umount() {
	# a process killed in the middle of a request may take a moment to go
	local i
	for i in $(seq 1 100); do
		fusermount3 -u "$LZ" 2>/dev/null && break
		[ "$i" = 100 ] && { fuser -vm "$LZ" >&2 || true; fail "cannot unmount $LZ"; }
		sleep 0.05
	done
	wait_for 10 "lazyfs exited" bash -c "! kill -0 $LZ_PID 2>/dev/null"
	wait "$LZ_PID" 2>/dev/null || true
	LZ_PID=
}

lz_atexit() {
	local rc=$?
	if lz_mounted; then
		# what holds files there goes first (as lib.sh would), then the mount
		if [ -f "$T/daemon.pid" ]; then
			kill -TERM "$(cat "$T/daemon.pid")" 2>/dev/null || true
			for _ in $(seq 1 50); do
				pgrep -f "carnitrackd.*$T" >/dev/null || break
				sleep 0.1
			done
		fi
		pkill -KILL -f "carnitrackd.*$T" 2>/dev/null || true
		fusermount3 -u -z "$LZ" 2>/dev/null || umount -l "$LZ" 2>/dev/null || true
	fi
	if [ -n "$LZ_PID" ]; then kill -TERM "$LZ_PID" 2>/dev/null || true; fi
	(exit $rc)
	ct_cleanup
}
trap lz_atexit EXIT
