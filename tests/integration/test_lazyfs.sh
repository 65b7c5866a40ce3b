#!/usr/bin/env bash
# lazyfs, the power-cut file system of the tests (tests/lazyfs/lazyfs.c),
# does what the power-cut and disk-full tests rely on: at unmount a write
# not synced is lost, one synced by fsync or written O_DSYNC is kept; after
# SIGUSR1 (the cut) nothing more becomes durable; failures come on command.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/lazyfs_lib.sh"

lz_mount
$PY -I - "$LZ" "$LZ_PID" <<'PY' || fail "writes"
import errno, os, signal, sys
mnt, pid = sys.argv[1], int(sys.argv[2])
def w(name, data, sync=False, flags=0):
    fd = os.open(os.path.join(mnt, name), os.O_CREAT | os.O_WRONLY | flags, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    return fd
os.close(w("synced", b"kept", sync=True))
fd = w("mixed", b"kept", sync=True); os.write(fd, b"+lost"); os.close(fd)
os.close(w("dsync", b"kept", flags=os.O_DSYNC))
os.close(w("never", b"lost"))
open(os.path.join(mnt, ".lazyfs"), "w").write("fail write ENOSPC\n")
try:
    w("full", b"x")
    sys.exit("a write did not fail with ENOSPC")
except OSError as e:
    assert e.errno == errno.ENOSPC, e
open(os.path.join(mnt, ".lazyfs"), "w").write("fail none\n")
fd = w("cut", b"lost")
os.kill(pid, signal.SIGUSR1)            # the power cut
try:
    os.fsync(fd)
    sys.exit("fsync after the cut did not fail")
except OSError as e:
    assert e.errno == errno.EIO, e
PY
lz_umount
for f in synced mixed dsync; do [ "$(cat "$T/disk/$f")" = kept ] ||
	fail "$f: '$(cat "$T/disk/$f")'"; done
for f in never cut; do [ ! -s "$T/disk/$f" ] ||
	fail "$f kept unsynced data: '$(cat "$T/disk/$f")'"; done
grep -q "lost 1 writes not synced to mixed" "$T/lazyfs.log" ||
	fail "lazyfs.log: $(cat "$T/lazyfs.log")"
echo "ok: lazyfs keeps what was synced and loses the rest"
