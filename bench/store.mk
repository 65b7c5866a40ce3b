# Store benchmarks: `make bench-store` (also part of `make bench`).
# BENCH_STORE_DIR: where the environment lives (default: a temp dir);
# point it at the real storage (SD card, eMMC) to measure that.
BENCH_STORE_DIR ?=
BENCH_STORE_SECS ?= 2

.PHONY: bench-store
bench-store: $(BUILD)/bench/bench_commit
	$(BUILD)/bench/bench_commit $(if $(BENCH_STORE_DIR),$(BENCH_STORE_DIR),) \
	    $(if $(BENCH_STORE_DIR),$(BENCH_STORE_SECS),)

bench: bench-store
