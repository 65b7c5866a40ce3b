/*
 * DP-401 stream framing: control tokens without terminators, record lines and
 * where they end, garbage, and the buffer cap (rules in dp401.h). Matching is
 * dp401_match.c's job, record contents dp401_record.c's.
 *
 * Only complete matches decide anything; a prefix of one (M_MORE) waits for
 * the next read. That is what makes the items independent of how TCP cut
 * the stream.
 */
#include "dp401/dp401_int.h"

#include <stdio.h>
#include <string.h>

static bool
is_eol(uint8_t c)
{
	return c == '\r' || c == '\n';
}

static void
emit_simple(struct dp401_parser *p, enum dp401_kind kind, const uint8_t *id)
{
	struct dp401_item it;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	if (id != NULL) {
		memcpy(it.scale_id, id, DP401_SCALE_ID_LEN);
		it.scale_id[DP401_SCALE_ID_LEN] = '\0';
	}
	p->cb(p->arg, &it);
}

/* Heartbeats found inside another packet: after it, for liveness. */
static void
emit_inner_hbs(struct dp401_parser *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		p->cnt.heartbeats++;
		p->cnt.inner_heartbeats++;
		emit_simple(p, DP401_HEARTBEAT, NULL);
	}
}

static void
emit_line(struct dp401_parser *p, const uint8_t *line, size_t len)
{
	static uint8_t clean[DP401_BUF_MAX];
	const uint8_t *rec = line;
	struct dp401_item it;
	struct ct_event ev;
	char reason[DP401_REASON_MAX];
	unsigned hbs = 0;
	size_t n = len;

	/* one parser runs at a time in a process (no threads): one buffer */
	if (dp401_has_hb(line, len)) {
		n = dp401_strip_hb(line, len, p->prev, p->prev_len, clean, &hbs);
		rec = clean;
	}
	memset(&it, 0, sizeof(it));
	if (dp401_parse_record(rec, n, p->unit_grams, &ev, reason, sizeof(reason)) == 0) {
		p->cnt.records++;
		if (ev.edge_flags & CT_EVF_SCALE_TS_INVALID)
			p->cnt.invalid_times++;
		/* parsed, so n <= CT_RAW_MAX */
		memcpy(p->prev, rec, n);
		p->prev_len = (uint16_t)n;
		it.kind = DP401_RECORD;
		it.ev = &ev;
		it.line = rec;
		it.line_len = n;
		p->cb(p->arg, &it);
		emit_inner_hbs(p, hbs);
		return;
	}
	p->cnt.rejected_lines++;
	it.kind = DP401_REJECTED;
	it.reason = reason;
	it.line = line;
	it.line_len = len;
	p->cb(p->arg, &it);
}

static void
emit_overflow(struct dp401_parser *p, const uint8_t *line, size_t len)
{
	struct dp401_item it;
	char reason[DP401_REASON_MAX];

	p->cnt.overflow_lines++;
	snprintf(reason, sizeof(reason), "line longer than %d bytes without a line end",
	    DP401_BUF_MAX);
	memset(&it, 0, sizeof(it));
	it.kind = DP401_REJECTED;
	it.reason = reason;
	it.line = line;
	it.line_len = len;
	it.overflow = true;
	p->cb(p->arg, &it);
}

static void
emit_ack(struct dp401_parser *p, const struct match_res *r)
{
	p->cnt.ack_requests++;
	emit_simple(p, DP401_ACK_REQUEST, NULL);
	emit_inner_hbs(p, r->hbs);
}

/*
 * A record head has the time's first colon 8 bytes after its start (10
 * after a P" prefix, up to 2 * 4 more with heartbeats inside). A position
 * with no colon in that window starts no head: that keeps the matcher off
 * the ~80 digits of every record. *colon caches the first colon at or after
 * the window's start (n: none in the buffer yet).
 */
#define HEAD_COLON_MIN 8
#define HEAD_COLON_MAX 18

static inline bool
head_possible(const uint8_t *b, size_t n, size_t q, size_t *colon)
{
	if (*colon < q + HEAD_COLON_MIN) {
		const uint8_t *c = q + HEAD_COLON_MIN < n ?
		    memchr(b + q + HEAD_COLON_MIN, ':', n - q - HEAD_COLON_MIN) : NULL;
		*colon = c != NULL ? (size_t)(c - b) : n;
	}
	if (*colon == n)               /* none yet: a head may still be arriving */
		return n - q <= HEAD_COLON_MAX;
	return *colon <= q + HEAD_COLON_MAX;
}

