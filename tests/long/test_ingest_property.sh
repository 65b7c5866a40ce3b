#!/usr/bin/env bash
# The ingest property test (tests/unit/test_dp401_property.c) at 20 times
# its make check size and with a new seed each run (printed, to reproduce
# with PROPERTY_SEED=... PROPERTY_CASES=...).
set -euo pipefail
B=${BUILD:-build}
seed=${PROPERTY_SEED:-$RANDOM$RANDOM}
echo "seed $seed"
PROPERTY_CASES=${PROPERTY_CASES:-200000} PROPERTY_SEED=$seed CK_DEFAULT_TIMEOUT=1200 \
	"$B/tests/test_dp401_property"
