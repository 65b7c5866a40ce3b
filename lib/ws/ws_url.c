/*
 * URL parsing for the cloud link. Deliberately strict: a typo in edge.conf
 * should fail at startup with the reason, not as an odd DNS error later.
 * One parser for both transports: ws:// and wss:// for the WebSocket link,
 * http:// and https:// for the REST client (lib/http); same host, port and
 * path rules.
 */
#include "ws/ws_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
fail(char *err, size_t errlen, const char *url, const char *why)
{
	/* The URL carries no secret (the token lives in its own file), so it
	 * may be quoted; cap it so a huge value cannot flood the log. */
	snprintf(err, errlen, "bad url \"%.80s%s\": %s", url,
	    strlen(url) > 80 ? "..." : "", why);
	return -1;
}

static bool
host_char_ok(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_';
}

static int
parse(const char *s, bool http, struct ws_url *out, char *err, size_t errlen)
{
	const char *p, *host, *host_end, *port_str = NULL, *path;
	const char *plain = http ? "http://" : "ws://", *secure = http ? "https://" : "wss://";
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return fail(err, errlen, "", "empty");
	if (strncasecmp(s, plain, strlen(plain)) == 0) {
		p = s + strlen(plain);
	} else if (strncasecmp(s, secure, strlen(secure)) == 0) {
		out->tls = true;
		p = s + strlen(secure);
	} else {
		return fail(err, errlen, s, http ? "scheme must be http:// or https://" :
		    "scheme must be ws:// or wss://");
	}
	out->port = out->tls ? 443 : 80;

	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return fail(err, errlen, s, "contains a space or control character");
	if (strcspn(p, "/?#") > strcspn(p, "@"))
		return fail(err, errlen, s, "user info (user@host) is not supported");

	if (*p == '[') {
		host = p + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL)
			return fail(err, errlen, s, "missing ']' after IPv6 address");
		out->ipv6 = true;
		p = host_end + 1;
	} else {
		host = p;
		host_end = p + strcspn(p, ":/?#");
		p = host_end;
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0)
		return fail(err, errlen, s, "missing host");
	if (hlen > WS_URL_HOST_MAX)
		return fail(err, errlen, s, "host name too long");
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (out->ipv6) {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, out->host, &a6) != 1)
			return fail(err, errlen, s, "bad IPv6 address in brackets");
	} else {
		for (size_t i = 0; i < hlen; i++)
			if (!host_char_ok(out->host[i]))
				return fail(err, errlen, s, "bad character in host name");
	}

	if (*p == ':') {
		unsigned long v = 0;
		port_str = ++p;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (unsigned long)(*p - '0');
			if (v > 65535)
				return fail(err, errlen, s, "port out of range (1-65535)");
			p++;
		}
		if (p == port_str)
			return fail(err, errlen, s, "missing or non-numeric port");
		if (v == 0)
			return fail(err, errlen, s, "port out of range (1-65535)");
		out->port = (uint16_t)v;
	}
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		return fail(err, errlen, s, "unexpected character after host/port");

	path = p;
	/* The fragment is never sent to the server (RFC 6455 3: not allowed;
	 * in an HTTP base URL it would be a typo). */
	size_t plen = strcspn(path, "#");
	if (path[plen] == '#')
		return fail(err, errlen, s, http ? "fragment (#...) is not allowed in a cloud URL" :
		    "fragment (#...) is not allowed in a WebSocket URL");
	if (plen == 0) {
		strcpy(out->path, "/");
	} else {
		if (plen + 1 > WS_URL_PATH_MAX)
			return fail(err, errlen, s, "path too long");
		if (*path == '?')
			out->path[0] = '/';
		memcpy(out->path + (*path == '?'), path, plen);
		out->path[plen + (*path == '?')] = '\0';
	}

	bool default_port = out->port == (out->tls ? 443 : 80);
	const char *lb = out->ipv6 ? "[" : "", *rb = out->ipv6 ? "]" : "";
	if (default_port)
		snprintf(out->host_header, sizeof(out->host_header), "%s%s%s", lb, out->host, rb);
	else
		snprintf(out->host_header, sizeof(out->host_header), "%s%s%s:%u", lb, out->host,
		    rb, (unsigned)out->port);
	return 0;
}

int
ws_url_parse(const char *s, struct ws_url *out, char *err, size_t errlen)
{
	return parse(s, false, out, err, errlen);
}

int
ws_url_parse_http(const char *s, struct ws_url *out, char *err, size_t errlen)
{
	return parse(s, true, out, err, errlen);
}
