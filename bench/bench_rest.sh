#!/usr/bin/env bash
# Runs bench_rest against carnitrack-cloudsim --rest on loopback, for a few
# batch sizes and in-flight counts. BENCH_REST_EVENTS (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
N=${BENCH_REST_EVENTS:-200000}
port=$(/usr/bin/python3 -c \
    'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$B/carnitrack-cloudsim" --rest --quiet --listen "127.0.0.1:$port" --batch-limit 1000 \
	</dev/null >/dev/null 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 6<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
echo "== machine: $(nproc) cores, shared; cloudsim --rest on the same host"
for b in 50 500 1000; do
	for k in 1 4; do
		"$B/bench/bench_rest" --url "http://127.0.0.1:$port/api/v1" --events "$N" \
			--batch "$b" --inflight "$k"
	done
done
