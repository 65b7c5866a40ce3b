# Whole-edge benchmarks (bench/bench.sh): `make bench` (< 10 min, writes
# bench/RESULTS.md) and `make bench-quick` (< 1 min, smaller counts, writes
# nothing). The store's own benchmark (bench/store.mk) adds itself to
# `bench` as a prerequisite, so it runs first when it exists.
# BENCH_RUNS (default 3), BENCH_DIR (storage to measure), BENCH_KEEP=1.
# Every benchmark program is bench/bench_NAME.c -> $(BUILD)/bench/bench_NAME,
# with its parts bench/NAME_*.c when it has more than one file (bench_probe:
# probe_*.c), built by test-build too so that none of them rots.
BENCH_SRC  := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.SECONDEXPANSION:
$(BUILD)/bench/bench_%: $(BUILD)/obj/bench/bench_%.o \
    $$(addprefix $(BUILD)/obj/,$$(subst .c,.o,$$(wildcard bench/$$*_*.c))) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test-build: $(BENCH_BINS)

.PHONY: bench bench-quick
bench: $(BINS) $(BENCH_BINS)
	BUILD=$(BUILD) bench/bench.sh --results bench/RESULTS.md

bench-quick: $(BINS) $(BENCH_BINS)
	BUILD=$(BUILD) bench/bench.sh --quick
