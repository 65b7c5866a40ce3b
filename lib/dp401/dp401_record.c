/*
 * One DP-401 weighing record line -> the parsed fields of a ct_event, with
 * the validation DP401.md asks for: at least 10 fields, a 5-digit PLU after a
 * `P"`/`P` prefix, integer weights. A date or time that is not real is
 * flagged, not refused (the weighing is real). Everything else is lenient
 * (widths, flags): a line that fails is only quarantined, not a weighing.
 */
#include "dp401/dp401.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define F_PLU      0
#define F_TIME     1
#define F_DATE     2
#define F_PRODUCT  3
#define F_BARCODE  4
#define F_CODE     5
#define F_OPERATOR 6
#define F_GROSS    7
#define F_TARE     8
#define F_NET      9
#define F_FLAGS    10
#define F_COMPANY  15
#define MIN_FIELDS 10
#define MAX_WEIGHT_DIGITS 15

struct field {
	const uint8_t *p;
	size_t         n;
};

static const char *const field_name[] = {
	"PLU", "time", "date", "product", "barcode", "code", "operator",
	"gross", "tare", "net", "flag", "flag", "flag", "flag", "flag", "company",
};

static int
fail(char *reason, size_t rlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, rlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The field as it can safely go into a log line: printable ASCII, bounded. */
static const char *
shown(const struct field *f, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < f->n && o + 4 < cap; i++)
		buf[o++] = f->p[i] >= 0x20 && f->p[i] < 0x7f ? (char)f->p[i] : '?';
	if (f->n > 0 && o < f->n && o + 4 <= cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool
all_digits(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return n > 0;
}

static int
num2(const uint8_t *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static void
trim(struct field *f)
{
	while (f->n > 0 && (f->p[0] == ' ' || f->p[0] == '\t')) {
		f->p++;
		f->n--;
	}
	while (f->n > 0 && (f->p[f->n - 1] == ' ' || f->p[f->n - 1] == '\t'))
		f->n--;
}

/* Fields 0..14 split at commas; everything after the 15th comma is the
 * company, commas included (it is free text and the last field). */
static size_t
split(const uint8_t *line, size_t len, struct field *fs)
{
	size_t nf = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && (line[i] != ',' || nf == F_COMPANY))
			continue;
		fs[nf].p = line + start;
		fs[nf].n = i - start;
		nf++;
		start = i + 1;
	}
	return nf;
}

static int
parse_plu(struct field f, struct ct_event *ev, char *reason, size_t rlen)
{
	char sh[48];
	struct field orig = f;

	ev->plu_prefix = CT_PLU_PLAIN;
	if (f.n >= 2 && f.p[0] == 'P' && f.p[1] == '"') {
		ev->plu_prefix = CT_PLU_PQUOTE;
		f.p += 2;
		f.n -= 2;
	} else if (f.n >= 1 && f.p[0] == 'P') {
		ev->plu_prefix = CT_PLU_P;
		f.p++;
		f.n--;
	}
	if (f.n != 5 || !all_digits(f.p, f.n))
		return fail(reason, rlen, "PLU \"%s\" is not 5 digits",
		    shown(&orig, sh, sizeof(sh)));
	memcpy(ev->plu, f.p, 5);
	ev->plu[5] = '\0';
	return 0;
}

/* The scale's text of a time or date field, kept beside an invalid one. */
static void
keep_raw(const struct field *f, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < f->n && o + 1 < cap; i++)
		out[o++] = f->p[i] >= 0x20 && f->p[i] < 0x7f ? (char)f->p[i] : '?';
	out[o] = '\0';
}

/* A wrong or impossible date/time does not make a record invalid: a scale
 * with a bad clock still weighed real meat. It is flagged and its text kept;
 * the caller gives it the edge's receive time. */
