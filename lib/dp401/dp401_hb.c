/*
 * Heartbeats inside a record line. The WiFi bridge sends "HB" on its own
 * timer; when it forwards a record in two TCP segments, the HB can land
 * between them. Removing every "HB" would mangle names ("MAHBUBE", "SAHBAZ"),
 * so the record's fixed shape (DP401.md) decides where one cannot belong:
 * - fields of digits, time, date, weights and flags never hold an H: every
 *   HB there is removed;
 * - text (product, operator, company): a scale repeats them (one company,
 *   the operator logged in, a few products), so HBs are removed when what is
 *   left is the same field of the connection's previous record;
 * - otherwise the fixed-width product (16) and operator (48) lose HBs, last
 *   first (the padding is where most of the field is), when the field is
 *   longer than its width by exactly what they add. A name with an HB of its
 *   own and one added next to it may then lose the wrong one;
 * - the company has no fixed width: without a match an HB in it stays (the
 *   record is kept either way; only that text is off).
 */
#include "dp401/dp401_int.h"

#include <stdint.h>
#include <string.h>

#define F_PRODUCT  3
#define F_OPERATOR 6
#define F_COMPANY  15
#define W_PRODUCT  16
#define W_OPERATOR 48

static bool
hb_at(const uint8_t *p, size_t n, size_t i)
{
	return i + 1 < n && p[i] == 'H' && p[i + 1] == 'B';
}

static unsigned
count_hb(const uint8_t *p, size_t n)
{
	unsigned k = 0;

	for (size_t i = 0; i + 1 < n; i++)
		if (hb_at(p, n, i)) {
			k++;
			i++;
		}
	return k;
}

/* Copies p[0..n) to out without its HBs; the number removed goes to *k. */
static size_t
copy_without_all(const uint8_t *p, size_t n, uint8_t *out, unsigned *k)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (hb_at(p, n, i)) {
			(*k)++;
			i++;
			continue;
		}
		out[o++] = p[i];
	}
	return o;
}

/* Copies p[0..n) without the last `drop` of its k HBs (as count_hb pairs them). */
static size_t
copy_without_last(const uint8_t *p, size_t n, unsigned k, unsigned drop, uint8_t *out)
{
	unsigned seen = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (hb_at(p, n, i) && seen++ >= k - drop) {
			i++;
			continue;
		}
		out[o++] = p[i];
	}
	return o;
}

/* Copies p[0..n) without the HB that starts at `at`. */
static size_t
copy_without_one(const uint8_t *p, size_t n, size_t at, uint8_t *out)
{
	memcpy(out, p, at);
	memcpy(out + at, p + at + 2, n - at - 2);
	return n - 2;
}

bool
dp401_has_hb(const uint8_t *p, size_t n)
{
	const uint8_t *h;

	while (n > 1 && (h = memchr(p, 'H', n - 1)) != NULL) {
		if (h[1] == 'B')
			return true;
		n -= (size_t)(h - p) + 1;
		p = h + 1;
	}
	return false;
}

/* Field idx of a record line (the company is everything after the 15th
 * comma); false when the line has fewer fields. */
static bool
field_at(const uint8_t *line, size_t len, size_t idx, const uint8_t **f, size_t *fn)
{
	size_t start = 0, k = 0;

	if (line == NULL || len == 0)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && (line[i] != ',' || k == F_COMPANY))
			continue;
		if (k == idx) {
			*f = line + start;
			*fn = i - start;
			return true;
		}
		k++;
		start = i + 1;
	}
	return false;
}

/* Every HB taken out, or one only (added to a name that has its own): is
 * that the previous record's field? */
static bool
as_previous(const uint8_t *p, size_t n, const uint8_t *prev, size_t prev_n, uint8_t *out,
    size_t *on, unsigned *removed)
{
	unsigned k = 0;

	if (prev_n >= n)
		return false;
	*on = copy_without_all(p, n, out, &k);
	if (*on == prev_n && memcmp(out, prev, prev_n) == 0) {
		*removed += k;
		return true;
	}
	if (n - prev_n != 2)
		return false;
	for (size_t i = 0; i + 1 < n; i++) {
		if (!hb_at(p, n, i))
			continue;
		*on = copy_without_one(p, n, i, out);
		if (memcmp(out, prev, prev_n) == 0) {
			(*removed)++;
			return true;
		}
	}
	return false;
}

/* width 0: no fixed width (the company) */
static size_t
text_field(const uint8_t *p, size_t n, size_t width, const uint8_t *prev, size_t prev_n,
    bool have_prev, uint8_t *out, unsigned *removed)
{
	unsigned k = count_hb(p, n);
	size_t on;

	if (k > 0 && have_prev && as_previous(p, n, prev, prev_n, out, &on, removed))
		return on;
	if (k == 0 || width == 0 || n <= width || (n - width) % 2 != 0 || k < (n - width) / 2) {
		memcpy(out, p, n);
		return n;
	}
	*removed += (unsigned)((n - width) / 2);
	return copy_without_last(p, n, k, (unsigned)((n - width) / 2), out);
}

size_t
dp401_strip_hb(const uint8_t *in, size_t n, const uint8_t *prev, size_t prev_n,
    uint8_t *out, unsigned *removed)
{
	size_t o = 0, start = 0, idx = 0;

	*removed = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && (in[i] != ',' || idx == F_COMPANY))
			continue;
		const uint8_t *f = in + start, *pf = NULL;
		size_t fn = i - start, pfn = 0;
		bool have = field_at(prev, prev_n, idx, &pf, &pfn);
		if (idx == F_PRODUCT)
			o += text_field(f, fn, W_PRODUCT, pf, pfn, have, out + o, removed);
		else if (idx == F_OPERATOR)
			o += text_field(f, fn, W_OPERATOR, pf, pfn, have, out + o, removed);
		else if (idx == F_COMPANY)
			o += text_field(f, fn, 0, pf, pfn, have, out + o, removed);
		else
			o += copy_without_all(f, fn, out + o, removed);
		if (i < n)
			out[o++] = ',';
		idx++;
		start = i + 1;
	}
	return o;
}
