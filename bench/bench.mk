# Whole-edge benchmarks (bench/bench.sh): `make bench` (< 10 min, writes
# bench/RESULTS.md) and `make bench-quick` (< 1 min, smaller counts, writes
# nothing). The store's own benchmark (bench/store.mk) adds itself to
# `bench` as a prerequisite, so it runs first when it exists.
# BENCH_RUNS (default 3), BENCH_DIR (storage to measure), BENCH_KEEP=1.
BENCH_HELPERS := $(addprefix $(BUILD)/tests/,bench_probe bench_watch bench_fsync bench_fill)

.PHONY: bench bench-quick
bench: $(BINS) $(BENCH_HELPERS)
	BUILD=$(BUILD) bench/bench.sh --results bench/RESULTS.md

bench-quick: $(BINS) $(BENCH_HELPERS)
	BUILD=$(BUILD) bench/bench.sh --quick
