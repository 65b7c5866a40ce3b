#!/usr/bin/env bash
# Issue 14: an OK never leaves before the commit that holds its record has
# returned. The data dir is on lazyfs with every sync slowed to 50 ms (the
# store's commit syncs its data pages, so each commit takes that long at
# least): five controlled scales send records at staggered times, so many
# arrive while a commit is syncing and must wait for the next one. Every
# OK must then come at least 50 ms after its record was written; an OK
# sent from the commit that was already running, before the commit, or from
# a store that does not sync would come sooner.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/lazyfs_lib.sh"

DELAY_MS=50
lz_mount
ct_write_conf
sed -i "s|^data_dir = .*|data_dir = $LZ/data|" "$CONF"
ct_start
lz_cmd "fsync delay $DELAY_MS"
syncs() { sed -n 's/.* syncs=\([0-9]*\).*/\1/p' "$LZ/.lazyfs"; }
syncs0=$(syncs)

$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" "$DELAY_MS" <<'PY' || fail "OK timing"
import selectors, sys, time
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
port, delay = int(sys.argv[1]), int(sys.argv[3]) / 1000.0
NSCALES, NREC, EVERY = 5, 8, 0.035     # a record every 35 ms per scale, offset by 7 ms
sel = selectors.DefaultSelector()
scales = []
for i in range(NSCALES):
    s = sl.Scale(port)
    s.send(b"SCALE-%02d" % (41 + i))
    s.sock.setblocking(False)
    st = {"s": s, "i": i, "sent": 0, "at": None, "next": time.monotonic() + 0.2 + i * 0.007}
    sel.register(s.sock, selectors.EVENT_READ, st)
    scales.append(st)
waits, end = [], time.monotonic() + 30
while len(waits) < NSCALES * NREC:
    now = time.monotonic()
    if now > end:
        raise SystemExit("FAIL: %d of %d OKs in 30 s" % (len(waits), NSCALES * NREC))
    for st in scales:
        if st["at"] is None and st["sent"] < NREC and now >= st["next"]:
            st["sent"] += 1
            rec = sl.record(net=1000 * (st["i"] + 1) + st["sent"],
                            barcode=b"%02d%010d" % (41 + st["i"], st["sent"]))
            st["at"] = time.monotonic()
            st["s"].sock.sendall(rec + sl.CRLF + sl.PROMPT)
    for key, _ in sel.select(timeout=0.002):
        st = key.data
        d = st["s"].sock.recv(64)
        if not d:
            raise SystemExit("FAIL: scale %d: connection closed" % st["i"])
        for _ in range(d.count(b"OK\n")):
            if st["at"] is None:
                raise SystemExit("FAIL: scale %d: an OK nobody asked for" % st["i"])
            waits.append(time.monotonic() - st["at"])
            st["at"], st["next"] = None, time.monotonic() + EVERY
waits.sort()
print("ok: %d OKs, record -> OK %.1f ms at least, %.1f ms median, %.1f ms at most"
      % (len(waits), waits[0] * 1e3, waits[len(waits) // 2] * 1e3, waits[-1] * 1e3))
if waits[0] < delay:
    raise SystemExit("FAIL: an OK came %.1f ms after its record, before a %d ms sync could end"
                     % (waits[0] * 1e3, delay * 1e3))
PY
# each commit synced at least once: fewer syncs than commits would mean a
# commit that did not reach the disk (40 records in far fewer commits)
commits=$(worker_status store commits)
[ $(($(syncs) - syncs0)) -ge "$commits" ] ||
	fail "lazyfs saw $(($(syncs) - syncs0)) syncs for $commits commits"
echo "ok: every OK after its record's commit ($commits commits, $(($(syncs) - syncs0)) syncs)"
