#!/usr/bin/env bash
# Issue 15 item 2: the WiFi bridge sends HB on its own timer; when it
# forwards a record in two TCP segments, the HB can land between them.
# Before, such a record was lost (OK'd, not stored). Now the HB is taken out
# (and counted as a heartbeat) and the record kept whole, wherever it lands:
# in the PLU, the time, the date, the text padding, a weight, the company.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
ct_start

lib=$CT_TOP/tests/integration
$PY -I - "$SCALE_PORT" "$lib" > "$T/scale.log" <<'PY' || fail "scale: $(cat "$T/scale.log")"
import sys
sys.path.insert(0, sys.argv[2])
import scale_lib as sl
s = sl.Scale(int(sys.argv[1]))
s.send(b"SCALE-03", sl.record(net=2000) + sl.CRLF)           # the company to compare with
n = 0
# where the bridge cut: PLU, time, date, product padding, operator padding,
# gross, net, a flag, the company, just before the line end
for cut in (3, 9, 20, 35, 100, 115, 138, 150, 160, -1):
    r = sl.record(net=2001 + n)
    cut = cut if cut >= 0 else len(r)
    s.send(r[:cut], b"HB", r[cut:] + sl.CRLF)
    n += 1
s.send(sl.PROMPT)
s.wait_oks(1)
print(n + 1)
PY
want=$(cat "$T/scale.log")
ct events --limit 0 > "$T/events.txt"
cat "$T/events.txt"
got=$(awk '$3 == "SCALE-03" { print $5 }' "$T/events.txt" | sort -n | tr '\n' ' ')
exp=$(seq 2000 $((2000 + want - 1)) | tr '\n' ' ')
[ "$got" = "$exp" ] || fail "stored net weights [$got], want [$exp]"
[ "$(awk '$3 == "SCALE-03" && $4 == "00001"' "$T/events.txt" | wc -l)" = "$want" ] ||
	fail "a PLU is off"
[ "$(worker_status store quarantined)" = 0 ] || fail "something was quarantined"
[ "$(worker_status ingest counters.inner_heartbeats)" = $((want - 1)) ] ||
	fail "heartbeats taken out of records: $(worker_status ingest counters.inner_heartbeats)"
# The kept record line is the one the scale printed, without the HB.
# (Each printed record must appear whole in the dump: a bare grep for "HB"
# also met the two letters by chance among the events' random id bytes.)
mdb_dump -p -s events "$T/data/store" > "$T/events.dump"
$PY -I - "$lib" "$T/events.dump" "$want" <<'PY' || fail "an HB is left in a stored record"
import sys
sys.path.insert(0, sys.argv[1])
import scale_lib as sl
dump = open(sys.argv[2], "rb").read()
for k in range(int(sys.argv[3])):
    r = sl.record(net=2000 + k)
    if r not in dump:
        print("record of net %d not stored whole" % (2000 + k), file=sys.stderr)
        sys.exit(1)
PY
echo "ok: $want records with a bridge HB inside each are stored whole"