static void
parse_when(const struct field *tf, const struct field *df, struct ct_event *ev)
{
	const uint8_t *t = tf->p, *d = df->p;
	bool ok;

	ok = tf->n == 8 && t[2] == ':' && t[5] == ':' && all_digits(t, 2) &&
	    all_digits(t + 3, 2) && all_digits(t + 6, 2) &&
	    df->n == 10 && d[2] == '.' && d[5] == '.' && all_digits(d, 2) &&
	    all_digits(d + 3, 2) && all_digits(d + 6, 4);
	if (ok) {
		int hh = num2(t), mi = num2(t + 3), ss = num2(t + 6);
		int dd = num2(d), mo = num2(d + 3), yyyy = num2(d + 6) * 100 + num2(d + 8);
		ok = dp401_local_to_utc(yyyy, mo, dd, hh, mi, ss, &ev->scale_ts) == 0;
	}
	if (ok)
		return;
	ev->scale_ts = 0;
	ev->edge_flags |= CT_EVF_SCALE_TS_INVALID;
	keep_raw(tf, ev->scale_time_raw, sizeof(ev->scale_time_raw));
	keep_raw(df, ev->scale_date_raw, sizeof(ev->scale_date_raw));
}

static int
parse_weight(int idx, struct field f, int64_t unit, int64_t *raw, int64_t *grams,
    char *reason, size_t rlen)
{
	struct field orig = f;
	bool neg = false;
	int64_t v = 0;
	char sh[48];

	trim(&f);
	if (f.n > 0 && f.p[0] == '-') {
		neg = true;
		f.p++;
		f.n--;
	}
	if (!all_digits(f.p, f.n) || f.n > MAX_WEIGHT_DIGITS)
		return fail(reason, rlen, "%s weight \"%s\" is not an integer", field_name[idx],
		    shown(&orig, sh, sizeof(sh)));
	for (size_t i = 0; i < f.n; i++)
		v = v * 10 + (f.p[i] - '0');
	if (neg)
		v = -v;
	*raw = v;
	if (__builtin_mul_overflow(v, unit, grams))
		return fail(reason, rlen, "%s weight %lld overflows at %lld g per unit",
		    field_name[idx], (long long)v, (long long)unit);
	return 0;
}

/* Barcode and code: digits as seen, but kept as text (bounded, printable). */
static int
parse_ascii(int idx, struct field f, char *out, size_t cap, char *reason, size_t rlen)
{
	char sh[48];

	trim(&f);
	if (f.n >= cap)
		return fail(reason, rlen, "%s \"%s\" longer than %zu bytes", field_name[idx],
		    shown(&f, sh, sizeof(sh)), cap - 1);
	for (size_t i = 0; i < f.n; i++)
		if (f.p[i] < 0x20 || f.p[i] >= 0x7f)
			return fail(reason, rlen, "%s \"%s\" is not printable ASCII",
			    field_name[idx],
			    shown(&f, sh, sizeof(sh)));
	memcpy(out, f.p, f.n);
	out[f.n] = '\0';
	return 0;
}

static int
parse_text(int idx, const struct field *f, char *out, size_t cap, char *reason, size_t rlen)
{
	if (dp401_text_to_utf8(f->p, f->n, out, cap) != 0)
		return fail(reason, rlen, "%s text longer than %zu bytes in UTF-8", field_name[idx],
		    cap - 1);
	return 0;
}

