#!/usr/bin/env bash
# Issue 15 item 3: record A without its CRLF, then record B, then the
# prompt. Before, A was stored with B inside its company field, B was not
# stored, and both were OK'd. A record has a fixed shape (16 fields: PLU,
# time, date first): the head of a second record inside the first ends it.
# The same for a 10-field record (B's PLU glues onto A's net weight) and for
# a record glued straight to the prompt.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
ct_start

$PY -I - "$SCALE_PORT" "$CT_TOP/tests/integration" <<'PY' || fail "scale"
import sys
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
s = sl.Scale(int(sys.argv[1]))
s.send(b"SCALE-05",
       sl.record(net=3001, company=b"YILMAZ KASAP"),                 # A, no line end
       sl.record(plu=b"00002", net=3002, company=b"YILMAZ KASAP") + sl.CRLF,
       sl.PROMPT)
s.wait_oks(1)
s.send(sl.record(net=3003, ten=True),                                # 10 fields, no line end
       sl.record(plu=b"00004", net=3004, ten=True) + sl.CRLF,
       sl.record(plu=b"00005", net=3005, company=b"YILMAZ KASAP") + sl.PROMPT)
s.wait_oks(2)
PY
ct events --limit 0 > "$T/events.txt"
cat "$T/events.txt"
got=$(awk '$3 == "SCALE-05" { print $4 "/" $5 }' "$T/events.txt" | sort | tr '\n' ' ')
[ "$got" = "00001/3001 00001/3003 00002/3002 00004/3004 00005/3005 " ] ||
	fail "stored [$got], want each record once"
[ "$(worker_status store quarantined)" = 0 ] || fail "something was quarantined"
[ "$(worker_status ingest counters.split_lines)" = 3 ] ||
	fail "lines ended by a record head or prompt: $(worker_status ingest counters.split_lines)"
# A's company is its own (KASAP is not taken for a P" prefix), B not inside it.
mdb_dump -p -s events "$T/data/store" > "$T/events.dump"
grep -q 'YILMAZ KASAP00002' "$T/events.dump" && fail "B is inside A's company"
[ "$(grep -o 'N,YILMAZ KASAP' "$T/events.dump" | wc -l)" = 3 ] || fail "companies not as sent"
echo "ok: records that lost their line end are each stored once, whole"
