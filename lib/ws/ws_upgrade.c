/*
 * RFC 6455 opening handshake, client side. The response parser is the first
 * code to see bytes from the internet on the cloud link, so it is bounded
 * (WS_UPGRADE_MAX_HDR), never trusts a length, copies nothing unbounded, and
 * fails with a message that says which header was wrong.
 */
#include "ws/ws_upgrade.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#ifndef CT_VERSION
#define CT_VERSION "0"
#endif

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int
ws_upgrade_make_key(char key[WS_KEY_LEN + 1])
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	return 0;
}

void
ws_upgrade_accept_for(const char *key, char accept[WS_ACCEPT_LEN + 1])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	/* EVP rather than SHA1(): the low-level call is deprecated in OpenSSL 3. */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, key, strlen(key)) != 1 ||
	    EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		/* Cannot happen short of OOM; an impossible accept value makes
		 * the handshake fail closed instead of passing unchecked. */
		memset(accept, '!', WS_ACCEPT_LEN);
		accept[WS_ACCEPT_LEN] = '\0';
		EVP_MD_CTX_free(ctx);
		return;
	}
	EVP_MD_CTX_free(ctx);
	EVP_EncodeBlock((unsigned char *)accept, md, sizeof(md));
}

/* Header values are sent verbatim, so anything that could end the line or
 * the header block is refused: a token read from a file with a stray CR
 * must not become a second header. */
static bool
value_ok(const char *v, bool allow_space)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch == ' ' && !allow_space)
			return false;
	}
	return true;
}

ssize_t
ws_upgrade_build(const struct ws_upgrade_req *req, char *buf, size_t size, char *err,
    size_t errlen)
{
	const char *ver = req->client_version ? req->client_version : CT_VERSION;
	bool has_edge = req->edge_id && *req->edge_id;
	bool has_site = req->site_id && *req->site_id;
	bool has_token = req->token && *req->token;

	if (!value_ok(ver, true)) {
		snprintf(err, errlen, "client version contains a control character");
		return -1;
	}
	if (has_edge && !value_ok(req->edge_id, false)) {
		snprintf(err, errlen, "edge id contains a space or control character");
		return -1;
	}
	if (has_site && !value_ok(req->site_id, false)) {
		snprintf(err, errlen, "site id contains a space or control character");
		return -1;
	}
	if (has_token && !value_ok(req->token, false)) {
		/* Never echo the token itself. */
		snprintf(err, errlen, "token contains a space or control character "
		    "(trailing newline in the token file?)");
		return -1;
	}
	if (req->key == NULL || strlen(req->key) != WS_KEY_LEN || !value_ok(req->key, false)) {
		snprintf(err, errlen, "bad Sec-WebSocket-Key");
		return -1;
	}

	int n = snprintf(buf, size,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "User-Agent: carnitrack-edge/%s\r\n"
	    "X-Client-Type: edge\r\n"
	    "X-Client-Version: %s\r\n"
	    "%s%s%s"
	    "%s%s%s"
	    "%s%s%s"
	    "\r\n",
	    req->url->path, req->url->host_header, req->key, ver, ver,
	    has_edge ? "X-Edge-Id: " : "", has_edge ? req->edge_id : "", has_edge ? "\r\n" : "",
	    has_site ? "X-Site-Id: " : "", has_site ? req->site_id : "", has_site ? "\r\n" : "",
	    has_token ? "Authorization: Bearer " : "", has_token ? req->token : "",
	    has_token ? "\r\n" : "");
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errlen, "upgrade request too large (%d bytes, limit %zu)", n, size);
		return -1;
	}
	return n;
}

void
ws_upgrade_parser_init(struct ws_upgrade_parser *p, const char *key)
{
	memset(p, 0, sizeof(*p));
	ws_upgrade_accept_for(key, p->accept);
	p->status = -1;
}

/* For error messages: a peer's bytes must not put control characters into
 * our log, nor make it long. */
static void
printable_copy(char *dst, size_t dstsize, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < dstsize; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	dst[j] = '\0';
}

static enum ws_upgrade_result
fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return WS_UPGRADE_ERROR;
}

/* "HTTP/1.1 101 Switching Protocols": version, three digits, reason. */
static enum ws_upgrade_result
parse_status_line(struct ws_upgrade_parser *p, const char *line, size_t n, char *err,
    size_t errlen)
{
	printable_copy(p->status_line, sizeof(p->status_line), line, n);
	if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (n > 12 && line[12] != ' '))
		return fail(err, errlen, "bad upgrade response status line: \"%s\"",
		    p->status_line);
	p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (p->status != 101)
		return fail(err, errlen, "upgrade refused: %s", p->status_line);
	return WS_UPGRADE_MORE;
}

static bool
is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Case-insensitive search of a comma-separated token list ("keep-alive,
 * Upgrade"). */
static bool
token_list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t s, e;
		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && is_ows(v[e - 1]))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

