/*
 * DP-401 parser fuzz target. Besides "never crash", it checks what the
 * parser promises: the items and counters do not depend on how TCP happened
 * to cut the stream (the input is fed once whole and once in chunks whose
 * sizes come from the input), text fields are valid UTF-8 that fits, the
 * buffer never passes its cap, and nothing wedges it or swallows what
 * follows: after any input, a line end, a good record and a prompt come out
 * as that record and an ack request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp401/dp401.h"

struct digest {
	uint64_t h;
	uint64_t items;
	enum dp401_kind last[2];       /* the two latest items */
	int64_t  last_net;             /* of the latest record */
};

static void
mix(struct digest *d, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		d->h ^= b[i];
		d->h *= 1099511628211ull;
	}
}

static bool
valid_utf8(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	const uint8_t *p = (const uint8_t *)s;

	if (n == cap)
		return false;
	for (size_t i = 0; i < n;) {
		size_t k = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3 :
		    0;
		if (k == 0 || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static void
check_event(const struct ct_event *ev)
{
	if (!valid_utf8(ev->product, sizeof(ev->product)) ||
	    !valid_utf8(ev->operator_name, sizeof(ev->operator_name)) ||
	    !valid_utf8(ev->company, sizeof(ev->company)) ||
	    strnlen(ev->barcode, sizeof(ev->barcode)) == sizeof(ev->barcode) ||
	    strnlen(ev->code, sizeof(ev->code)) == sizeof(ev->code) ||
	    strnlen(ev->flags, sizeof(ev->flags)) == sizeof(ev->flags) ||
	    strlen(ev->plu) != 5 || ev->raw_len > CT_RAW_MAX)
		abort();
}

static const char good_tail[] = "\r\n"
    "00001,06:00:27,30.01.2026,KIYMA           ,000000000001,0000,KAAN"
    "                                            ,0000072091,0000062415,0000009676,2,0,2,1,N,"
    "KORKUT KAAN BALTA\r\n" DP401_ACK_TOKEN;

static struct ct_event prev;
static bool have_prev;

static void
on_item(void *arg, const struct dp401_item *it)
{
	struct digest *d = arg;

	d->items++;
	d->last[0] = d->last[1];
	d->last[1] = it->kind;
	mix(d, &it->kind, sizeof(it->kind));
	switch (it->kind) {
	case DP401_REGISTER:
		if (strlen(it->scale_id) != DP401_SCALE_ID_LEN)
			abort();
		mix(d, it->scale_id, DP401_SCALE_ID_LEN);
		break;
	case DP401_RECORD:
		check_event(it->ev);
		if (it->line_len != it->ev->raw_len ||
		    memcmp(it->line, it->ev->raw, it->line_len) != 0)
			abort();
		mix(d, it->ev->raw, it->ev->raw_len);
		mix(d, &it->ev->scale_ts, sizeof(it->ev->scale_ts));
		mix(d, &it->ev->net_g, sizeof(it->ev->net_g));
		d->last_net = it->ev->net_raw;
		if (have_prev)
			(void)dp401_is_confirmation(&prev, it->ev, DP401_CONFIRM_SKEW_S);
		prev = *it->ev;
		have_prev = true;
		break;
	case DP401_REJECTED:
		if (it->reason == NULL || strlen(it->reason) >= DP401_REASON_MAX ||
		    it->line_len > DP401_BUF_MAX)
			abort();
		mix(d, it->reason, strlen(it->reason));
		mix(d, it->line, it->line_len);
		break;
	default:
		break;
	}
}

static void
run(const uint8_t *data, size_t size, int64_t unit, size_t chunk_seed, struct digest *d,
    struct dp401_counters *cnt)
{
	static struct dp401_parser p;
	size_t off = 0;

	memset(d, 0, sizeof(*d));
	d->h = 1469598103934665603ull;
	have_prev = false;
	dp401_init(&p, unit, on_item, d);
	while (off < size) {
		size_t k = size - off;
		if (chunk_seed != 0) {
			/* Chunk sizes 1..64 drawn from the data itself. */
			size_t want = (size_t)(data[(off * 7 + chunk_seed) % size] % 64) + 1;
			if (want < k)
				k = want;
		}
		dp401_feed(&p, data + off, k);
		if (dp401_pending(&p) >= DP401_BUF_MAX)
			abort();
		off += k;
	}
	*cnt = p.cnt;
	dp401_feed(&p, good_tail, sizeof(good_tail) - 1);
	if (d->last[0] != DP401_RECORD || d->last[1] != DP401_ACK_REQUEST || d->last_net != 9676)
		abort();
	dp401_finish(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz_set;
	struct digest whole, chunked;
	struct dp401_counters cw, cc;
	struct ct_event ev;
	char reason[DP401_REASON_MAX];

	if (!tz_set) {
		if (dp401_set_timezone("Europe/Istanbul") != 0)
			abort();
		tz_set = true;
	}
	if (size == 0)
		return 0;
	int64_t unit = data[0] % 2 ? 100 : 1;
	run(data, size, unit, 0, &whole, &cw);
	run(data, size, unit, 1 + data[size - 1], &chunked, &cc);
	if (whole.h != chunked.h || whole.items != chunked.items ||
	    memcmp(&cw, &cc, sizeof(cw)) != 0)
		abort();
	if (cw.bytes != size)
		abort();

	if (dp401_parse_record(data, size, 1, &ev, reason, sizeof(reason)) == 0)
		check_event(&ev);
	else if (strlen(reason) == 0)
		abort();
	return 0;
}
