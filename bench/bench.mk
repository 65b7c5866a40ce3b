# Whole-edge benchmarks (bench/bench.sh): `make bench` (< 10 min, writes
# bench/RESULTS.md) and `make bench-quick` (< 1 min, smaller counts, writes
# nothing). The store's own benchmark (bench/store.mk) adds itself to
# `bench` as a prerequisite, so it runs first when it exists.
# BENCH_RUNS (default 3), BENCH_DIR (storage to measure), BENCH_KEEP=1.
# Every benchmark program is bench/NAME.c -> $(BUILD)/bench/NAME, built by
# test-build too so that none of them rots.
BENCH_SRC  := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test-build: $(BENCH_BINS)

.PHONY: bench bench-quick
bench: $(BINS) $(BENCH_BINS)
	BUILD=$(BUILD) bench/bench.sh --results bench/RESULTS.md

bench-quick: $(BINS) $(BENCH_BINS)
	BUILD=$(BUILD) bench/bench.sh --quick
