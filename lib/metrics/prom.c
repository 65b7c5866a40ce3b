/* Prometheus text exposition writer; see prom.h. */
#include "metrics/prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

/* A sample line is built here first: a line that does not fit is a mistake
 * (label values are cut long before that). */
#define LINE_MAX_BYTES   2048
#define LABEL_VALUE_MAX  256

struct line {
	char   buf[LINE_MAX_BYTES];
	size_t len;
	bool   over;
};

static void
add(struct line *l, const char *s, size_t n)
{
	if (l->over || n > sizeof(l->buf) - l->len) {
		l->over = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
adds(struct line *l, const char *s)
{
	add(l, s, strlen(s));
}

static void
fail(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	if (p->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

bool
prom_valid_name(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) >= PROM_NAME_MAX - 8)
		return false;
	for (const char *c = s; *c; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
		    *c == ':';
		if (!alpha && !(c > s && *c >= '0' && *c <= '9'))
			return false;
	}
	return true;
}

bool
prom_valid_label_name(const char *s)
{
	/* Names starting with __ are reserved for Prometheus itself. */
	if (!prom_valid_name(s) || strchr(s, ':') != NULL || strncmp(s, "__", 2) == 0)
		return false;
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Length of the valid UTF-8 sequence at p (strict: no overlongs, no
 * surrogates, at most U+10FFFF), 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* A label value: escaped, invalid UTF-8 bytes as '?', cut at
 * LABEL_VALUE_MAX bytes on a character boundary. */
static void
add_label_value(struct line *l, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t used = 0;

	while (*p != '\0') {
		size_t n = utf8_seq(p);

		if (used + (n ? n : 1) > LABEL_VALUE_MAX)
			break;
		if (n == 0) {
			add(l, "?", 1);
			n = 1;
		} else if (*p == '\\')
			add(l, "\\\\", 2);
		else if (*p == '"')
			add(l, "\\\"", 2);
		else if (*p == '\n')
			add(l, "\\n", 2);
		else
			add(l, (const char *)p, n);
		used += n;
		p += n;
	}
}

static void
add_value(struct line *l, double v)
{
	char buf[40];

	if (isnan(v))
		snprintf(buf, sizeof(buf), "NaN");
	else if (isinf(v))
		snprintf(buf, sizeof(buf), v > 0 ? "+Inf" : "-Inf");
	else if (v > -9e15 && v < 9e15 && (double)(long long)v == v)
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else {
		/* the shortest form that reads back as the same double */
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
	}
	adds(l, buf);
}

static bool
check_labels(struct prom *p, const struct prom_label *labels, size_t n, bool histogram)
{
	if (n > PROM_LABELS_MAX) {
		fail(p, "%s: %zu labels (at most %d)", p->family, n, PROM_LABELS_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!prom_valid_label_name(labels[i].name) || labels[i].value == NULL ||
		    (histogram && strcmp(labels[i].name, "le") == 0)) {
			fail(p, "%s: bad label name '%s'", p->family,
			    labels[i].name ? labels[i].name : "(null)");
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[i].name, labels[j].name) == 0) {
				fail(p, "%s: label '%s' twice", p->family, labels[i].name);
				return false;
			}
	}
	return true;
}

/* name+suffix{labels[,le="..."]} value\n */
static void
emit(struct prom *p, const char *suffix, const struct prom_label *labels, size_t n,
    const char *le, double value)
{
	struct line l = { .len = 0 };

	adds(&l, p->family);
	adds(&l, suffix);
	if (n > 0 || le != NULL) {
		add(&l, "{", 1);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				add(&l, ",", 1);
			adds(&l, labels[i].name);
			add(&l, "=\"", 2);
			add_label_value(&l, labels[i].value);
			add(&l, "\"", 1);
		}
		if (le != NULL) {
			adds(&l, n > 0 ? ",le=\"" : "le=\"");
			adds(&l, le);
			add(&l, "\"", 1);
		}
		add(&l, "}", 1);
	}
	add(&l, " ", 1);
	add_value(&l, value);
	add(&l, "\n", 1);
	if (l.over) {
		fail(p, "%s: sample line longer than %d bytes", p->family, LINE_MAX_BYTES);
		return;
	}
	if (evbuffer_get_length(p->out) - p->start + l.len > PROM_OUT_MAX) {
		fail(p, "exposition larger than %d bytes", PROM_OUT_MAX);
		return;
	}
	if (evbuffer_add(p->out, l.buf, l.len) != 0)
		fail(p, "out of memory");
}

void
prom_init(struct prom *p, struct evbuffer *out, unsigned series_max)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->start = evbuffer_get_length(out);
	p->series_max = series_max;
}