int
dp401_parse_record(const uint8_t *line, size_t len, int64_t unit, struct ct_event *ev,
    char *reason, size_t rlen)
{
	struct field fs[F_COMPANY + 1];
	size_t nf;

	memset(ev, 0, sizeof(*ev));
	if (unit < 1)
		unit = 1;
	if (len > CT_RAW_MAX)
		return fail(reason, rlen, "record of %zu bytes is longer than %d", len, CT_RAW_MAX);
	nf = split(line, len, fs);
	if (nf < MIN_FIELDS)
		return fail(reason, rlen, "%zu fields, a record has at least %d", nf, MIN_FIELDS);
	parse_when(&fs[F_TIME], &fs[F_DATE], ev);
	if (parse_plu(fs[F_PLU], ev, reason, rlen) != 0 ||
	    parse_weight(F_GROSS, fs[F_GROSS], unit, &ev->gross_raw, &ev->gross_g, reason, rlen) !=
	    0 ||
	    parse_weight(F_TARE, fs[F_TARE], unit, &ev->tare_raw, &ev->tare_g, reason, rlen) != 0 ||
	    parse_weight(F_NET, fs[F_NET], unit, &ev->net_raw, &ev->net_g, reason, rlen) != 0 ||
	    parse_ascii(F_BARCODE, fs[F_BARCODE], ev->barcode, sizeof(ev->barcode), reason, rlen) !=
	    0 ||
	    parse_ascii(F_CODE, fs[F_CODE], ev->code, sizeof(ev->code), reason, rlen) != 0 ||
	    parse_text(F_PRODUCT, &fs[F_PRODUCT], ev->product, sizeof(ev->product), reason, rlen) !=
	    0 ||
	    parse_text(F_OPERATOR, &fs[F_OPERATOR], ev->operator_name, sizeof(ev->operator_name),
		reason, rlen) != 0)
		return -1;

	/* Flags: one char each as seen ("2,0,2,1,N"); kept leniently, since
	 * nobody knows their meaning and the raw line keeps them exactly. */
	size_t nflags = 0;
	for (size_t i = F_FLAGS; i < nf && i < F_COMPANY && nflags + 1 < sizeof(ev->flags); i++) {
		struct field f = fs[i];
		trim(&f);
		uint8_t c = f.n > 0 ? f.p[0] : '?';
		ev->flags[nflags++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	ev->flags[nflags] = '\0';
	if (nf > F_COMPANY &&
	    parse_text(F_COMPANY, &fs[F_COMPANY], ev->company, sizeof(ev->company), reason, rlen) !=
	    0)
		return -1;

	memcpy(ev->raw, line, len);
	ev->raw_len = (uint16_t)len;
	return 0;
}

/* Seconds of a time text by its digits, out-of-range values included
 * ("24:00:03" is 86403): enough to compare two copies of a bad clock. */
static long
time_digits(const char *t)
{
	if (strlen(t) != 8 || t[2] != ':' || t[5] != ':')
		return -1;
	for (int i = 0; i < 8; i++)
		if (i != 2 && i != 5 && (t[i] < '0' || t[i] > '9'))
			return -1;
	return ((t[0] - '0') * 10 + (t[1] - '0')) * 3600L +
	    ((t[3] - '0') * 10 + (t[4] - '0')) * 60L +
	    (t[6] - '0') * 10 + (t[7] - '0');
}

bool
dp401_is_confirmation(const struct ct_event *prev, const struct ct_event *cur, int max_skew_s)
{
	bool bad_prev, bad_cur;

	if (prev == NULL || cur == NULL || cur->plu_prefix == CT_PLU_PLAIN)
		return false;
	if (strcmp(prev->plu, cur->plu) != 0 || strcmp(prev->barcode, cur->barcode) != 0 ||
	    prev->gross_raw != cur->gross_raw || prev->tare_raw != cur->tare_raw ||
	    prev->net_raw != cur->net_raw)
		return false;
	bad_prev = prev->edge_flags & CT_EVF_SCALE_TS_INVALID;
	bad_cur = cur->edge_flags & CT_EVF_SCALE_TS_INVALID;
	if (bad_prev || bad_cur) {
		long a = time_digits(prev->scale_time_raw), b = time_digits(cur->scale_time_raw);

		return bad_prev && bad_cur &&
		    strcmp(prev->scale_date_raw, cur->scale_date_raw) == 0 &&
		    a >= 0 && b >= a && b - a <= max_skew_s;
	}
	return cur->scale_ts >= prev->scale_ts && cur->scale_ts - prev->scale_ts <= max_skew_s;
}
