#!/usr/bin/env bash
# Issue 15 item 1: a record-shaped line that cannot be decoded (too few
# fields, a bad number, a 6-digit PLU) used to be OK'd and dropped. Now it is
# a quarantined raw record: in LMDB (bytes, scale, time, reason) before the
# OK that covers it, listed by `carnitrackctl events --invalid`, counted in
# status, never sent to the cloud. Bytes that are provably no record
# (garbage, tokens) are still only counted.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

sim_cloud
cloud_conf
ct_start
wait_for 10 "edge registered with the cloud" link_is up

$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" <<'PY' || fail "scale"
import sys
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
s = sl.Scale(int(sys.argv[1]))
good = sl.record(net=1001)
s.send(b"SCALE-07", good + sl.CRLF,
       b"00001,not,a,record" + sl.CRLF,
       good[:110] + b"12x4567890" + good[120:] + sl.CRLF,
       b"123456" + good[5:] + sl.CRLF,
       b"hello world, no record" + sl.CRLF + b"HB",
       sl.PROMPT)
s.wait_oks(1)
PY
# What the OK covered is on disk now, before anything else happens.
ct events --invalid > "$T/invalid.txt"
cat "$T/invalid.txt"
[ "$(grep -c '^2[0-9-]*T.* SCALE-07 *127\.0\.0\.1 ' "$T/invalid.txt")" = 3 ] ||
	fail "want 3 quarantined lines of SCALE-07 from 127.0.0.1"
grep -q '4 fields, a record has at least 10' "$T/invalid.txt" || fail "reason: field count"
grep -q 'gross weight "12x4567890" is not an integer' "$T/invalid.txt" || fail "reason: bad number"
grep -q 'PLU "123456" is not 5 digits' "$T/invalid.txt" || fail "reason: PLU"
grep -q '^    00001,not,a,record$' "$T/invalid.txt" || fail "bytes of the short line not listed"
grep -q 'hello' "$T/invalid.txt" && fail "garbage was quarantined"
# mdb_dump, the LMDB tool, sees the raw bytes in the quarantine database.
mdb_dump -p -s quarantine "$T/data/store" > "$T/quarantine.dump"
grep -q '00001,not,a,record' "$T/quarantine.dump" || fail "mdb_dump: raw bytes not in quarantine"
[ "$(ct events --limit 0 | grep -c ' SCALE-07 ')" = 1 ] ||
	fail "want exactly 1 event (the good record)"
ct events --invalid --json | jq -e '[.quarantined[] | select(.device_id == "SCALE-07")]
	| length == 3 and any(.raw == "00001,not,a,record" and .line_bytes == 18
	and .raw_cut == false)' >/dev/null ||
	fail "events --invalid --json: $(ct events --invalid --json)"

# Status counts them (store and ingest), and says where to look.
[ "$(worker_status store quarantined)" = 3 ] ||
	fail "store status: quarantined $(worker_status store quarantined)"
[ "$(worker_status ingest counters.quarantined_lines)" = 3 ] || fail "ingest quarantined_lines"
ct status > "$T/status.txt" || true
grep -q 'quarantined lines 3 .*events --invalid' "$T/status.txt" ||
	fail "human status: $(cat "$T/status.txt")"

# Never sent to the cloud: only the good record is.
wait_for 20 "store has nothing pending" pending_is 0
[ "$(simstat accepted)" = 1 ] ||
	fail "cloud accepted $(simstat accepted), want only the good record"
echo "ok: undecodable record-shaped lines quarantined before the OK, listed, counted, not sent"