static bool
name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Parses the complete header buf[0..end) (status line already checked). */
static enum ws_upgrade_result
parse_header(struct ws_upgrade_parser *p, size_t end, char *err, size_t errlen)
{
	const char *b = p->buf;
	size_t i = (size_t)((const char *)memchr(b, '\n', end) - b) + 1;
	int n_upgrade = 0, n_connection = 0, n_accept = 0;
	bool accept_ok = false;

	if (memchr(b, '\0', end) != NULL)
		return fail(err, errlen, "%s", "NUL byte in upgrade response header");
	while (i < end) {
		const char *line = b + i, *nl = memchr(line, '\n', end - i);
		/* the header ends in CRLFCRLF, so nl exists */
		size_t len = (size_t)(nl - line);

		i += len + 1;
		if (len == 0 || line[len - 1] != '\r')
			return fail(err, errlen, "%s", "upgrade response line not ended by CRLF");
		len--;
		if (len == 0)
			break;                         /* the empty line: end of header */
		if (is_ows(line[0]))
			return fail(err, errlen, "%s", "folded header line in upgrade response");
		const char *colon = memchr(line, ':', len);
		if (colon == NULL || colon == line)
			return fail(err, errlen, "%s", "malformed header line in upgrade response");
		size_t nlen = (size_t)(colon - line);
		for (size_t k = 0; k < nlen; k++)
			if (is_ows(line[k]) || (unsigned char)line[k] < 0x21 || line[k] == 0x7f)
				return fail(err, errlen, "%s",
				    "malformed header name in upgrade response");
		const char *v = colon + 1, *ve = line + len;
		while (v < ve && is_ows(*v))
			v++;
		while (ve > v && is_ows(ve[-1]))
			ve--;
		size_t vlen = (size_t)(ve - v);

		if (name_is(line, nlen, "Upgrade")) {
			n_upgrade += token_list_has(v, vlen, "websocket");
		} else if (name_is(line, nlen, "Connection")) {
			n_connection += token_list_has(v, vlen, "upgrade");
		} else if (name_is(line, nlen, "Sec-WebSocket-Accept")) {
			n_accept++;
			accept_ok = vlen == WS_ACCEPT_LEN &&
			    memcmp(v, p->accept, WS_ACCEPT_LEN) == 0;
		} else if (name_is(line, nlen, "Sec-WebSocket-Extensions")) {
			/* We offered none (RFC 6455 4.1: fail the connection). */
			return fail(err, errlen, "%s",
			    "server selected a WebSocket extension we did not offer");
		} else if (name_is(line, nlen, "Sec-WebSocket-Protocol")) {
			return fail(err, errlen, "%s",
			    "server selected a subprotocol we did not offer");
		}
	}
	if (n_upgrade == 0)
		return fail(err, errlen, "%s", "upgrade response lacks \"Upgrade: websocket\"");
	if (n_connection == 0)
		return fail(err, errlen, "%s", "upgrade response lacks \"Connection: upgrade\"");
	if (n_accept == 0)
		return fail(err, errlen, "%s", "upgrade response lacks Sec-WebSocket-Accept");
	if (n_accept > 1)
		return fail(err, errlen, "%s", "upgrade response has Sec-WebSocket-Accept twice");
	if (!accept_ok)
		return fail(err, errlen, "%s", "Sec-WebSocket-Accept mismatch");
	return WS_UPGRADE_DONE;
}

enum ws_upgrade_result
ws_upgrade_parse(struct ws_upgrade_parser *p, const uint8_t *data, size_t len, size_t *consumed,
    char *err, size_t errlen)
{
	size_t old = p->len, room = sizeof(p->buf) - p->len;
	size_t take = len < room ? len : room;
	size_t from;

	*consumed = 0;
	memcpy(p->buf + p->len, data, take);
	p->len += take;

	if (p->status < 0) {
		const char *nl = memchr(p->buf, '\n', p->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - p->buf);
			if (n == 0 || p->buf[n - 1] != '\r')
				return fail(err, errlen, "%s",
				    "upgrade response status line not ended by CRLF");
			if (parse_status_line(p, p->buf, n - 1, err, errlen) != WS_UPGRADE_MORE)
				return WS_UPGRADE_ERROR;
		} else if (p->len > WS_STATUS_LINE_MAX * 4) {
			return fail(err, errlen, "%s", "upgrade response status line too long");
		}
	}

	/* Resume the CRLFCRLF search 3 bytes back: the end may straddle reads. */
	from = p->scanned > 3 ? p->scanned - 3 : 0;
	for (size_t i = from; i + 4 <= p->len; i++) {
		if (p->buf[i] == '\r' && memcmp(p->buf + i, "\r\n\r\n", 4) == 0) {
			size_t end = i + 4;
			if (p->status < 0)   /* cannot happen: a CRLF precedes */
				return fail(err, errlen, "%s",
				    "upgrade response without status line");
			*consumed = end - old;
			return parse_header(p, end, err, errlen);
		}
	}
	p->scanned = p->len;
	if (take < len || p->len == sizeof(p->buf))
	{
		snprintf(err, errlen, "upgrade response too large (limit %d bytes)",
		    WS_UPGRADE_MAX_HDR);
		return WS_UPGRADE_ERROR;
	}
	*consumed = len;
	return WS_UPGRADE_MORE;
}
