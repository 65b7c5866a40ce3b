#!/usr/bin/env bash
# carnitrackctl sessions / batches / events / devices read the LMDB store
# directly (read-only) and print what tests/helpers/store_fill.c wrote.
. "$CT_TOP/tests/integration/lib.sh"

ct_write_conf
ctl() { "$B/carnitrackctl" -c "$CONF" "$@"; }

# Before the store exists: a clear error, exit 2, no store created.
if ctl events >"$T/out" 2>"$T/err"; then fail "events without a store succeeded"; fi
grep -q "not created" "$T/err" || fail "no clear error without a store: $(cat "$T/err")"
[ ! -e "$T/data/store" ] || fail "a read-only command created the store"

"$B/tests/store_fill" "$T/data"

ctl sessions >"$T/out"
grep -E "^SCALE-01 +sess-1 +active +A-123" "$T/out" >/dev/null || fail "sessions: $(cat "$T/out")"

ctl batches >"$T/out"
grep -E "SCALE-02 +closed +2 +2 +1000 " "$T/out" >/dev/null || fail "batches: $(cat "$T/out")"

ctl events >"$T/out"
[ "$(grep -c SCALE- "$T/out")" -eq 5 ] || fail "events: want 5 rows: $(cat "$T/out")"
head -2 "$T/out" | tail -1 | grep -E "^ +5 " >/dev/null ||
	fail "events: newest first: $(cat "$T/out")"
grep -E "SCALE-01 +00001 +1000 .* sess-1 +accepted" "$T/out" >/dev/null || fail "events: acked row"
grep -E "1001 .*rejected: Invalid PLU code" "$T/out" >/dev/null || fail "events: rejected row"
grep -E "SCALE-02 .*batch:" "$T/out" >/dev/null || fail "events: batch tag"

ctl events --pending >"$T/out"
[ "$(grep -c SCALE- "$T/out")" -eq 3 ] || fail "events --pending: want 3: $(cat "$T/out")"
head -2 "$T/out" | tail -1 | grep -E "^ +3 " >/dev/null ||
	fail "pending oldest first: $(cat "$T/out")"

ctl events --limit 2 >"$T/out"
[ "$(grep -c SCALE- "$T/out")" -eq 2 ] || fail "events --limit 2: $(cat "$T/out")"
if ctl events --limit x 2>/dev/null; then fail "bad --limit accepted"; fi

ctl devices >"$T/out"
grep -E "^SCALE-01 +SITE01-SCALE-01 +connected +127.0.0.1 " "$T/out" >/dev/null ||
	fail "devices: $(cat "$T/out")"
grep -E "^SCALE-02 +SITE01-SCALE-02 " "$T/out" >/dev/null ||
	fail "devices: SCALE-02 from its events"
echo "ok: store ctl tables"
