/*
 * Server side of the WebSocket opening handshake (RFC 6455 section 4.2):
 * just enough HTTP/1.1 to accept an edge and to refuse what is not one.
 */
#include "sim.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void
sim_accept_key(const char *key, char out[64])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char buf[128];
	size_t n = strlen(key);

	if (n > sizeof(buf) - sizeof(ws_guid))
		n = sizeof(buf) - sizeof(ws_guid);
	memcpy(buf, key, n);
	memcpy(buf + n, ws_guid, sizeof(ws_guid) - 1);
	SHA1((const unsigned char *)buf, n + sizeof(ws_guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* Does the comma-separated header value contain token (case-insensitive)? */
static bool
has_token(const char *v, const char *token)
{
	size_t tl = strlen(token);

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *e = v;
		while (*e != '\0' && *e != ',')
			e++;
		const char *t = e;
		while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - v) == tl && strncasecmp(v, token, tl) == 0)
			return true;
		v = e;
	}
	return false;
}

static void
copy_val(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

int
sim_parse_upgrade(const char *head, size_t len, struct upgrade_req *r)
{
	char line[SIM_HTTP_MAX];
	char upgrade[128] = "", connection[128] = "", version[16] = "";
	const char *p = head, *end = head + len;
	bool first = true;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n;

		if (eol == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(line))
			return 431;
		memcpy(line, p, n);
		line[n] = '\0';
		p = eol < end ? eol + 1 : end;
		if (first) {
			char method[16], path[256], proto[16];
			first = false;
			if (sscanf(line, "%15s %255s %15s", method, path, proto) != 3)
				return 400;
			if (strcmp(method, "GET") != 0)
				return 405;
			if (strncmp(proto, "HTTP/1.", 7) != 0)
				return 400;
			snprintf(r->path, sizeof(r->path), "%s", path);
			continue;
		}
		if (n == 0)
			break;
		char *colon = strchr(line, ':');
		if (colon == NULL)
			return 400;
		*colon = '\0';
		const char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (strcasecmp(line, "Upgrade") == 0)
			copy_val(upgrade, sizeof(upgrade), v, vl);
		else if (strcasecmp(line, "Connection") == 0)
			copy_val(connection, sizeof(connection), v, vl);
		else if (strcasecmp(line, "Sec-WebSocket-Key") == 0)
			copy_val(r->key, sizeof(r->key), v, vl);
		else if (strcasecmp(line, "Sec-WebSocket-Version") == 0)
			copy_val(version, sizeof(version), v, vl);
		else if (strcasecmp(line, "Authorization") == 0)
			copy_val(r->auth, sizeof(r->auth), v, vl);
		else if (strcasecmp(line, "X-Edge-Id") == 0)
			copy_val(r->edge_id, sizeof(r->edge_id), v, vl);
		else if (strcasecmp(line, "X-Site-Id") == 0)
			copy_val(r->site_id, sizeof(r->site_id), v, vl);
		else if (strcasecmp(line, "X-Client-Type") == 0)
			copy_val(r->client_type, sizeof(r->client_type), v, vl);
		else if (strcasecmp(line, "X-Client-Version") == 0)
			copy_val(r->client_version, sizeof(r->client_version), v, vl);
	}
	if (first)
		return 400;
	if (!has_token(upgrade, "websocket") || !has_token(connection, "upgrade"))
		return 426;
	if (strcmp(version, "13") != 0)
		return 426;
	/* The key is base64 of 16 bytes: 24 characters ending in "==". */
	if (strlen(r->key) != 24 || strcmp(r->key + 22, "==") != 0)
		return 400;
	return 0;
}
