# REST client benchmark: `make bench-rest` (about 10 s). lib/http + lib/rest
# alone posting a backlog as /events/batch to carnitrack-cloudsim --rest on
# loopback (bench/bench_rest.sh), for batch sizes and requests in flight the
# daemon does not vary; the daemon's own REST figures (ingest, drain) are in
# `make bench`.
.PHONY: bench-rest
bench-rest: $(BUILD)/carnitrack-cloudsim $(BUILD)/bench/bench_rest
	BUILD=$(BUILD) bench/bench_rest.sh
