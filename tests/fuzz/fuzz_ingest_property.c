/*
 * The ingest property (tests/unit/dp401_property.h) under libFuzzer: each
 * input names a seed (a hash of its first 64 bytes); the harness builds a
 * random conversation of records, bad lines, tokens, garbage and P" copies
 * from it, cuts it at random TCP boundaries with bridge heartbeats, and
 * checks every OK and every stored record. make check runs 10,000 fixed
 * seeds (test_dp401_property) and replays this corpus; `make fuzz` searches
 * many more.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PROP_FAIL(caseno, seed, why) do { \
	fprintf(stderr, "ingest property: case %u (PROPERTY_SEED=%llu PROPERTY_CASES=1): %s\n", \
	    (caseno), (unsigned long long)(seed), (why)); \
	abort(); \
} while (0)
#include "../unit/dp401_property.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz_set;
	uint64_t seed = 1469598103934665603ull;

	if (!tz_set) {
		if (dp401_set_timezone("Europe/Istanbul") != 0)
			abort();
		tz_set = true;
	}
	for (size_t i = 0; i < size && i < 64; i++) {
		seed ^= data[i];
		seed *= 1099511628211ull;
	}
	run_case(0, seed);
	return 0;
}
