# REST drain benchmark: `make bench-rest` (about 10 s). lib/http + lib/rest
# posting a backlog as /events/batch to carnitrack-cloudsim --rest on
# loopback (bench/bench_rest.sh); not part of `make bench` until the daemon
# speaks REST (issue 13), then its end-to-end figures belong there.
.PHONY: bench-rest
bench-rest: $(BUILD)/carnitrack-cloudsim $(BUILD)/bench/bench_rest
	BUILD=$(BUILD) bench/bench_rest.sh
