#!/usr/bin/env bash
# wss:// certificate checks of lib/ws against a python3-websockets TLS server:
# self-signed refused, CA file accepted, unknown CA refused, wrong host
# refused, expired refused, pin mismatch refused, pin match accepted (base64
# and hex), IP address identity, and the token refused/accepted.
set -euo pipefail
: "${BUILD:=build}" "${CT_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
PROBE=$CT_TOP/$BUILD/tests/ws_probe
[ -x "$PROBE" ] || PROBE=$BUILD/tests/ws_probe
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- certificates (EC P-256: fast to make) ----
cd "$tmp"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 3 -subj "/CN=CarniTrack Test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext \
	"keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
leaf() {   # name, subjectAltName, [extra openssl ca args...]: CA-signed leaf
	local n=$1 san=$2; shift 2
	openssl req -new "${ec[@]}" -keyout "$n.key" -out "$n.csr" -subj "/CN=$n" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$san" > "$n.ext"
	if [ $# -eq 0 ]; then
		openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$n.ext" -out "$n.pem" 2>/dev/null
	else
		"$@" -in "$n.csr" -extfile "$n.ext" -out "$n.pem" 2>>openssl.log
	fi
}
leaf good "DNS:localhost,IP:127.0.0.1"
leaf wronghost "DNS:wrong.example.com"
# An expired leaf needs explicit dates: `openssl ca` is the CLI that takes them.
mkdir -p ca.db && : > ca.db/index && echo 01 > ca.db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = $tmp/ca.db/index
serial = $tmp/ca.db/serial
new_certs_dir = $tmp/ca.db
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
CNF
leaf expired "DNS:localhost,IP:127.0.0.1" openssl ca -batch -notext -config ca.cnf -cert ca.pem \
	-keyfile ca.key -startdate 20200101000000Z -enddate 20200201000000Z
openssl req -x509 "${ec[@]}" -keyout self.key -out self.pem -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
spki_b64() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64; }
spki_hex() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -c | sed 's/.*= //'; }
cd - >/dev/null

# ---- one TLS server per certificate ----
declare -A port
start() {   # name: a server with <name>.pem, its port lands in $tmp/<name>.port
	local n=$1
	"$PY" "$CT_TOP/tests/helpers/ws_pyserver.py" --host localhost --port-file "$tmp/$n.port" \
		--cert "$tmp/$n.pem" --key "$tmp/$n.key" --token sekret >"$tmp/$n.log" 2>&1 &
	pids+=($!)
}
for n in good wronghost expired self; do start $n; done
for n in good wronghost expired self; do
	for _ in $(seq 100); do [ -s "$tmp/$n.port" ] && break; sleep 0.05; done
	[ -s "$tmp/$n.port" ] ||
		{ cat "$tmp/$n.log" >&2; fail "server $n did not start within 5 s"; }
	port[$n]=$(cat "$tmp/$n.port")
done

probe() {   # expected exit, expected last line (substring), probe args...
	local want_rc=$1 want=$2 out rc; shift 2
	out=$("$PROBE" --timeout 5000 --token sekret "$@" 2>&1) && rc=0 || rc=$?
	[ "$rc" = "$want_rc" ] || fail "ws_probe $* exited $rc, wanted $want_rc: $out"
	case "$(printf '%s\n' "$out" | tail -n 1)" in
	*"$want"*) ;;
	*) fail "ws_probe $*: last line not \"$want\": $out" ;;
	esac
	echo "ok: ${want}"
}

echo "== self-signed certificate refused (system CA store)"
probe 1 "close: certificate verify failed: self-signed certificate" \
	--url "wss://localhost:${port[self]}/"
echo "== self-signed certificate refused even with our CA file"
probe 1 "close: certificate verify failed: self-signed certificate" \
	--url "wss://localhost:${port[self]}/" --ca-file "$tmp/ca.pem"
echo "== CA file accepted"
probe 0 "close: closed locally: 1000 done" --url "wss://localhost:${port[good]}/" \
	--ca-file "$tmp/ca.pem" --send hello --expect 1
echo "== IP address identity (SAN IP:127.0.0.1) accepted"
probe 0 "close: closed locally: 1000 done" --url "wss://127.0.0.1:${port[good]}/" \
	--ca-file "$tmp/ca.pem" --send hello --expect 1 --ping
echo "== CA-signed but CA unknown (system store) refused"
probe 1 "close: certificate verify failed: unable to get local issuer certificate" \
	--url "wss://localhost:${port[good]}/"
echo "== wrong host refused"
probe 1 "close: certificate verify failed: hostname mismatch" \
	--url "wss://localhost:${port[wronghost]}/" --ca-file "$tmp/ca.pem"
echo "== IP not in certificate refused"
probe 1 "close: certificate verify failed: IP address mismatch" \
	--url "wss://127.0.0.1:${port[wronghost]}/" --ca-file "$tmp/ca.pem"
echo "== expired refused"
probe 1 "close: certificate verify failed: certificate has expired" \
	--url "wss://localhost:${port[expired]}/" --ca-file "$tmp/ca.pem"
echo "== pin mismatch refused (pin of another key)"
probe 1 "close: pin mismatch: server key is sha256//$(spki_b64 "$tmp/good.pem")" \
	--url "wss://localhost:${port[good]}/" --ca-file "$tmp/ca.pem" --pin \
	"$(spki_b64 "$tmp/self.pem")"
echo "== pin match accepted (base64, and hex with colons)"
probe 0 "close: closed locally: 1000 done" --url "wss://localhost:${port[good]}/" \
	--ca-file "$tmp/ca.pem" --pin "$(spki_b64 "$tmp/good.pem")" --send hi --expect 1
probe 0 "close: closed locally: 1000 done" --url "wss://localhost:${port[good]}/" \
	--ca-file "$tmp/ca.pem" --pin "$(spki_hex "$tmp/good.pem")" --send hi --expect 1
echo "== a matching pin does not replace chain verification"
probe 1 "close: certificate verify failed: self-signed certificate" \
	--url "wss://localhost:${port[self]}/" --pin "$(spki_b64 "$tmp/self.pem")"
echo "== wrong token refused with the status line, over TLS"
out=$("$PROBE" --timeout 5000 --token wrong --url "wss://localhost:${port[good]}/" \
	--ca-file "$tmp/ca.pem" 2>&1) && fail "wrong token accepted: $out"
[ "$out" = "close: upgrade refused: HTTP/1.1 401 Unauthorized" ] || fail "wrong token: $out"
echo "ok: wrong token"
echo "== plain ws:// to a TLS port fails within the timeout, with a reason"
out=$("$PROBE" --timeout 1000 --url "ws://localhost:${port[good]}/" 2>&1) && fail "accepted: $out"
case "$out" in *"close: "*) ;; *) fail "no reason: $out" ;; esac
echo "ok: $out"
echo "PASS"
