/*
 * Pattern matching for the DP-401 framer: control tokens and record starts,
 * each tolerant of bridge heartbeats inside it (see dp401_int.h).
 */
#include "dp401/dp401_int.h"

#include <string.h>

/* Heartbeats skipped in one match at most: a run of HBs is a run of
 * heartbeats, matched one by one between packets, never a reason for a
 * matcher to walk far. A line start skips two only: after a stray digit
 * and an HB it must see the next byte to know, and a bridge that sends
 * nothing but HBs after it must not have them held for longer than two
 * heartbeat periods (stale, not closed: close_after is 3). */
#define MAX_HB_SKIP        4
#define MAX_HB_SKIP_START  2

struct cur {
	const uint8_t *b;
	size_t         n, i;
	unsigned       hbs, max_hbs;
};

enum { C_MORE = -1 };

/* The next byte that is not part of an "HB", or C_MORE at the end (an H
 * at the end may be the start of an HB, so it waits too). */
static int
next(struct cur *c)
{
	for (;;) {
		if (c->i >= c->n)
			return C_MORE;
		if (c->b[c->i] == 'H' && c->hbs < c->max_hbs) {
			if (c->i + 1 >= c->n)
				return C_MORE;
			if (c->b[c->i + 1] == 'B') {
				c->i += 2;
				c->hbs++;
				continue;
			}
		}
		return c->b[c->i++];
	}
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static enum match
done(const struct cur *c, struct match_res *r)
{
	r->len = c->i;
	r->hbs = c->hbs;
	return M_YES;
}

/* pat: 'd' is a digit, anything else itself. */
static enum match
expect(struct cur *c, const char *pat)
{
	for (; *pat != '\0'; pat++) {
		int ch = next(c);

		if (ch == C_MORE)
			return M_MORE;
		if (*pat == 'd' ? !is_digit(ch) : ch != *pat)
			return M_NO;
	}
	return M_YES;
}

enum match
dp401_match_scale(const uint8_t *b, size_t n, struct match_res *r, uint8_t id[DP401_SCALE_ID_LEN])
{
	struct cur c = { b, n, 0, 0, MAX_HB_SKIP };
	enum match m;

	memset(r, 0, sizeof(*r));
	if ((m = expect(&c, "SCALE-")) != M_YES)
		return m;
	memcpy(id, "SCALE-", 6);
	for (int k = 6; k < DP401_SCALE_ID_LEN; k++) {
		int ch = next(&c);
		if (ch == C_MORE)
			return M_MORE;
		if (!is_digit(ch))
			return M_NO;
		id[k] = (uint8_t)ch;
	}
	return done(&c, r);
}

enum match
dp401_match_ack(const uint8_t *b, size_t n, struct match_res *r)
{
	struct cur c = { b, n, 0, 0, MAX_HB_SKIP };
	enum match m;

	memset(r, 0, sizeof(*r));
	if ((m = expect(&c, DP401_ACK_TOKEN)) != M_YES)
		return m;
	return done(&c, r);
}

/* `P"`, `P` (when bare is allowed) or nothing. Leaves c after the prefix. */
static enum match
prefix(struct cur *c, bool bare_p)
{
	struct cur save = *c;
	int ch = next(c);

	if (ch == C_MORE)
		return M_MORE;
	if (ch != 'P') {
		*c = save;
		return M_YES;
	}
	save = *c;
	ch = next(c);
	if (ch == C_MORE)
		return M_MORE;
	if (ch == '"')
		return M_YES;
	if (!bare_p)
		return M_NO;
	*c = save;
	return M_YES;
}

enum match
dp401_match_line_start(const uint8_t *b, size_t n, struct match_res *r)
{
	struct cur c = { b, n, 0, 0, MAX_HB_SKIP_START };
	unsigned digits = 0;
	enum match m;

	memset(r, 0, sizeof(*r));
	if ((m = prefix(&c, true)) != M_YES)
		return m;
	for (;;) {
		int ch = next(&c);

		if (ch == C_MORE)
			return M_MORE;
		if (is_digit(ch)) {
			if (++digits > 9)
				return M_NO;
			continue;
		}
		if (ch != ',' || digits == 0)
			return M_NO;
		r->head = c.i;
		return done(&c, r);
	}
}

enum match
dp401_match_record_head(const uint8_t *b, size_t n, struct match_res *r)
{
	struct cur c = { b, n, 0, 0, MAX_HB_SKIP };
	enum match m;
	size_t head;

	memset(r, 0, sizeof(*r));
	if ((m = prefix(&c, false)) != M_YES)
		return m;
	if ((m = expect(&c, "ddddd,")) != M_YES)
		return m;
	head = c.i;
	if ((m = expect(&c, "dd:dd:dd,dd.dd.dddd,")) != M_YES)
		return m;
	r->head = head;
	return done(&c, r);
}