/* What a byte may be the start of inside a line: B_END a line end, token
 * or head (CR, LF, K, H, P), B_DIGIT perhaps a head, 0 nothing. */
enum { B_NONE = 0, B_END, B_DIGIT };
static const uint8_t byte_class[256] = {
	['\r'] = B_END, ['\n'] = B_END, ['K'] = B_END, ['H'] = B_END, ['P'] = B_END,
	['0'] = B_DIGIT, ['1'] = B_DIGIT, ['2'] = B_DIGIT, ['3'] = B_DIGIT, ['4'] = B_DIGIT,
	['5'] = B_DIGIT, ['6'] = B_DIGIT, ['7'] = B_DIGIT, ['8'] = B_DIGIT, ['9'] = B_DIGIT,
};

/* Can b[q] end the line or begin what ends it? The cheap test every byte
 * of a record goes through; line_breaker then looks closer. */
static inline bool
may_break(const uint8_t *b, size_t n, size_t q, size_t head, size_t *colon)
{
	switch (byte_class[b[q]]) {
	case B_END:
		return true;
	case B_DIGIT:
		return q >= head && head_possible(b, n, q, colon);
	default:
		return false;
	}
}

/* What ends a record line at b[q..n): an ack request, or (when head is
 * allowed here) another record's head. *what: 'A' ack, 'R' record, 0. */
static enum match
line_breaker(const uint8_t *b, size_t n, size_t q, bool head_allowed, size_t *colon,
    struct match_res *r, char *what)
{
	enum match ma = M_NO, mr = M_NO;
	uint8_t c = b[q];

	*what = 0;
	if (c == 'K' || c == 'H') {
		if ((ma = dp401_match_ack(b + q, n - q, r)) == M_YES) {
			*what = 'A';
			return M_YES;
		}
	}
	if (head_allowed && (c == 'P' || c == 'H' || (c >= '0' && c <= '9')) &&
	    head_possible(b, n, q, colon)) {
		if ((mr = dp401_match_record_head(b + q, n - q, r)) == M_YES) {
			*what = 'R';
			return M_YES;
		}
	}
	return ma == M_MORE || mr == M_MORE ? M_MORE : M_NO;
}

/* In a record line starting at b[0]: emits what ends it, if that is in
 * the buffer. Returns the bytes consumed (0: the line goes on). */
static size_t
run_line(struct dp401_parser *p, const uint8_t *b, size_t n, bool full)
{
	struct match_res r;
	size_t q = p->scanned, colon = 0;
	char what;

	for (; q < n; q++) {
		if (!may_break(b, n, q, p->head, &colon))
			continue;
		if (is_eol(b[q])) {
			p->state = DP401_ST_IDLE;
			emit_line(p, b, q);
			return q + 1;
		}
		enum match m = line_breaker(b, n, q, q >= p->head, &colon, &r, &what);
		if (m == M_MORE)
			break;
		if (m == M_NO)
			continue;
		p->cnt.split_lines++;
		emit_line(p, b, q);
		if (what == 'A') {
			p->state = DP401_ST_IDLE;
			emit_ack(p, &r);
			return q + r.len;
		}
		/* the next record's line begins here */
		p->state = DP401_ST_LINE;
		p->head = r.head;
		p->scanned = r.head;
		return q;
	}
	p->scanned = q;
	if (!full)
		return 0;
	/* The line fills the buffer: keep what is kept, skip the rest. A
	 * possible token or head at its end (q < n) is left for DISCARD. */
	emit_overflow(p, b, q);
	p->state = DP401_ST_DISCARD;
	p->scanned = 0;
	return q;
}

/* Skipping the rest of an over-long line: up to a line end, an ack
 * request or a record head. Returns the bytes consumed. */
static size_t
run_discard(struct dp401_parser *p, const uint8_t *b, size_t n)
{
	struct match_res r;
	size_t q, colon = 0;
	char what;

	for (q = 0; q < n; q++) {
		if (!may_break(b, n, q, 0, &colon))
			continue;
		if (is_eol(b[q])) {
			p->state = DP401_ST_IDLE;
			p->cnt.discarded_bytes += q;
			return q + 1;
		}
		enum match m = line_breaker(b, n, q, true, &colon, &r, &what);
		if (m == M_MORE)
			break;
		if (m == M_NO)
			continue;
		p->cnt.discarded_bytes += q;
		if (what == 'A') {
			p->state = DP401_ST_IDLE;
			emit_ack(p, &r);
			return q + r.len;
		}
		p->state = DP401_ST_LINE;
		p->head = r.head;
		p->scanned = r.head;
		return q;
	}
	p->cnt.discarded_bytes += q;
	return q;
}

