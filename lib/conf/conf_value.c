/*
 * The config's values as the parser reads them and the workers use them:
 * durations ("30s", "5m"), sizes ("4GiB"), address ranges ("10.0.0.0/8")
 * and matching an address against them, and a scale's own settings by id
 * or address.
 */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
conf_parse_duration(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0) mul = 1;
	else if (strcmp(end, "ms") == 0) return -1;
	else if (strcmp(end, "m") == 0) mul = 60;
	else if (strcmp(end, "h") == 0) mul = 3600;
	else if (strcmp(end, "d") == 0) mul = 86400;
	else return -1;
	if (v > INT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -1;
	if (*end == '\0' || strcmp(end, "B") == 0) mul = 1;
	else if (strcasecmp(end, "KiB") == 0 || strcasecmp(end, "K") == 0) mul = 1ull << 10;
	else if (strcasecmp(end, "MiB") == 0 || strcasecmp(end, "M") == 0) mul = 1ull << 20;
	else if (strcasecmp(end, "GiB") == 0 || strcasecmp(end, "G") == 0) mul = 1ull << 30;
	else if (strcasecmp(end, "TiB") == 0 || strcasecmp(end, "T") == 0) mul = 1ull << 40;
	else return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int
conf_parse_cidr(const char *s, struct ct_cidr *out)
{
	char buf[64], *slash;
	long prefix = -1;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL) {
		char *end;
		*slash = '\0';
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1 || errno)
			return -1;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		if (prefix < 0) prefix = 32;
		if (prefix > 32) return -1;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		if (prefix < 0) prefix = 128;
		if (prefix > 128) return -1;
	} else
		return -1;
	out->prefix = (unsigned)prefix;
	return 0;
}

static int
prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int
conf_allowed(const struct ct_conf *c, const struct sockaddr *sa)
{
	return conf_cidr_match(c->allow, c->nallow, sa);
}

int
conf_cidr_match(const struct ct_cidr *list, int n, const struct sockaddr *sa)
{
	uint8_t v4[4], v6[16];
	bool is4 = false;

	if (n == 0)
		return 1;
	if (sa->sa_family == AF_INET) {
		memcpy(v4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		is4 = true;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(v6, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		/* An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d. */
		static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		if (memcmp(v6, mapped, 12) == 0) {
			memcpy(v4, v6 + 12, 4);
			is4 = true;
		}
	} else
		return 0;
	for (int i = 0; i < n; i++) {
		const struct ct_cidr *r = &list[i];
		if (is4 && r->family == AF_INET && prefix_match(v4, r->addr, r->prefix))
			return 1;
		if (!is4 && r->family == AF_INET6 && prefix_match(v6, r->addr, r->prefix))
			return 1;
	}
	return 0;
}

int64_t
conf_scale_unit(const struct ct_conf *c, const char *id)
{
	const struct ct_scale_conf *s = conf_scale_by_id(c, id);
	return s && s->weight_unit_grams > 0 ? s->weight_unit_grams : c->weight_unit_grams;
}

const struct ct_scale_conf *
conf_scale_by_addr(const struct ct_conf *c, const char *ip)
{
	for (int i = 0; i < c->nscales; i++)
		if (c->scales[i].address[0] && strcmp(c->scales[i].address, ip) == 0)
			return &c->scales[i];
	return NULL;
}

const struct ct_scale_conf *
conf_scale_by_id(const struct ct_conf *c, const char *id)
{
	for (int i = 0; i < c->nscales; i++)
		if (strcmp(c->scales[i].id, id) == 0)
			return &c->scales[i];
	return NULL;
}
