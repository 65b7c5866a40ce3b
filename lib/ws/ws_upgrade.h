/*
 * The HTTP/1.1 upgrade that opens a WebSocket (RFC 6455 section 4): the
 * client request, and an incremental, bounded parser for the server's
 * response. Pure functions over bytes, so they can be tested and fuzzed
 * without sockets.
 */
#ifndef CT_WS_UPGRADE_H
#define CT_WS_UPGRADE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws/ws_url.h"

#define WS_KEY_LEN          24     /* base64 of 16 random bytes */
#define WS_ACCEPT_LEN       28     /* base64 of a SHA-1 digest */
#define WS_UPGRADE_MAX_HDR  8192   /* whole response header, status line included */
#define WS_STATUS_LINE_MAX  128    /* kept for the error message */

/* A fresh Sec-WebSocket-Key (OpenSSL RAND_bytes). -1 if the RNG fails. */
int ws_upgrade_make_key(char key[WS_KEY_LEN + 1]);

/* base64(SHA-1(key + RFC 6455 GUID)): what the server must answer. Also
 * what a server (tests, cloudsim) sends. */
void ws_upgrade_accept_for(const char *key, char accept[WS_ACCEPT_LEN + 1]);

struct ws_upgrade_req {
	const struct ws_url *url;
	const char *key;             /* from ws_upgrade_make_key */
	const char *token;           /* NULL/"": no Authorization */
	const char *edge_id;         /* NULL/"": header omitted */
	const char *site_id;         /* NULL/"": header omitted */
	const char *client_version;  /* NULL: CT_VERSION */
};

/* Writes the request into buf. Returns its length, or -1 if a value holds a
 * CR, LF or other control character (header injection) or buf is too
 * small; err names the field (never the token's value). */
ssize_t ws_upgrade_build(const struct ws_upgrade_req *req, char *buf, size_t size,
    char *err, size_t errlen);

enum ws_upgrade_result {
	WS_UPGRADE_ERROR = -1,  /* err says why; the connection must be dropped */
	WS_UPGRADE_MORE = 0,    /* all input consumed, header not complete yet */
	WS_UPGRADE_DONE = 1,    /* valid 101; *consumed bytes were header, the
	                           rest of the input is WebSocket stream */
};

struct ws_upgrade_parser {
	char accept[WS_ACCEPT_LEN + 1];     /* expected Sec-WebSocket-Accept */
	size_t len;                         /* bytes in buf */
	size_t scanned;                     /* buf[0..scanned) holds no CRLFCRLF end */
	int status;                         /* once the status line is complete */
	char status_line[WS_STATUS_LINE_MAX + 1];
	char buf[WS_UPGRADE_MAX_HDR];
};

void ws_upgrade_parser_init(struct ws_upgrade_parser *p, const char *key);

/* Feeds the next bytes read from the connection. After DONE or ERROR the
 * parser must not be fed again. */
enum ws_upgrade_result ws_upgrade_parse(struct ws_upgrade_parser *p, const uint8_t *data,
    size_t len, size_t *consumed, char *err, size_t errlen);

#endif
