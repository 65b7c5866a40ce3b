/*
 * Reading one field of a cloud message. Clouds written against the quick
 * reference differ in small ways (an id as a number, a time as epoch
 * milliseconds); these readers accept every form that can only mean one
 * thing and refuse, with the field named, anything that does not fit.
 */
#include "cloudmsg/cloudmsg.h"
#include "cloudmsg/cm_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int
cm_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
put_text(const char *key, bool required, const char *s, size_t n, char *out, size_t cap,
    char *err, size_t errlen)
{
	if (n >= cap)
		return cm_fail(err, errlen, "payload.%s: %zu bytes, longer than %zu", key, n,
		    cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
	if (strlen(out) != n) {
		out[0] = '\0';
		return cm_fail(err, errlen, "payload.%s: contains NUL", key);
	}
	/* An empty id names nothing: as bad as a missing one. */
	if (required && n == 0)
		return cm_fail(err, errlen, "payload.%s: empty", key);
	return 0;
}

int
cm_get_str(const json_t *obj, const char *key, bool required, char *out, size_t cap,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		if (required)
			return cm_fail(err, errlen, "payload.%s: missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return cm_fail(err, errlen, "payload.%s: expected a string", key);
	return put_text(key, required, json_string_value(v), json_string_length(v), out, cap,
	    err, errlen);
}

int
cm_get_id(const json_t *obj, const char *key, bool required, char *out, size_t cap,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	char num[24];
	int n;

	out[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		if (required)
			return cm_fail(err, errlen, "payload.%s: missing", key);
		return 0;
	}
	if (json_is_string(v))
		return put_text(key, required, json_string_value(v), json_string_length(v), out,
		    cap, err, errlen);
	/* A database serial: 42 and "42" name the same row. A fraction names
	 * none, so a real is refused rather than rounded to someone else. */
	if (!json_is_integer(v))
		return cm_fail(err, errlen, "payload.%s: expected a string or an integer", key);
	n = snprintf(num, sizeof(num), "%" PRId64, (int64_t)json_integer_value(v));
	return put_text(key, required, num, (size_t)n, out, cap, err, errlen);
}

int
cm_get_id_any(const json_t *obj, const char *const *keys, bool required, char *out, size_t cap,
    char *err, size_t errlen)
{
	for (size_t i = 0; keys[i] != NULL; i++) {
		const json_t *v = json_object_get(obj, keys[i]);
		if (v != NULL && !json_is_null(v))
			return cm_get_id(obj, keys[i], required, out, cap, err, errlen);
	}
	out[0] = '\0';
	if (required)
		return cm_fail(err, errlen, "payload.%s: missing", keys[0]);
	return 0;
}

bool
cm_contains(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ time */

/* Exactly `width` digits at *p, advanced past them. */
static bool
digits(const char **p, int width, int *out)
{
	int v = 0;

	for (int i = 0; i < width; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += width;
	*out = v;
	return true;
}

int
cm_iso_parse(const char *s, int64_t *ms_out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off_min = 0;
	struct tm tm;
	time_t t;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				int scale = 100;
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++, scale /= 10)
					frac_ms += (*p - '0') * scale;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
			if (!digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p) && !digits(&p, 2, &om))
				return -1;
			if (oh > 23 || om > 59)
				return -1;
			off_min = sign * (oh * 60 + om);
		}
		/* no zone: taken as UTC, the contract's only zone */
	}
	/* Before the epoch is no time a cloud sends: unreadable, like junk. */
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*ms_out = ((int64_t)t - (int64_t)off_min * 60) * 1000 + frac_ms;
	return *ms_out >= 0 ? 0 : -1;
}

int64_t
cm_time_ms(const json_t *v)
{
	int64_t ms;

	if (json_is_string(v))
		return cm_iso_parse(json_string_value(v), &ms) == 0 ? ms : -1;
	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : -1;
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9.2e18)
		return (int64_t)json_real_value(v);
	return -1;
}

/* ------------------------------------------------------------ text */

bool
cm_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	while (s < end) {
		unsigned c = *s, n, cp;
		if (c < 0x80) { s++; continue; }
		if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
		else return false;
		if ((size_t)(end - s) <= n)
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}
