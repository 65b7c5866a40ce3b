/*
 * Where each REST endpoint lives, from the one [cloud] url an operator
 * writes (REST_API.md section 1): ".../api/v1", ".../api/v1/", ".../api/v1/edge"
 * and ".../api/v1/EDGE/" all name the same cloud.
 */
#include "rest/rest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ws/ws_url.h"

int
rest_base_parse(const char *url, struct rest_base *b, char *err, size_t errlen)
{
	struct ws_url u;
	size_t n;
	int w;

	memset(b, 0, sizeof(*b));
	if (ws_url_parse_http(url, &u, err, errlen) != 0)
		return -1;
	if (strchr(u.path, '?') != NULL) {
		snprintf(err, errlen, "bad url \"%.80s\": a query (?...) has no place in the "
		    "cloud's base URL", url);
		return -1;
	}
	n = strlen(u.path);
	while (n > 0 && u.path[n - 1] == '/')
		n--;
	if (n >= 5 && strncasecmp(u.path + n - 5, "/edge", 5) == 0)
		n -= 5;
	memcpy(b->api, u.path, n);
	b->api[n] = '\0';
	w = snprintf(b->edge, sizeof(b->edge), "%s/edge", b->api);
	if (w < 0 || (size_t)w >= sizeof(b->edge)) {
		snprintf(err, errlen, "bad url \"%.80s\": path too long", url);
		return -1;
	}
	return 0;
}

static const char *
endpoint_path(enum rest_endpoint e)
{
	switch (e) {
	case REST_REGISTER: return "/register";
	case REST_ACTIVATE: return "/activate";
	case REST_CONFIG: return "/config";
	case REST_SESSIONS: return "/sessions";
	case REST_EVENTS: return "/events";
	case REST_EVENTS_BATCH: return "/events/batch";
	case REST_BATCH_ACK: return "/offline-batches/ack";
	case REST_HEARTBEAT: return "/heartbeat";
	case REST_DEVICE_STATUS: return "/devices/status";
	}
	return "/";
}

int
rest_path(const struct rest_base *b, enum rest_endpoint e, char *out, size_t cap)
{
	int w = snprintf(out, cap, "%s%s", e == REST_ACTIVATE ? b->api : b->edge, endpoint_path(e));

	return (w < 0 || (size_t)w >= cap) ? -1 : 0;
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

int
rest_sessions_path(const struct rest_base *b, const char *const *ids, size_t n, char *out,
    size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o;

	if (n == 0 || rest_path(b, REST_SESSIONS, out, cap) != 0)
		return -1;
	o = strlen(out);
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "?device_ids=" : ",";
		if (o + strlen(sep) >= cap)
			return -1;
		memcpy(out + o, sep, strlen(sep));
		o += strlen(sep);
		for (const unsigned char *p = (const unsigned char *)ids[i]; *p; p++) {
			if (o + 4 >= cap)
				return -1;
			if (unreserved(*p)) {
				out[o++] = (char)*p;
			} else {
				out[o++] = '%';
				out[o++] = hex[*p >> 4];
				out[o++] = hex[*p & 15];
			}
		}
	}
	out[o] = '\0';
	return 0;
}
