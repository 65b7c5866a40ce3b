/* Getters over the status object and the health verdict; see edge_status.h. */
#include "metrics/edge_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static json_t *
es_worker(json_t *status, const char *name)
{
	size_t i;
	json_t *w;

	json_array_foreach(json_object_get(status, "workers"), i, w) {
		const char *n = json_string_value(json_object_get(w, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return w;
	}
	return NULL;
}

json_t *
es_worker_status(json_t *status, const char *name)
{
	json_t *s = json_object_get(es_worker(status, name), "status");

	return json_is_object(s) ? s : NULL;
}

json_t *
es_get(json_t *o, const char *key)
{
	const char *dot;

	while (o != NULL && (dot = strchr(key, '.')) != NULL) {
		o = json_object_getn(o, key, (size_t)(dot - key));
		key = dot + 1;
	}
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

bool
es_num(json_t *o, const char *key, double *out)
{
	json_t *v = es_get(o, key);

	if (json_is_number(v))
		*out = json_number_value(v);
	else if (json_is_boolean(v))
		*out = json_is_true(v) ? 1 : 0;
	else
		return false;
	return true;
}

const char *
es_str(json_t *o, const char *key)
{
	return json_string_value(es_get(o, key));
}

long long
es_iso_ms(const char *s)
{
	struct tm tm;
	const char *p;
	long long ms = 0;
	time_t t;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits++ < 3)
				ms = ms * 10 + (*p - '0');
		for (; digits < 3 && digits > 0; digits++)
			ms *= 10;
	}
	if (strcmp(p, "Z") != 0 || (t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (long long)t * 1000 + ms;
}

/* Appends one reason, "; " between reasons; cut at whylen. */
static void __attribute__((format(printf, 3, 4)))
reason(char *why, size_t whylen, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used > 0 && used + 2 < whylen) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why + used, whylen - used, fmt, ap);
	va_end(ap);
}

bool
es_healthy(json_t *status, char *why, size_t whylen)
{
	const char *h = json_string_value(json_object_get(status, "health"));
	size_t i;
	json_t *w;

	if (whylen == 0)
		return h != NULL && strcmp(h, "ok") == 0;
	why[0] = '\0';
	if (status == NULL) {
		snprintf(why, whylen, "carnitrackd did not answer");
		return false;
	}
	if (h != NULL && strcmp(h, "ok") == 0) {
		snprintf(why, whylen, "ok");
		return true;
	}
	json_array_foreach(json_object_get(status, "workers"), i, w) {
		const char *name = es_str(w, "name"), *state = es_str(w, "state");
		json_t *st = json_object_get(w, "status");
		const char *sh = es_str(st, "health"), *err = es_str(st, "last_error");

		if (name == NULL)
			continue;
		if (state != NULL && strcmp(state, "running") != 0)
			reason(why, whylen, "%s worker %s%s%s", name, state,
			    es_str(w, "why") ? ": " : "", es_str(w, "why") ? es_str(w, "why") : "");
		else if (sh == NULL || strcmp(sh, "ok") == 0)
			continue;
		else if (es_str(st, "link_state") != NULL)
			reason(why, whylen, "cloud link %s%s%s", es_str(st, "link_state"),
			    err ? ": " : "", err ? err : "");
		else
			reason(why, whylen, "%s %s", name,
			    es_str(st, "state") ? es_str(st, "state") : "degraded");
	}
	if (why[0] == '\0')
		snprintf(why, whylen, "degraded");
	return false;
}
