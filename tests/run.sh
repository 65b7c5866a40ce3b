#!/usr/bin/env bash
# Runs the test programs of one build directory and prints one summary line.
#   tests/run.sh [unit|integration|all|long]  (BUILD=build by default)
# Unit tests are check suites (build/tests/test_*), corpus replays feed every
# checked-in fuzz input to its target, integration tests are
# tests/integration/*.sh run against the real binaries in $BUILD. "long" runs
# tests/long/*.sh (minutes each: power cuts), one at a time, never with "all".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
what=${1:-all}
export BUILD CT_TOP=$PWD
passed=0; failed=0; failures=()
logdir=$BUILD/test-logs; mkdir -p "$logdir"

run() {   # name, timeout seconds, command...
	local name=$1 t=$2; shift 2
	local log=$logdir/$name.log start=$SECONDS
	if timeout --kill-after=10 "$t" "$@" >"$log" 2>&1; then
		passed=$((passed + 1)); printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - start))
	else
		failed=$((failed + 1)); failures+=("$name")
		printf 'FAIL %-40s %3ds (log: %s)\n' "$name" $((SECONDS - start)) "$log"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		run "$(basename "$t")" 300 env CK_DEFAULT_TIMEOUT=60 "$t"
	done
	for r in "$BUILD"/tests/replay_fuzz_*; do
		[ -x "$r" ] || continue
		n=$(basename "$r"); n=${n#replay_fuzz_}
		[ -d tests/fuzz/corpus/$n ] || continue
		run "replay_$n" 300 "$r" "tests/fuzz/corpus/$n"
	done
fi
# Integration tests mostly wait (on outages, timeouts, scales): run
# CT_JOBS (4) of them at once; each has its own temp dir and ports.
if [ "$what" = integration ] || [ "$what" = all ]; then
	jobs_max=${CT_JOBS:-4}
	declare -A running=()
	reap() {   # waits for one finished job
		local pid name rc
		while :; do
			for pid in "${!running[@]}"; do
				if ! kill -0 "$pid" 2>/dev/null; then
					name=${running[$pid]}
					unset "running[$pid]"
					rc=0; wait "$pid" || rc=$?
					if [ "$rc" -eq 0 ]; then
						passed=$((passed + 1));
							printf 'PASS %-40s %s\n' "$name" \
							"$(cat "$logdir/$name.time")"
					else
						failed=$((failed + 1)); failures+=("$name")
						printf 'FAIL %-40s %s (log: %s)\n' "$name" \
							"$(cat "$logdir/$name.time")" \
							"$logdir/$name.log"
						tail -n 30 "$logdir/$name.log" | sed 's/^/    /'
					fi
					return
				fi
			done
			sleep 0.2
		done
	}
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		while [ "${#running[@]}" -ge "$jobs_max" ]; do reap; done
		( start=$SECONDS; rc=0
		  timeout --kill-after=10 300 bash "$t" >"$logdir/$name.log" 2>&1 || rc=$?
		  printf '%3ds' $((SECONDS - start)) > "$logdir/$name.time"; exit $rc ) &
		running[$!]=$name
	done
	while [ "${#running[@]}" -gt 0 ]; do reap; done
fi

if [ "$what" = long ]; then
	for t in tests/long/test_*.sh; do
		[ -f "$t" ] || continue
		run "$(basename "$t" .sh)" 1800 bash "$t"
	done
fi

echo "== $BUILD: $passed passed, $failed failed"
for f in "${failures[@]}"; do echo "   failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
