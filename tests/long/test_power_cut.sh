#!/usr/bin/env bash
# Power cuts (issue 15), in `make check-long`: the data dir is on lazyfs,
# which keeps every write since the last fsync/fdatasync of its file in
# memory only. Scales in controlled transfer weigh; then, at a random
# moment, the disk stops (nothing more becomes durable, a sync in flight
# does not finish), every carnitrackd process is killed with SIGKILL, and
# the file system is unmounted, which loses whatever was not synced: a
# power cut.
# After remounting, every record a scale got an OK for must be in the store,
# once. CUTS (default 30) cuts, three new scales each, weighing as fast as
# the OKs come (each OK waits for a synced commit, so commits are always in
# flight, and lazyfs makes each sync take 5 ms, as on an SD card: many cuts
# land between a commit's page writes and its sync).
#
# A last round tells the file system to lie (fsync succeeds, keeps nothing):
# then OK'd records must go missing, or this test could not see a loss.
. "$CT_TOP/tests/integration/lib.sh"
. "$CT_TOP/tests/integration/lazyfs_lib.sh"

CUTS=${CUTS:-30}
SCALES=3
[ $((CUTS * SCALES + SCALES)) -le 99 ] || fail "CUTS=$CUTS needs more than 99 scale ids"

lz_mount
lz_cmd "fsync delay 5"        # an SD card: the store is mostly inside a sync
ct_write_conf "max_per_ip = 100"
sed -i "s|^data_dir = .*|data_dir = $LZ/data|" "$CONF"

# "SCALE-nn BARCODE" of every stored event, and how often
stored() {
	ct events --json --limit 0 | jq -r '.events[] | "\(.device_id) \(.barcode)"' | sort |
		uniq -c
}

# one round: scales weigh until the cut; prints the OK log's path
round() {   # round N
	local n=$1 first=$(( ($1 - 1) * SCALES + 1 )) ok=$T/ok.$1 sim
	ct_start 20
	: > "$ok"
	"$B/dp401-sim" -n $SCALES --first-id $first --controlled --rate 0 --records 0 \
		--hb 1 --ok-log "$ok" "127.0.0.1:$SCALE_PORT" > "$T/sim.$n.log" 2>&1 &
	sim=$!
	wait_for 20 "round $n: OKs flowing" bash -c "[ \$(wc -l < '$ok') -ge 5 ]"
	# the cut lands at a random point of the flow (not a wait for anything)
	sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
	lz_cut                          # the disk stops: nothing more is synced
	pkill -KILL -f "carnitrackd.*$T" || true
	kill -KILL "$sim" 2>/dev/null || true
	{ wait "$sim"; } 2>/dev/null || true
	wait_for 10 "round $n: every carnitrackd process gone" bash -c \
		"! pgrep -f '[c]arnitrackd.*$T'"
	wait "$sim" 2>/dev/null || true
	wait "$(cat "$T/daemon.pid")" 2>/dev/null || true
	rm -f "$T/daemon.pid"
	lz_umount                       # and what was not synced is gone
	lz_mount
	lz_cmd "fsync delay 5"
}

total=0 midcommit=0
for n in $(seq 1 "$CUTS"); do
	: > "$T/lazyfs.log"
	round "$n"
	grep -q "lost [0-9]* writes not synced to data/store/data.mdb" "$T/lazyfs.log" &&
		midcommit=$((midcommit + 1))
	stored > "$T/stored"
	awk '$1 > 1 { print "stored twice:", $2, $3 }' "$T/stored" | head -3 | grep . &&
		fail "round $n"
	awk '{ print $2, $3 }' "$T/stored" | sort > "$T/stored.keys"
	sort -u "$T/ok.$n" > "$T/ok.keys"
	missing=$(comm -23 "$T/ok.keys" "$T/stored.keys" | wc -l)
	oks=$(wc -l < "$T/ok.keys")
	total=$((total + oks))
	inflight=$(grep -o "lost [0-9]* writes not synced to data/store/data.mdb" "$T/lazyfs.log" ||
		echo "no data.mdb write in flight")
	echo "cut $n: $oks OK'd records, all kept; $inflight"
	[ "$missing" = 0 ] || fail "cut $n: $missing of $oks OK'd records lost:" \
		"$(comm -23 "$T/ok.keys" "$T/stored.keys" | head -3)"
done

# The control: a disk that lies about fsync must lose OK'd records.
lz_cmd "fsync ignore"
round $((CUTS + 1))
stored | awk '{ print $2, $3 }' | sort > "$T/stored.keys"
sort -u "$T/ok.$((CUTS + 1))" > "$T/ok.keys"
lost=$(comm -23 "$T/ok.keys" "$T/stored.keys" | wc -l)
[ "$lost" -gt 0 ] || fail "a disk that ignores fsync lost nothing: this test cannot see a power cut"
echo "control: with fsync ignored, $lost of $(wc -l < "$T/ok.keys") OK'd records were lost," \
	"as they must be"
echo "ok: $CUTS power cuts ($midcommit of them in the middle of a commit), $total OK'd records," \
	"none lost"
