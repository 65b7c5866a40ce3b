#!/usr/bin/env bash
# Issue 15: the ingest property test on the real daemon (kept_property.py):
# random conversations of records, bad lines, tokens, garbage and P" copies
# cut at random TCP boundaries with bridge heartbeats in between; after each
# prompt's OK every valid record is an event exactly once and every
# record-shaped line that is no record is quarantined. The 10,000-case run
# over the same code without sockets is tests/unit/test_dp401_property.c.
# KEPT_SEED reproduces a run; KEPT_CASES changes its size.
. "$CT_TOP/tests/integration/lib.sh"

case "$B" in *asan) cases=${KEPT_CASES:-40} ;; *) cases=${KEPT_CASES:-80} ;; esac
seed=${KEPT_SEED:-$RANDOM$RANDOM}
ct_write_conf "max_per_ip = 100"
ct_start
echo "seed $seed, $cases cases"
$PY -I "$CT_TOP/tests/integration/kept_property.py" "$SCALE_PORT" \
	"$B/carnitrackctl -c $CONF" "$cases" "$seed" || fail "property (KEPT_SEED=$seed)"
