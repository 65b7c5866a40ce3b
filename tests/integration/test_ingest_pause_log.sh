#!/usr/bin/env bash
# Under a flood, ingest stops reading at 2,000 unconfirmed events and
# resumes at 1,800, which flips many times a second. The log must not flap
# with it: the first pause is logged, then at most one summary line per
# 5 s with a count, and every pause and resume is accounted for in the
# lines (the logged ones plus the summaries' counts), ending in the state
# ingest is in ("now: reading from scales").
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
ct_start
start=$SECONDS
# 16 scales (max_per_ip) as fast as TCP takes, no OKs asked for.
bg sim "$B/dp401-sim" -n 16 --rate 0 --records 6000 "127.0.0.1:$SCALE_PORT" >/dev/null
wait_for 60 "the flood sent" grep -q "scales=16 .*errors=0" "$T/sim.log"
all_stored() { [ "$(worker_status store events)" = 96000 ]; }
wait_for 60 "all 96000 records stored" all_stored
pauses=$(worker_status ingest counters.read_pauses)
[ "$(worker_status ingest reading_paused)" = false ] || fail "ingest still paused"
echo "ingest paused its reads $pauses times in $((SECONDS - start)) s"
# A machine whose store keeps up never pauses: nothing to test then, and a
# loaded one must (the bound below only means something with flapping).
[ "$pauses" -ge 3 ] || fail "only $pauses pauses: the flood did not make ingest flap"

PAUSE_RE="ingest: .*(no longer reading from scales|reading from scales again|changes in the last)"
pause_lines() { grep -E "$PAUSE_RE" "$T/daemon.log" || true; }
settled() {
	pause_lines | tail -n 1 | grep -qE "reading from scales again$|now: reading from scales$"
}
wait_for 8 "the last pause line says ingest reads again" settled
pause_lines > "$T/pause.log"
cat "$T/pause.log"
n=$(wc -l < "$T/pause.log")
elapsed=$((SECONDS - start))
# one first line, one summary per 5 s window, one last summary
max=$((2 + elapsed / 5 + 1))
[ "$n" -le "$max" ] || fail "$n pause/resume lines in ${elapsed}s (at most $max): the log flaps"
direct=$(grep -cvE "changes in the last" "$T/pause.log" || true)
counted=$(grep -oE "[0-9]+ changes in the last" "$T/pause.log" | awk '{s += $1} END {print s + 0}')
[ $((direct + counted)) = $((2 * pauses)) ] ||
	fail "lines account for $direct + $counted changes, ingest had $((2 * pauses))"
echo "ok: $((2 * pauses)) changes in $n lines"
