/*
 * OpenSSL plumbing for the cloud link. Policy lives here in one place:
 * verification is never optional (there is no "insecure" switch), and every
 * failure comes back as a sentence an operator can act on.
 */
#include "ws/ws_tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

static void
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

SSL_CTX *
ws_tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[160];

	if (ctx == NULL) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS context: %s", why);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS context: cannot require TLS 1.2: %s", why);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL && *ca_file != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			ssl_reason(why, sizeof(why));
			snprintf(err, errlen, "ca_file %s: cannot load: %s", ca_file, why);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "system CA store: cannot load: %s", why);
		goto fail;
	}
	/* Renegotiation and compression bring nothing to a JSON link. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static int
is_ip_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

SSL *
ws_tls_ssl_new(SSL_CTX *ctx, const char *host, char *err, size_t errlen)
{
	SSL *ssl = SSL_new(ctx);
	char why[160];
	int ok;

	if (ssl == NULL) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS session: %s", why);
		return NULL;
	}
	if (is_ip_literal(host)) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
	}
	if (!ok) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS session for %s: %s", host, why);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int
ws_tls_pin_parse(const char *s, unsigned char pin[WS_PIN_LEN], char *err, size_t errlen)
{
	size_t n;

	if (strncmp(s, "sha256//", 8) == 0)
		s += 8;
	n = strlen(s);
	if (n == 44 && s[43] == '=') {
		unsigned char raw[36];
		/* EVP_DecodeBlock counts the padding as zero bytes: 44 chars -> 33. */
		if (EVP_DecodeBlock(raw, (const unsigned char *)s, 44) != 33 || s[42] == '=')
			goto bad;
		memcpy(pin, raw, WS_PIN_LEN);
		return 0;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':')
			continue;
		int hi = hexval(s[i]), lo = i + 1 < n ? hexval(s[i + 1]) : -1;
		if (hi < 0 || lo < 0 || k == WS_PIN_LEN)
			goto bad;
		pin[k++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	if (k == WS_PIN_LEN)
		return 0;
bad:
	snprintf(err, errlen, "pin_sha256: expected SHA-256 as base64 (44 chars) or hex "
	    "(64 digits), got %zu chars", n);
	return -1;
}

int
ws_tls_spki_sha256(X509 *cert, unsigned char out[WS_PIN_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	int ok;

	if (len <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == WS_PIN_LEN;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

int
ws_tls_check_pin_cert(X509 *cert, const unsigned char pin[WS_PIN_LEN], char *err, size_t errlen)
{
	unsigned char got[WS_PIN_LEN];
	char b64[64];

	if (cert == NULL) {
		snprintf(err, errlen, "pin mismatch: server sent no certificate");
		return -1;
	}
	if (ws_tls_spki_sha256(cert, got) != 0) {
		snprintf(err, errlen, "pin check: cannot hash the server's public key");
		return -1;
	}
	if (CRYPTO_memcmp(got, pin, WS_PIN_LEN) == 0)
		return 0;
	EVP_EncodeBlock((unsigned char *)b64, got, WS_PIN_LEN);
	snprintf(err, errlen, "pin mismatch: server key is sha256//%s", b64);
	return -1;
}

int
ws_tls_check_pin(SSL *ssl, const unsigned char pin[WS_PIN_LEN], char *err, size_t errlen)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	int rc = ws_tls_check_pin_cert(cert, pin, err, errlen);

	X509_free(cert);
	return rc;
}

void
ws_tls_describe_failure(SSL *ssl, unsigned long ssl_err, int sock_err, const char *peer,
    char *err, size_t errlen)
{
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (vr != X509_V_OK) {
		snprintf(err, errlen, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	} else if (ssl_err != 0) {
		char why[160];
		ERR_error_string_n(ssl_err, why, sizeof(why));
		snprintf(err, errlen, "TLS handshake with %s failed: %s", peer, why);
	} else if (sock_err != 0) {
		snprintf(err, errlen, "connect %s: %s", peer, strerror(sock_err));
	} else {
		snprintf(err, errlen, "connection to %s closed during TLS handshake", peer);
	}
	ERR_clear_error();
}
