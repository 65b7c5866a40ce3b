#!/usr/bin/env bash
# make demo's script runs on its own for a few seconds: scales get OKs and the
# reference cloud accepts events.
set -euo pipefail
cd "$CT_TOP"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
DEMO_SECONDS=8 DEMO_SCALES=2 timeout 60 etc/demo/demo.sh >"$out" 2>&1 ||
	{ tail -n 40 "$out"; exit 1; }
grep -q "health ok" "$out" || { echo "FAIL: demo status never healthy"; tail -n 40 "$out"; exit 1; }
acc=$(grep -o 'cloudsim: accepted=[0-9]*' "$out" | tail -n1 | cut -d= -f2)
oks=$(grep -o 'dp401-sim: scales=[0-9]* sent=[0-9]* oks=[0-9]*' "$out" | tail -n1 |
	sed 's/.*oks=//')
[ "${acc:-0}" -gt 0 ] || { echo "FAIL: the cloud accepted nothing"; tail -n 40 "$out"; exit 1; }
[ "${oks:-0}" -gt 0 ] || { echo "FAIL: no OKs"; tail -n 40 "$out"; exit 1; }
# stopped in order (scales first), no scale sees its connection dropped
grep -q 'dp401-sim: scales=2 .* errors=0 .* ok_scales=2$' "$out" ||
	{ echo "FAIL: the scales report errors at the demo's end"; tail -n 5 "$out"; exit 1; }
echo "demo ok: cloud accepted $acc, scales got $oks OKs"
