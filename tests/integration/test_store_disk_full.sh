#!/usr/bin/env bash
# Issue 15 item 7: the file system is full (ENOSPC on write) or failing (EIO
# on fsync), not the LMDB map. The edge withholds OKs, and now status says
# so: the store cannot commit, why (the system's words), since when, how
# many events are waiting; health degraded, `carnitrackctl status` exits 1.
# It recovers by itself once the disk takes writes again, and the OK comes.
# The data dir is on lazyfs, which fails writes or syncs on command.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/lazyfs_lib.sh"

lz_mount
ct_write_conf
sed -i "s|^data_dir = .*|data_dir = $LZ/data|" "$CONF"
ct_start

$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" "$LZ/.lazyfs" "$B/carnitrackctl" "$CONF" \
	<<'PY' || fail "disk full"
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
port, ctl_file, ctl = int(sys.argv[1]), sys.argv[3], [sys.argv[4], "-c", sys.argv[5]]

def lazyfs(cmd):
    with open(ctl_file, "w") as f:
        f.write(cmd + "\n")

def status():
    p = subprocess.run(ctl + ["status", "--json"], capture_output=True, text=True)
    st = next(w["status"] for w in json.loads(p.stdout)["workers"] if w["name"] == "store")
    return p.returncode, json.loads(p.stdout)["health"], st

def wait(what, cond, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        r = cond()
        if r:
            print("ok:", what)
            return r
        time.sleep(0.05)
    raise SystemExit("FAIL: timed out waiting for: %s (status %r)" % (what, status()))

s = sl.Scale(port)
s.send(b"SCALE-08", sl.record(net=8001) + sl.CRLF, sl.PROMPT)
s.wait_oks(1)
for n, (cmd, why) in enumerate((("fail write ENOSPC", "No space left on device"),
                                ("fail fsync EIO", "Input/output error")), start=2):
    lazyfs(cmd)
    t0 = time.time()
    s.send(sl.record(net=8000 + n) + sl.CRLF, sl.PROMPT)
    def cannot_commit():
        r = status()
        return r if r[2].get("state") == "cannot_commit" else None
    rc, health, st = wait("status says the store cannot commit: " + why, cannot_commit)
    ce = st["commit_error"]
    assert ce["error"] == why, ce
    assert ce["waiting"] >= 1, ce
    assert rc == 1 and health == "degraded", (rc, health)
    since = time.mktime(time.strptime(ce["since"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert t0 - 2 <= since <= time.time() + 1, (ce["since"], t0)
    human = subprocess.run(ctl + ["status"], capture_output=True, text=True)
    assert human.returncode == 1 and "health degraded" in human.stdout, human.stdout
    assert "CANNOT COMMIT since %s" % ce["since"] in human.stdout, human.stdout
    assert why in human.stdout, human.stdout
    assert s.poll() == n - 1, "an OK came while the store could not commit"
    lazyfs("fail none")
    s.wait_oks(n)
    wait("status ok again, exit 0", lambda: status()[0] == 0 and status()[2].get("state") == "ok")
    print("recovered from %s in %.1f s" % (why, time.time() - t0))
PY
ct events --limit 0 | awk '$3 == "SCALE-08" { print $5 }' | sort | tr '\n' ' ' > "$T/nets"
[ "$(cat "$T/nets")" = "8001 8002 8003 " ] || fail "stored: $(cat "$T/nets")"
grep -q "store: error: store cannot commit: No space left on device" "$T/daemon.log" ||
	fail "not logged"
grep -q "store: info: store commits again after" "$T/daemon.log" || fail "recovery not logged"
echo "ok: a full or failing disk shows in status, withholds OKs, and recovers by itself"
