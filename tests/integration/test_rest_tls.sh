#!/usr/bin/env bash
# https:// for [cloud] transport = rest, the TLS rules of the WebSocket link
# (lib/ws/ws_tls.c through lib/http): a self-signed certificate against the
# system CA store is refused, a certificate whose names do not match the
# url is refused, an SPKI pin of another key is refused, each shown in
# status with nothing reaching the cloud's API; the certificate as ca_file,
# and a matching pin, let the edge register and deliver, with the bearer
# token sent over TLS (no allow_plaintext_token needed).
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
CLOUD_TRANSPORT=rest
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

cert() {   # cert NAME SAN: a self-signed P-256 certificate for NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj /CN=localhost \
		-addext "subjectAltName=$2" 2>/dev/null
}
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64; }
cert good "DNS:localhost,IP:127.0.0.1"
cert dnsonly "DNS:localhost"
echo tls-token > "$T/token"
chmod 600 "$T/token"
sim_cloud --cert "$T/good.pem" --key "$T/good.key" --require-token tls-token
OTHER_PORT=$(free_port)
bg other "$B/carnitrack-cloudsim" --rest --listen "127.0.0.1:$OTHER_PORT" \
	--control "$(free_port)" --cert "$T/dnsonly.pem" --key "$T/dnsonly.key" --quiet >/dev/null

tls_conf() {   # tls_conf PORT [extra]
	ct_write_conf "[cloud]
transport = rest
url = https://127.0.0.1:$1/api/v1
offline_grace = 1s
token_file = $T/token
${2:-}"
}
refused() {   # refused WHAT PATTERN: the link stays down, status says why
	shows() { cloud_status last_error | grep -q -- "$1"; }
	wait_for 15 "$1 refused, in status" shows "$2"
	link_is up && fail "$1: link up"
	[ "$(simstat rest_requests)" = 0 ] || fail "$1: a request reached the cloud's API"
	true
}
reload() { kill -HUP "$(cat "$T/daemon.pid")"; }   # a changed [cloud]: a new cloud worker

tls_conf "$CLOUD_PORT"
ct_start
refused "a self-signed certificate" "certificate verify failed: self-signed certificate"
tls_conf "$OTHER_PORT" "ca_file = $T/dnsonly.pem"
reload
refused "a certificate for another name" "certificate verify failed: IP address mismatch"
tls_conf "$CLOUD_PORT" "ca_file = $T/good.pem
pin_sha256 = $(spki "$T/dnsonly.pem")"
reload
refused "a pin of another key" "pin mismatch: server key is sha256//$(spki "$T/good.pem")"

tls_conf "$CLOUD_PORT" "ca_file = $T/good.pem
pin_sha256 = $(spki "$T/good.pem")"
reload
wait_for 15 "registered over https, pin matched" link_is up
scales run --records 3 --rate 10 --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "3 events accepted over https" simstat_is accepted 3
wait_for 10 "store has nothing pending" pending_is 0
[ "$(simstat unauthorized)" = 0 ] || fail "a request went without the token"
grep -q "unencrypted" "$T/daemon.log" && fail "a clear-text token warning over https"
no_restarts 3      # one new cloud worker per reload
echo "REST TLS ok"
