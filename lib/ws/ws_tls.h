/*
 * TLS for wss://: one client SSL_CTX per link (TLS 1.2 minimum, peer
 * verification against the system store or a CA file), one SSL per
 * connection (SNI, host name or IP verification), and the optional SPKI
 * SHA-256 pin checked after the handshake.
 */
#ifndef CT_WS_TLS_H
#define CT_WS_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define WS_PIN_LEN 32   /* SHA-256 */

/* ca_file NULL: the system CA store. NULL + err on failure. */
SSL_CTX *ws_tls_ctx_new(const char *ca_file, char *err, size_t errlen);

/* SNI (names only, RFC 6066 forbids IP literals) and the identity the
 * certificate must carry (DNS name, or IP address for literals). */
SSL *ws_tls_ssl_new(SSL_CTX *ctx, const char *host, char *err, size_t errlen);

/* "sha256//<base64>", "<base64>" (44 chars) or hex (64 digits, ':' allowed). */
int ws_tls_pin_parse(const char *s, unsigned char pin[WS_PIN_LEN], char *err, size_t errlen);

/* SHA-256 over the DER SubjectPublicKeyInfo of cert. 0 or -1. */
int ws_tls_spki_sha256(X509 *cert, unsigned char out[WS_PIN_LEN]);

/* After the handshake: 0 if the leaf's SPKI hash equals pin, else -1 with
 * "pin mismatch: server key sha256//<base64>" (the server's value helps the
 * operator fix a wrong pin; it is public, not a secret). */
int ws_tls_check_pin(SSL *ssl, const unsigned char pin[WS_PIN_LEN], char *err, size_t errlen);
/* The same check on a certificate in hand (cert NULL: "sent no certificate"),
 * for a client that checks the pin inside the handshake's verify callback
 * because its HTTP library sends the request as soon as TLS is up (lib/http). */
int ws_tls_check_pin_cert(X509 *cert, const unsigned char pin[WS_PIN_LEN], char *err,
    size_t errlen);

/* Why a handshake failed, from the verify result, then the OpenSSL error
 * (ssl_err: as from bufferevent_get_openssl_error, 0 if none), then errno
 * (sock_err, 0 if none). Never empty. */
void ws_tls_describe_failure(SSL *ssl, unsigned long ssl_err, int sock_err, const char *peer,
    char *err, size_t errlen);

#endif
