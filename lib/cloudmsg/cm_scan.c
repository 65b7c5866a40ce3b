/*
 * `event` and `event_batch` without a JSON tree. Parsing each batch with
 * jansson was most of what this cloud spent per event. This scanner checks
 * the whole message against the JSON grammar (strings, escapes, UTF-8,
 * numbers, nesting up to SCAN_DEPTH) and pulls out the seven fields an
 * event is judged by. Anything it is not sure of (an escape inside one of
 * those fields, a non-string id, a repeated field, a number that is not a
 * plain integer, more events than fit) makes it return -1 before anything
 * is delivered, and the caller parses the message with jansson as before.
 */
#include "cloudmsg/cm_scan.h"

#include <string.h>

#define SCAN_DEPTH 32

struct sc {
	const char *p, *e;
};

static void
ws(struct sc *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool
lit(struct sc *s, char c)
{
	ws(s);
	if (s->p < s->e && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static bool
word(struct sc *s, const char *w)
{
	size_t n = strlen(w);

	ws(s);
	if ((size_t)(s->e - s->p) < n || memcmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	return true;
}

static int
hexv(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* One UTF-8 sequence starting at p (a byte >= 0x80): its length, 0 if bad. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned c = *p, n, cp;

	if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
	else return 0;
	if ((size_t)(e - p) <= n)
		return 0;
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

/* A string: its raw bytes between the quotes in (*v, *n); *esc if it has escapes. */
static bool
string(struct sc *s, const char **v, size_t *n, bool *esc)
{
	const unsigned char *p, *e = (const unsigned char *)s->e;

	if (!lit(s, '"'))
		return false;
	*esc = false;
	for (p = (const unsigned char *)s->p; p < e && *p != '"';) {
		if (*p < 0x20)
			return false;
		if (*p == '\\') {
			*esc = true;
			if (p + 1 >= e)
				return false;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u':
				if (e - p < 6 || hexv((char)p[2]) < 0 || hexv((char)p[3]) < 0 ||
				    hexv((char)p[4]) < 0 || hexv((char)p[5]) < 0)
					return false;
				/* \u0000 and lone surrogates: jansson's call */
				if (memcmp(p + 2, "0000", 4) == 0 || (p[2] | 0x20) == 'd')
					return false;
				p += 6;
				break;
			default:
				return false;
			}
		} else if (*p >= 0x80) {
			size_t k = utf8_len(p, e);
			if (k == 0)
				return false;
			p += k;
		} else {
			p++;
		}
	}
	if (p >= e)
		return false;
	*v = s->p;
	*n = (size_t)((const char *)p - s->p);
	s->p = (const char *)p + 1;
	return true;
}

/* A JSON number; *is_int and *v when it is a plain integer in int64. */
static bool
number(struct sc *s, int64_t *v, bool *is_int)
{
	const char *p = s->p;
	bool neg = false, ovf = false;
	uint64_t acc = 0;

	ws(s);
	p = s->p;
	if (p < s->e && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= s->e || *p < '0' || *p > '9')
		return false;
	if (*p == '0' && p + 1 < s->e && p[1] >= '0' && p[1] <= '9')
		return false;
	for (; p < s->e && *p >= '0' && *p <= '9'; p++) {
		if (acc > (UINT64_MAX - 9) / 10)
			ovf = true;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	*is_int = true;
	if (p < s->e && *p == '.') {
		*is_int = false;
		if (++p >= s->e || *p < '0' || *p > '9')
			return false;
		while (p < s->e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < s->e && (*p == 'e' || *p == 'E')) {
		*is_int = false;
		p++;
		if (p < s->e && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->e || *p < '0' || *p > '9')
			return false;
		while (p < s->e && *p >= '0' && *p <= '9')
			p++;
	}
	if (ovf || acc > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		*is_int = false;
	else
		*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	s->p = p;
	return true;
}

static bool
skip(struct sc *s, int depth)
{
	const char *v;
	size_t n;
	bool esc, is_int;
	int64_t x;

	if (depth > SCAN_DEPTH)
		return false;
	ws(s);
	if (s->p >= s->e)
		return false;
	switch (*s->p) {
	case '"':
		return string(s, &v, &n, &esc);
	case '{':
		s->p++;
		if (lit(s, '}'))
			return true;
		do {
			if (!string(s, &v, &n, &esc) || !lit(s, ':') || !skip(s, depth + 1))
				return false;
		} while (lit(s, ','));
		return lit(s, '}');
	case '[':
		s->p++;
		if (lit(s, ']'))
			return true;
		do {
			if (!skip(s, depth + 1))
				return false;
		} while (lit(s, ','));
		return lit(s, ']');
	case 't': return word(s, "true");
	case 'f': return word(s, "false");
	case 'n': return word(s, "null");
	default:
		/* jansson refuses integers past int64 and reals that overflow
		 * a double: leave anything but a plain integer to it */
		return number(s, &x, &is_int) && is_int;
	}
}

/* A field we read: a string without escapes copied into out, or null. */
static bool
field_str(struct sc *s, char *out, size_t cap, const char **dst)
{
	const char *v;
	size_t n;
	bool esc;

	if (word(s, "null")) {
		*dst = NULL;
		return true;
	}
	if (!string(s, &v, &n, &esc) || esc || n >= cap)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	*dst = out;
	return true;
}

static bool
event(struct sc *s, struct cm_scan_event *ev)
{
	unsigned seen = 0;

	memset(ev, 0, sizeof(*ev));
	if (!lit(s, '{'))
		return false;
	if (lit(s, '}'))
		return true;
	do {
		const char *k;
		size_t kn;
		bool esc, ok = true;
		unsigned bit = 0;

		if (!string(s, &k, &kn, &esc) || esc || !lit(s, ':'))
			return false;
#define KEY(name, b) (kn == sizeof(name) - 1 && memcmp(k, name, kn) == 0 && (bit = b))
		if (KEY("localEventId", 1))
			ok = field_str(s, ev->lid_buf, sizeof(ev->lid_buf), &ev->lid);
		else if (KEY("deviceId", 2))
			ok = field_str(s, ev->dev_buf, sizeof(ev->dev_buf), &ev->dev);
		else if (KEY("pluCode", 4))
			ok = field_str(s, ev->plu_buf, sizeof(ev->plu_buf), &ev->plu);
		else if (KEY("cloudSessionId", 8))
			ok = field_str(s, ev->sess_buf, sizeof(ev->sess_buf), &ev->sess);
		else if (KEY("offlineBatchId", 16))
			ok = field_str(s, ev->bid_buf, sizeof(ev->bid_buf), &ev->bid);
		else if (KEY("weightGrams", 32)) {
			bool is_int = false;
			ws(s);
			if (s->p < s->e && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
				ok = number(s, &ev->weight, &is_int) && is_int;
				ev->weight_ok = true;
			} else {
				ok = false;
			}
		} else if (KEY("offlineMode", 64)) {
			if (word(s, "true"))
				ev->offline = true;
			else
				ok = word(s, "false");
		} else {
			ok = skip(s, 2);
		}
#undef KEY
		if (!ok || (bit && (seen & bit)))
			return false;
		seen |= bit;
	} while (lit(s, ','));
	return lit(s, '}');
}

/* {"events":[ {..}, ... ]} and nothing else: the event_batch payload, and
 * the body of REST's POST /events/batch. */
static int
events_object(struct sc *ps, struct cm_scan_event *out, int max)
{
	const char *k;
	size_t kn;
	bool esc;
	int n = 0;

	if (!lit(ps, '{') || !string(ps, &k, &kn, &esc) || esc || kn != 6 ||
	    memcmp(k, "events", 6) != 0 || !lit(ps, ':') || !lit(ps, '['))
		return -1;
	if (lit(ps, ']'))
		return lit(ps, '}') ? 0 : -1;
	do {
		if (n >= max || !event(ps, &out[n]))
			return -1;
		n++;
	} while (lit(ps, ','));
	if (!lit(ps, ']') || !lit(ps, '}'))
		return -1;
	return n;
}

int
cm_scan_events(const char *msg, size_t len, bool *batch, struct cm_scan_event *out, int max)
{
	struct sc s = { msg, msg + len }, ps;
	const char *type = NULL, *payload = NULL, *k;
	size_t tn = 0, kn;
	bool esc;

	if (!lit(&s, '{'))
		return -1;
	if (lit(&s, '}'))
		return -1;
	do {
		if (!string(&s, &k, &kn, &esc) || esc || !lit(&s, ':'))
			return -1;
		if (kn == 4 && memcmp(k, "type", 4) == 0) {
			if (type != NULL || !string(&s, &type, &tn, &esc) || esc)
				return -1;
		} else if (kn == 7 && memcmp(k, "payload", 7) == 0) {
			if (payload != NULL)
				return -1;
			ws(&s);
			payload = s.p;
			if (!skip(&s, 1))
				return -1;
		} else if (!skip(&s, 1)) {
			return -1;
		}
	} while (lit(&s, ','));
	if (!lit(&s, '}'))
		return -1;
	ws(&s);
	if (s.p != s.e || type == NULL || payload == NULL)
		return -1;
	ps.p = payload;
	ps.e = msg + len;
	if (tn == 5 && memcmp(type, "event", 5) == 0) {
		*batch = false;
		if (max < 1 || !event(&ps, &out[0]))
			return -1;
		return 1;
	}
	if (tn != 11 || memcmp(type, "event_batch", 11) != 0)
		return -1;
	*batch = true;
	return events_object(&ps, out, max);
}

int
cm_scan_rest(const char *body, size_t len, bool batch, struct cm_scan_event *out, int max)
{
	struct sc s = { body, body + len };
	int n;

	if (batch)
		n = events_object(&s, out, max);
	else
		n = (max >= 1 && event(&s, &out[0])) ? 1 : -1;
	ws(&s);
	return s.p == s.e ? n : -1;
}