/* Between packets at b[0..n): consumes one packet or one garbage byte.
 * Returns the bytes consumed, 0 when it needs more. */
static size_t
run_idle(struct dp401_parser *p, const uint8_t *b, size_t n)
{
	struct match_res r;
	uint8_t id[DP401_SCALE_ID_LEN];
	enum match m, more = M_NO;

	if (is_eol(b[0]))           /* empty line or the LF of a CRLF */
		return 1;
	if (b[0] == 'H') {
		if (n < 2)
			return 0;
		if (b[1] == 'B') {
			p->cnt.heartbeats++;
			emit_simple(p, DP401_HEARTBEAT, NULL);
			return 2;
		}
	}
	if ((m = dp401_match_scale(b, n, &r, id)) == M_YES) {
		p->cnt.registrations++;
		emit_simple(p, DP401_REGISTER, id);
		emit_inner_hbs(p, r.hbs);
		return r.len;
	}
	more |= m == M_MORE;
	if ((m = dp401_match_ack(b, n, &r)) == M_YES) {
		emit_ack(p, &r);
		return r.len;
	}
	more |= m == M_MORE;
	if ((m = dp401_match_line_start(b, n, &r)) == M_YES) {
		p->state = DP401_ST_LINE;
		p->head = r.head;
		p->scanned = r.head;
		return 0;           /* the line starts here; nothing consumed yet */
	}
	more |= m == M_MORE;
	if (more)
		return 0;
	p->cnt.garbage_bytes++;
	return 1;
}

/* Returns the number of bytes consumed at the head of the buffer. */
static size_t
run(struct dp401_parser *p)
{
	const uint8_t *b = p->buf;
	size_t n = p->len, i = 0, k;

	while (i < n) {
		switch (p->state) {
		case DP401_ST_IDLE:
			k = run_idle(p, b + i, n - i);
			if (k == 0 && p->state == DP401_ST_IDLE)
				return i;       /* a token or line start not complete yet */
			break;
		case DP401_ST_LINE:
			/* A line can only fill the buffer from its head: feed
			 * compacts before each run. */
			k = run_line(p, b + i, n - i, i == 0 && n == DP401_BUF_MAX);
			if (k == 0)
				return i;
			break;
		case DP401_ST_DISCARD:
			k = run_discard(p, b + i, n - i);
			if (k == 0 && p->state == DP401_ST_DISCARD)
				return i;
			break;
		default:
			k = 0;
			break;
		}
		i += k;
	}
	return i;
}

static void
run_and_compact(struct dp401_parser *p)
{
	size_t used = run(p);

	if (used > 0) {
		memmove(p->buf, p->buf + used, p->len - used);
		p->len -= used;
	}
}

void
dp401_init(struct dp401_parser *p, int64_t weight_unit_grams, dp401_cb cb, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	dp401_set_unit(p, weight_unit_grams);
}

void
dp401_set_unit(struct dp401_parser *p, int64_t weight_unit_grams)
{
	p->unit_grams = weight_unit_grams < 1 ? 1 : weight_unit_grams;
}

void
dp401_feed(struct dp401_parser *p, const void *data, size_t n)
{
	const uint8_t *d = data;

	p->cnt.bytes += n;
	while (n > 0) {
		size_t room = DP401_BUF_MAX - p->len;
		size_t k = n < room ? n : room;

		memcpy(p->buf + p->len, d, k);
		p->len += k;
		d += k;
		n -= k;
		run_and_compact(p);
	}
}

void
dp401_finish(struct dp401_parser *p)
{
	if (p->state == DP401_ST_LINE && p->len > 0) {
		emit_line(p, p->buf, p->len);
	} else if (p->state == DP401_ST_DISCARD) {
		p->cnt.discarded_bytes += p->len;
	} else {
		for (size_t i = 0; i < p->len; i++)
			if (!is_eol(p->buf[i]))
				p->cnt.garbage_bytes++;
	}
	p->len = 0;
	p->scanned = 0;
	p->head = 0;
	p->state = DP401_ST_IDLE;
}
