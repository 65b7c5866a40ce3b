/*
 * ws:// and wss:// URLs (and http:// and https:// for the REST client):
 * scheme, host (name, IPv4 or [IPv6]), port, path.
 */
#ifndef CT_WS_URL_H
#define CT_WS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_URL_HOST_MAX 253   /* longest DNS name */
#define WS_URL_PATH_MAX 2048

struct ws_url {
	bool tls;                          /* wss:// or https:// */
	bool ipv6;                         /* host was a bracketed literal */
	char host[WS_URL_HOST_MAX + 1];    /* without brackets, for DNS/SNI/verification */
	uint16_t port;                     /* explicit, or 80 / 443 */
	char path[WS_URL_PATH_MAX + 1];    /* "/" when absent; includes any "?query" */
	char host_header[WS_URL_HOST_MAX + 10]; /* "host", "host:port", "[v6]:port" */
};

/* 0 on success; -1 with a message naming the fault in err. */
int ws_url_parse(const char *s, struct ws_url *out, char *err, size_t errlen);
/* The same rules for http:// and https:// (tls set for https). */
int ws_url_parse_http(const char *s, struct ws_url *out, char *err, size_t errlen);

#endif
