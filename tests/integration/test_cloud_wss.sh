#!/usr/bin/env bash
# wss:// end to end with the reference cloud serving TLS: its self-signed
# certificate fails verification against the system CA store (shown in
# status, nothing sent), and with ca_file pointing at it events flow.
set -euo pipefail
. "${CT_TOP:-.}/tests/integration/lib.sh"
. "$CT_TOP/tests/cloud_py/cloud_lib.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
sim_cloud --cert "$T/cert.pem" --key "$T/key.pem"
wss_conf() {
	ct_write_conf "[cloud]
url = wss://localhost:$CLOUD_PORT/edge
offline_grace = 1s
${1:-}"
}

wss_conf
ct_start
verify_failed() { cloud_status last_error | grep -qi "certificate verify failed"; }
wait_for 15 "status shows the failed verification" verify_failed
[ "$(simstat registers)" = 0 ] || fail "registered over an unverified TLS link"
ct_stop

wss_conf "ca_file = $T/cert.pem"
ct_start
wait_for 15 "edge registered over wss" link_is up
scales run --records 3 --wait-ok
wait_for 20 "scale done" scales_done
wait_for 10 "3 events accepted over wss" simstat_is accepted 3
wait_for 10 "store has nothing pending" pending_is 0
echo "wss ok"
