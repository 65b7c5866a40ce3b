/*
 * Builds the backlog for the drain benchmark: N weighings captured while the
 * cloud link was down, written with the store's own API exactly as the store
 * worker writes them offline (each record line parsed by the DP-401 parser,
 * tagged into its scale's open offline batch, link state "down"), but in
 * transactions of 10,000 so a million take seconds rather than the minute
 * the scale port would need. Run it before carnitrackd starts: LMDB allows
 * one writer.
 * Usage: bench_fill DATA_DIR N [SCALES] [MAP_BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp401/dp401.h"
#include "event/event.h"
#include "store/store.h"

#define PER_TXN 10000

static int
make_event(struct ct_event *ev, int scale, long no, int64_t now_ms)
{
	char line[512], barcode[16], reason[128];
	time_t now = (time_t)(now_ms / 1000);
	struct tm tm;
	size_t n;

	localtime_r(&now, &tm);
	snprintf(barcode, sizeof(barcode), "%02d%010ld", scale, no);
	struct dp401_fmt f = {
		.plu_prefix = "", .plu = 1 + (unsigned)(no % 50),
		.hh = tm.tm_hour, .mi = tm.tm_min, .ss = tm.tm_sec,
		.dd = tm.tm_mday, .mo = tm.tm_mon + 1, .yyyy = tm.tm_year + 1900,
		.product = "KIYMA", .barcode = barcode, .code = "0000",
		.operator_name = "KAAN", .gross = 1000 + no % 100000, .tare = 1000,
		.net = no % 100000, .flags = "2021N", .company = "KORKUT KAAN BALTA",
	};
	if ((n = dp401_format_record(&f, line, sizeof(line))) == 0)
		return -1;
	memset(ev, 0, sizeof(*ev));
	if (dp401_parse_record((const uint8_t *)line, n, 1, ev, reason, sizeof(reason)) != 0) {
		fprintf(stderr, "bench_fill: record does not parse: %s\n", reason);
		return -1;
	}
	if (ct_uuid_new(ev->local_id) != 0)
		return -1;
	snprintf(ev->device_id, sizeof(ev->device_id), "SCALE-%02d", scale);
	snprintf(ev->source_ip, sizeof(ev->source_ip), "127.0.0.1");
	ev->received_at_ms = now_ms;
	return 0;
}

int
main(int argc, char **argv)
{
	struct store_opts o = { .site_id = "SITE01" };
	struct store *st;
	struct ct_event ev;
	char err[512];
	long n, scales;
	bool dup;

	if (argc < 3 || (n = atol(argv[2])) < 1 || (scales = argc > 3 ? atol(argv[3]) : 50) < 1 ||
	    scales > 99) {
		fprintf(stderr, "usage: bench_fill DATA_DIR N [SCALES 1..99] [MAP_BYTES]\n");
		return 2;
	}
	o.map_size = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
	if (dp401_set_timezone("Europe/Istanbul") != 0)
		dp401_set_timezone("UTC");
	if (store_open(&st, argv[1], &o, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_fill: %s\n", err);
		return 1;
	}
	for (long i = 0; i < n; ) {
		int64_t now = ct_now_ms();
		if (store_begin(st, now) != STORE_OK ||
		    (i == 0 && store_link_put(st, false) != STORE_OK))
			goto fail;
		for (long j = 0; j < PER_TXN && i < n; j++, i++) {
			int scale = 1 + (int)(i % scales);
			if (make_event(&ev, scale, i / scales + 1, now) != 0)
				goto fail;
			if (store_put_event(st, &ev, false, &dup) != STORE_OK)
				goto fail;
		}
		if (store_commit(st) != STORE_OK)
			goto fail;
	}
	store_close(st);
	printf("fill events=%ld scales=%ld\n", n, scales);
	return 0;
fail:
	fprintf(stderr, "bench_fill: %s\n", store_errmsg(st));
	store_close(st);
	return 1;
}
