/*
 * DP-401 stream framing: control tokens without terminators, record lines,
 * garbage, and the buffer cap. Record contents are dp401_record.c's job.
 */
#include "dp401/dp401.h"

#include <stdio.h>
#include <string.h>

enum match { M_NO = 0, M_MORE, M_YES };

static const char tok_scale[] = "SCALE-";
static const char tok_hb[] = "HB";
static const char tok_ack[] = DP401_ACK_TOKEN;

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
is_eol(uint8_t c)
{
	return c == '\r' || c == '\n';
}

/* Literal token: M_MORE while what we have is a proper prefix of it. */
static enum match
match_lit(const uint8_t *b, size_t n, const char *tok, size_t toklen)
{
	size_t k = n < toklen ? n : toklen;

	if (memcmp(b, tok, k) != 0)
		return M_NO;
	return k == toklen ? M_YES : M_MORE;
}

/* `SCALE-` and exactly two digits. */
static enum match
match_scale(const uint8_t *b, size_t n)
{
	enum match m = match_lit(b, n, tok_scale, sizeof(tok_scale) - 1);

	if (m != M_YES)
		return m;
	for (size_t i = 6; i < DP401_SCALE_ID_LEN; i++) {
		if (i >= n)
			return M_MORE;
		if (!is_digit(b[i]))
			return M_NO;
	}
	return M_YES;
}

/*
 * Does a record line start here? `P"`, `P` or nothing, then 1-9 digits, then
 * a comma. Demanding the comma is what keeps a stray digit from swallowing a
 * heartbeat that follows it; accepting 1-9 digits (not only 5) is what lets a
 * bad PLU be rejected with a reason instead of vanishing as garbage.
 */
static enum match
match_record_start(const uint8_t *b, size_t n)
{
	size_t i = 0, digits = 0;

	if (b[0] == 'P') {
		if (n < 2)
			return M_MORE;
		i = b[1] == '"' ? 2 : 1;
	}
	for (; i < n; i++) {
		if (is_digit(b[i])) {
			if (++digits > 9)
				return M_NO;
			continue;
		}
		return b[i] == ',' && digits > 0 ? M_YES : M_NO;
	}
	return M_MORE;
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

static void
emit_line(struct dp401_parser *p, const uint8_t *line, size_t len)
{
	struct dp401_item it;
	struct ct_event ev;
	char reason[DP401_REASON_MAX];

	memset(&it, 0, sizeof(it));
	it.line = line;
	it.line_len = len;
	if (dp401_parse_record(line, len, p->unit_grams, &ev, reason, sizeof(reason)) == 0) {
		p->cnt.records++;
		it.kind = DP401_RECORD;
		it.ev = &ev;
	} else {
		p->cnt.rejected_lines++;
		it.kind = DP401_REJECTED;
		it.reason = reason;
	}
	p->cb(p->arg, &it);
}

static void
emit_overflow(struct dp401_parser *p)
{
	struct dp401_item it;
	char reason[DP401_REASON_MAX];

	p->cnt.overflow_lines++;
	snprintf(reason, sizeof(reason), "line longer than %d bytes, discarded to its end",
	    DP401_BUF_MAX);
	memset(&it, 0, sizeof(it));
	it.kind = DP401_REJECTED;
	it.reason = reason;
	it.line = p->buf;
	it.line_len = p->len;
	it.overflow = true;
	p->cb(p->arg, &it);
}

/* Returns the number of bytes consumed at the head of the buffer. */
static size_t
run(struct dp401_parser *p)
{
	const uint8_t *b = p->buf;
	size_t n = p->len, i = 0;

	for (;;) {
		if (p->state == DP401_ST_DISCARD) {
			while (i < n && !is_eol(b[i]))
				i++;
			if (i == n)
				return i;
			p->state = DP401_ST_IDLE;   /* the EOL itself is an empty line */
			continue;
		}
		if (p->state == DP401_ST_LINE) {
			size_t e = i + p->scanned;
			while (e < n && !is_eol(b[e]))
				e++;
			if (e == n) {
				p->scanned = n - i;
				/* Only a line that fills the whole buffer can land here
				 * with no room left: feed compacts before each run. */
				if (i == 0 && n == DP401_BUF_MAX) {
					emit_overflow(p);
					p->state = DP401_ST_DISCARD;
					p->scanned = 0;
					return n;
				}
				return i;
			}
			p->state = DP401_ST_IDLE;
			p->scanned = 0;
			emit_line(p, b + i, e - i);
			i = e + 1;
			continue;
		}

		if (i >= n)
			return i;
		if (is_eol(b[i])) {         /* empty line or the LF of a CRLF */
			i++;
			continue;
		}
		enum match m;
		if ((m = match_scale(b + i, n - i)) == M_YES) {
			p->cnt.registrations++;
			emit_simple(p, DP401_REGISTER, b + i);
			i += DP401_SCALE_ID_LEN;
			continue;
		}
		if (m == M_MORE)
			return i;
		if ((m = match_lit(b + i, n - i, tok_hb, sizeof(tok_hb) - 1)) == M_YES) {
			p->cnt.heartbeats++;
			emit_simple(p, DP401_HEARTBEAT, NULL);
			i += sizeof(tok_hb) - 1;
			continue;
		}
		if (m == M_MORE)
			return i;
		if ((m = match_lit(b + i, n - i, tok_ack, sizeof(tok_ack) - 1)) == M_YES) {
			p->cnt.ack_requests++;
			emit_simple(p, DP401_ACK_REQUEST, NULL);
			i += sizeof(tok_ack) - 1;
			continue;
		}
		if (m == M_MORE)
			return i;
		if ((m = match_record_start(b + i, n - i)) == M_YES) {
			p->state = DP401_ST_LINE;
			p->scanned = 0;
			continue;
		}
		if (m == M_MORE)
			return i;
		p->cnt.garbage_bytes++;
		i++;
	}
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

		/* In DISCARD nothing needs keeping: skip straight to a line end. */
		if (p->state == DP401_ST_DISCARD && p->len == 0) {
			size_t j = 0;
			while (j < n && !is_eol(d[j]))
				j++;
			d += j;
			n -= j;
			if (n == 0)
				break;
			p->state = DP401_ST_IDLE;
			continue;
		}
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
	} else if (p->state == DP401_ST_IDLE) {
		for (size_t i = 0; i < p->len; i++)
			if (!is_eol(p->buf[i]))
				p->cnt.garbage_bytes++;
	}
	p->len = 0;
	p->scanned = 0;
	p->state = DP401_ST_IDLE;
}
