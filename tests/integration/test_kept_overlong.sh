#!/usr/bin/env bash
# Issue 15 item 4: a 5,006-byte record-like line without a line end,
# followed at once by a valid record, then the prompt. Before, the valid
# record was lost and OK'd (the parser skipped to the next line end). Now the
# parser resynchronises on the next record head: the valid record is stored,
# the over-long line is quarantined (its first bytes and its reason), and
# the OK covers both.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
ct_start

$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" <<'PY' || fail "scale"
import sys
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
s = sl.Scale(int(sys.argv[1]))
long_line = sl.record(net=4000)[:120] + b"Z" * (5006 - 120)
assert len(long_line) == 5006
s.send(b"SCALE-06", long_line, sl.record(net=4001) + sl.CRLF, sl.PROMPT)
s.wait_oks(1)
PY
ct events --limit 0 > "$T/events.txt"
cat "$T/events.txt"
[ "$(awk '$3 == "SCALE-06" { print $5 }' "$T/events.txt")" = 4001 ] ||
	fail "the valid record is not stored"
ct events --invalid > "$T/invalid.txt"
cat "$T/invalid.txt"
grep -q 'SCALE-06 .* 4096  line longer than 4096 bytes without a line end; its first bytes kept' \
	"$T/invalid.txt" || fail "the over-long line is not quarantined"
grep -q '^    00001,06:00:27,30.01.2026,KIYMA .*ZZZZ ...$' "$T/invalid.txt" ||
	fail "its bytes are not listed"
[ "$(worker_status ingest counters.overflow_lines)" = 1 ] || fail "overflow_lines"
[ "$(worker_status ingest counters.discarded_bytes)" = $((5006 - 4096)) ] || fail "discarded_bytes"
echo "ok: a record right after an over-long line is stored; the long line quarantined"
