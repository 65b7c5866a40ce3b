/*
 * The retry policy of the HTTP client, kept free of I/O so that every rule
 * has a unit test (tests/unit/test_http_retry.c). See http_retry.h.
 */
#include "http/http_retry.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DAY_MS (24 * 3600 * 1000LL)

enum http_verdict
http_classify(int status, enum http_error err)
{
	switch (err) {
	case HTTP_E_NONE:
		break;
	case HTTP_E_CONNECT:
	case HTTP_E_TIMEOUT:
	case HTTP_E_IO:
	case HTTP_E_CONTENT_TYPE:
		return HTTP_RETRY;
	case HTTP_E_TOO_BIG:
	case HTTP_E_NOMEM:
		return HTTP_FINAL;
	}
	if ((status >= 200 && status <= 299) || status == 304)
		return HTTP_DONE;
	/* 408: the server gave up waiting for us; 425: replay later. */
	if (status == 429 || status == 408 || status == 425 || (status >= 500 && status <= 599))
		return HTTP_RETRY;
	return HTTP_FINAL;
}

bool
http_means_offline(int status, enum http_error err)
{
	if (err == HTTP_E_CONNECT || err == HTTP_E_TIMEOUT || err == HTTP_E_IO ||
	    err == HTTP_E_CONTENT_TYPE)
		return true;
	if (err != HTTP_E_NONE)
		return false;
	return status == 502 || status == 503 || status == 504;
}

int64_t
http_backoff_ms(int retry, int64_t base_ms, int64_t max_ms, uint32_t rnd)
{
	int64_t nominal = base_ms;

	if (base_ms <= 0)
		base_ms = nominal = 1;
	if (max_ms < base_ms)
		max_ms = base_ms;
	for (int i = 0; i < retry && nominal < max_ms; i++)
		nominal *= 2;
	if (nominal > max_ms)
		nominal = max_ms;
	return nominal / 2 + (int64_t)(rnd % (uint64_t)(nominal - nominal / 2 + 1));
}

int64_t
http_next_delay_ms(int retry, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
    uint32_t rnd)
{
	int64_t d = http_backoff_ms(retry, base_ms, max_ms, rnd);

	if (retry_after_ms > max_ms)
		return -1;
	return retry_after_ms > d ? retry_after_ms : d;
}

/* ---------------------------------------------------------------- dates */

static int
month_of(const char *s)
{
	static const char m[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };

	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, m[i], 3) == 0)
			return i;
	return -1;
}

/* Reads exactly n digits. */
static bool
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
lit(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool
hms(const char **p, int *h, int *mi, int *s)
{
	return digits(p, 2, h) && lit(p, ":") && digits(p, 2, mi) && lit(p, ":") &&
	    digits(p, 2, s) && *h < 24 && *mi < 60 && *s < 61;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), m 1-12. */
static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (m + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
http_date_parse(const char *v)
{
	const char *p = v, *comma;
	int d, mo, y, h, mi, s;

	if (v == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	comma = strchr(p, ',');
	if (comma != NULL && comma - p == 3) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		p = comma + 1;
		if (!lit(&p, " ") || !digits(&p, 2, &d) || !lit(&p, " ") ||
		    (mo = month_of(p)) < 0)
			return -1;
		p += 3;
		if (!lit(&p, " ") || !digits(&p, 4, &y) || !lit(&p, " ") || !hms(&p, &h, &mi, &s) ||
		    !lit(&p, " GMT"))
			return -1;
	} else if (comma != NULL && comma - p >= 6 && comma - p <= 9) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit year: the
		 * nearest century in the past 50 years, as RFC 9110 asks) */
		p = comma + 1;
		if (!lit(&p, " ") || !digits(&p, 2, &d) || !lit(&p, "-") || (mo = month_of(p)) < 0)
			return -1;
		p += 3;
		if (!lit(&p, "-") || !digits(&p, 2, &y) || !lit(&p, " ") || !hms(&p, &h, &mi, &s) ||
		    !lit(&p, " GMT"))
			return -1;
		y += y < 70 ? 2000 : 1900;
	} else if (comma == NULL && strlen(p) >= 24) {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		p += 3;
		if (!lit(&p, " ") || (mo = month_of(p)) < 0)
			return -1;
		p += 3;
		if (!lit(&p, " "))
			return -1;
		if (*p == ' ')
			p++, d = 0;
		else if (!digits(&p, 1, &d))
			return -1;
		int d2;
		if (!digits(&p, 1, &d2))
			return -1;
		d = d * 10 + d2;
		if (!lit(&p, " ") || !hms(&p, &h, &mi, &s) || !lit(&p, " ") || !digits(&p, 4, &y))
			return -1;
	} else {
		return -1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' || d < 1 || d > 31)
		return -1;
	return days_from_civil(y, mo + 1, d) * 86400 + h * 3600 + mi * 60 + s;
}

int64_t
http_retry_after_ms(const char *v, int64_t now_s)
{
	const char *p = v;
	int64_t secs = 0;

	if (v == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p)) {
			if (secs < DAY_MS / 1000)
				secs = secs * 10 + (*p - '0');
			p++;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0')
			return -1;
	} else {
		int64_t at = http_date_parse(p);
		if (at < 0)
			return -1;
		secs = at > now_s ? at - now_s : 0;
	}
	return secs * 1000 > DAY_MS ? DAY_MS : secs * 1000;
}

/* ---------------------------------------------------------------- bodies */

bool
http_json_type(const char *ct)
{
	const char *p, *end, *slash;
	size_t n;

	if (ct == NULL)
		return true;
	for (p = ct; *p == ' ' || *p == '\t'; p++)
		;
	end = p + strcspn(p, ";");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p);
	if ((n == 16 && strncasecmp(p, "application/json", 16) == 0) ||
	    (n == 9 && strncasecmp(p, "text/json", 9) == 0))
		return true;
	slash = memchr(p, '/', n);
	return slash != NULL && n > 17 && strncasecmp(p, "application/", 12) == 0 &&
	    slash == p + 11 && strncasecmp(end - 5, "+json", 5) == 0 && end - 5 > slash + 1;
}

void
http_excerpt(const char *body, size_t len, size_t max, char *out, size_t cap)
{
	size_t n = len < max ? len : max, o = 0;
	bool cut = len > max;

	if (cap == 0)
		return;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)body[i];
		out[o++] = (c < 0x20 || c >= 0x7f) ? '.' : (char)c;
	}
	if (cut || o < n) {
		/* room for "..." by stepping back if needed */
		while (o > 0 && o + 4 > cap)
			o--;
		if (o + 4 <= cap) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	out[o] = '\0';
}