void
prom_family(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	struct line l = { .len = 0 };
	static const char *type_name[] = { "counter", "gauge", "histogram" };

	if (p->error[0] != '\0')
		return;
	if (!prom_valid_name(name)) {
		fail(p, "'%s' is not a metric name", name ? name : "(null)");
		return;
	}
	/* Prometheus naming conventions: only counters end in _total, and a
	 * histogram's own name must not look like one of its series. */
	if ((type == PROM_COUNTER) != ends_with(name, "_total") ||
	    (type == PROM_HISTOGRAM && (ends_with(name, "_bucket") || ends_with(name, "_sum") ||
	    ends_with(name, "_count")))) {
		fail(p, "%s: name does not fit a %s", name, type_name[type]);
		return;
	}
	/* A family must be one block: a second one with the same name is
	 * refused by parsers. FNV-1a of each name seen. */
	uint64_t hash = 1469598103934665603ULL;
	for (const char *c = name; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 1099511628211ULL;
	for (unsigned i = 0; i < p->nseen; i++)
		if (p->seen[i] == hash) {
			fail(p, "%s: family started twice", name);
			return;
		}
	if (p->nseen >= PROM_FAMILIES_MAX) {
		fail(p, "more than %d families", PROM_FAMILIES_MAX);
		return;
	}
	p->seen[p->nseen++] = hash;
	snprintf(p->family, sizeof(p->family), "%s", name);
	p->type = type;
	p->series = 0;
	adds(&l, "# HELP ");
	adds(&l, name);
	add(&l, " ", 1);
	for (const char *c = help ? help : ""; *c; c++) {
		if (*c == '\\')
			add(&l, "\\\\", 2);
		else if (*c == '\n')
			add(&l, "\\n", 2);
		else
			add(&l, c, 1);
	}
	adds(&l, "\n# TYPE ");
	adds(&l, name);
	add(&l, " ", 1);
	adds(&l, type_name[type]);
	add(&l, "\n", 1);
	if (l.over)
		fail(p, "%s: HELP text too long", name);
	else if (evbuffer_add(p->out, l.buf, l.len) != 0)
		fail(p, "out of memory");
}

/* The next series of the current family may be written. */
static bool
series_ok(struct prom *p, bool histogram)
{
	if (p->error[0] != '\0')
		return false;
	if (p->family[0] == '\0' || (p->type == PROM_HISTOGRAM) != histogram) {
		fail(p, "a sample does not fit its family '%s'", p->family);
		return false;
	}
	if (p->series >= p->series_max) {
		p->omitted++;
		return false;
	}
	p->series++;
	return true;
}

void
prom_sample(struct prom *p, const struct prom_label *labels, size_t nlabels, double value)
{
	if (!check_labels(p, labels, nlabels, false) || !series_ok(p, false))
		return;
	if (p->type == PROM_COUNTER && !(value >= 0)) {
		fail(p, "%s: counter value %g", p->family, value);
		return;
	}
	emit(p, "", labels, nlabels, NULL, value);
}

void
prom_histogram(struct prom *p, const struct prom_label *labels, size_t nlabels,
    const struct hist *h)
{
	uint64_t cum = 0;
	struct line le;

	if (!check_labels(p, labels, nlabels, true) || !series_ok(p, true))
		return;
	for (unsigned i = 0; i <= h->nbounds; i++) {
		cum += h->buckets[i];
		le.len = 0;
		le.over = false;
		if (i < h->nbounds)
			add_value(&le, h->bounds[i]);
		else
			adds(&le, "+Inf");
		add(&le, "", 1);
		emit(p, "_bucket", labels, nlabels, le.buf, (double)cum);
	}
	emit(p, "_sum", labels, nlabels, NULL, h->sum);
	/* _count is the +Inf bucket by definition, whatever h->count says */
	emit(p, "_count", labels, nlabels, NULL, (double)cum);
}

unsigned long
prom_omitted(const struct prom *p)
{
	return p->omitted;
}

const char *
prom_error(const struct prom *p)
{
	return p->error[0] != '\0' ? p->error : NULL;
}
