#!/usr/bin/env bash
# Field values from the contract (issue 12), checked by the independent
# Python cloud, which logs what it received: globalDeviceId is the same in
# events and in device_* messages, and follows a change of [edge] site_id
# (SIGHUP) in both; deviceType is disassembly by default and the [scale]
# device_type otherwise. The cloud answers `register` with nothing at all
# (--reply none): the edge streams regardless.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

"$PY" "$CT_TOP/tests/cloud_py/cloud.py" "$CLOUD_PORT" --reply none >"$T/pycloud.log" 2>&1 &
CT_PIDS+=($!)
py_up() { grep -q "^listening $CLOUD_PORT" "$T/pycloud.log"; }
wait_for 20 "python cloud listening" py_up
cloud_conf "[scale SCALE-02]
device_type = retail"
ct_start
wait_for 10 "link up without a registration reply" link_is up
[ "$(cloud_status registered)" = "no reply (streaming)" ] ||
	fail "registered: $(cloud_status registered)"

acks() { awk '$1 == "ack" && $3 == "accepted"' "$T/pycloud.log" | wc -l; }
acks_are() { [ "$(acks)" -ge "$1" ]; }
scales first --scales 2 --records 5 --rate 20 --controlled --wait-ok
wait_for 30 "scales done" scales_done
wait_for 20 "10 events accepted" acks_are 10
wait_for 10 "store has nothing pending" pending_is 0

# Every event and every device message of a scale name it alike.
check_site() {   # check_site SITE: every ack and device line so far names SITE
	awk -v site="$1" '
	$1 == "ack" && $4 != site "-SCALE-0" substr($4, length($4)) { bad++; print "event:", $0 }
	$1 == "device" && $4 != site "-" $3 { bad++; print "device:", $0 }
	END { exit bad > 0 }' "$T/pycloud.log" || fail "globalDeviceId not $1-<scale> everywhere"
}
check_site SITE01
grep -q "^device device_connected SCALE-01 SITE01-SCALE-01 disassembly$" "$T/pycloud.log" ||
	fail "SCALE-01 not announced as disassembly"
grep -q "^device device_connected SCALE-02 SITE01-SCALE-02 retail$" "$T/pycloud.log" ||
	fail "SCALE-02 not announced with its configured device_type"

# The site is renamed: both kinds of message follow.
sed -i 's/^site_id = SITE01$/site_id = SITE02/' "$CONF"
before=$(wc -l <"$T/pycloud.log")
kill -HUP "$(cat "$T/daemon.pid")"
site2_up() { [ "$(cloud_status site_id)" = SITE02 ] && link_is up; }
wait_for 15 "cloud worker back with site SITE02" site2_up
scales second --scales 2 --records 5 --rate 20 --controlled --wait-ok
wait_for 30 "scales done again" scales_done
wait_for 20 "20 events accepted" acks_are 20
tail -n +"$((before + 1))" "$T/pycloud.log" >"$T/after.log"
awk '$1 == "ack" && $4 !~ /^SITE02-SCALE-0[12]$/ { bad++; print } END { exit bad > 0 }' \
	"$T/after.log" || fail "events after the rename do not say SITE02"
grep -q "^device device_connected SCALE-01 SITE02-SCALE-01 disassembly$" "$T/after.log" ||
	fail "device_connected after the rename does not say SITE02"
echo "globalDeviceId and deviceType ok"
