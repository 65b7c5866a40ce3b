#!/usr/bin/env bash
# lib/ws against a WebSocket stack we did not write (python3-websockets),
# over ws:// and wss://: identity headers, echo, fragmented message, ping/
# pong, a refused token, a message over max_msg (1009), a close by the peer,
# and a peer that drops TCP without a close frame.
set -euo pipefail
: "${BUILD:=build}" "${CT_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
PROBE=$CT_TOP/$BUILD/tests/ws_probe
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/srv.key" \
	-out "$tmp/srv.pem" -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

"$PY" "$CT_TOP/tests/helpers/ws_pyserver.py" --port-file "$tmp/plain.port" --token t0k \
	>"$tmp/plain.log" 2>&1 &
pids+=($!)
"$PY" "$CT_TOP/tests/helpers/ws_pyserver.py" --port-file "$tmp/tls.port" --token t0k \
	--cert "$tmp/srv.pem" --key "$tmp/srv.key" >"$tmp/tls.log" 2>&1 &
pids+=($!)
for n in plain tls; do
	for _ in $(seq 100); do [ -s "$tmp/$n.port" ] && break; sleep 0.05; done
	[ -s "$tmp/$n.port" ] ||
		{ cat "$tmp/$n.log" >&2; fail "python $n server did not start within 5 s"; }
done
plain="ws://127.0.0.1:$(cat "$tmp/plain.port")/edge"
tls="wss://127.0.0.1:$(cat "$tmp/tls.port")/edge"

run() {   # expected exit, output file, probe args...
	local want_rc=$1 f=$2 rc; shift 2
	"$PROBE" --timeout 5000 "$@" >"$f" 2>&1 && rc=0 || rc=$?
	[ "$rc" = "$want_rc" ] || fail "ws_probe $* exited $rc, wanted $want_rc: $(cat "$f")"
}
has() { grep -qxF -- "$2" "$1" || fail "expected line \"$2\" in: $(cat "$1")"; }

for url in "$plain" "$tls"; do
	extra=(); [ "$url" = "$tls" ] && extra=(--ca-file "$tmp/srv.pem")
	echo "== $url: echo, fragments, headers, ping"
	run 0 "$tmp/out" --url "$url" "${extra[@]}" --token t0k --edge-id edge-42 --site-id site-7 \
		--send hello --send frag --send headers --expect 3 --ping
	has "$tmp/out" "text: hello"
	has "$tmp/out" "text: abcdef"
	has "$tmp/out" "pong"
	has "$tmp/out" "close: closed locally: 1000 done"
	hdr=$(sed -n 's/^text: {/{/p' "$tmp/out")
	echo "$hdr" | "$PY" -c '
import json, sys
h = json.load(sys.stdin)
want = {"X-Client-Type": "edge", "X-Client-Version": "probe", "X-Edge-Id": "edge-42",
        "X-Site-Id": "site-7", "Authorization": "Bearer t0k", "Sec-WebSocket-Version": "13",
        "Upgrade": "websocket"}
bad = {k: h.get(k) for k, v in want.items() if h.get(k) != v}
sys.exit("headers wrong: %r" % bad if bad else 0)' || fail "headers: $hdr"

	echo "== $url: wrong token refused with the status line"
	run 1 "$tmp/out" --url "$url" "${extra[@]}" --token nope
	has "$tmp/out" "close: upgrade refused: HTTP/1.1 401 Unauthorized"

	echo "== $url: message over max_msg closes with 1009"
	run 1 "$tmp/out" --url "$url" "${extra[@]}" --token t0k --max-msg 1000 --send big:5000 \
		--expect 1
	has "$tmp/out" "close: message too big (over 1000 bytes), closed with 1009"
	run 0 "$tmp/out" --url "$url" "${extra[@]}" --token t0k --max-msg 1000 --send big:1000 \
		--expect 1

	echo "== $url: close by the peer"
	run 1 "$tmp/out" --url "$url" "${extra[@]}" --token t0k --send close --expect 1
	has "$tmp/out" "close: closed by peer: 1000 bye"

	echo "== $url: TCP dropped without a close frame"
	run 1 "$tmp/out" --url "$url" "${extra[@]}" --token t0k --send drop --expect 1
	grep -q "^close: connection to 127.0.0.1:[0-9]* lost" "$tmp/out" ||
		fail "drop: $(cat "$tmp/out")"
done
echo PASS
