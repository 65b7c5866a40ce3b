/*
 * What to do after one HTTP attempt, as small pure functions (no clock, no
 * randomness of their own: both come in as arguments so tests can pin them).
 * http_client.c applies them per attempt; the REST transport's callers use
 * http_means_offline() to tell "the cloud is unreachable" from "this one
 * request was refused" (REST_API.md section 8 item 3: a 4xx on one endpoint
 * never means the cloud is offline).
 *
 *   2xx, 304                         -> done
 *   429, 5xx, 408, 425               -> retry with jittered exponential backoff,
 *   no response (connect, TLS,          at least Retry-After when the server
 *   timeout, lost connection),          sent one; a Retry-After longer than the
 *   a 2xx body that is not JSON         backoff cap ends the request here and is
 *                                       handed to the caller to honour
 *   other 4xx, 3xx, 1xx, oversized   -> final for this request; the caller logs
 *   response                            the status line and a body excerpt
 */
#ifndef CT_HTTP_RETRY_H
#define CT_HTTP_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How an attempt ended before its status is looked at. */
enum http_error {
	HTTP_E_NONE = 0,     /* a complete HTTP response arrived (any status) */
	HTTP_E_CONNECT,      /* DNS, TCP connect, TLS handshake, certificate, pin */
	HTTP_E_TIMEOUT,      /* the attempt's deadline passed */
	HTTP_E_IO,           /* connection lost or HTTP unreadable mid-exchange */
	HTTP_E_TOO_BIG,      /* response headers or body over the client's caps */
	HTTP_E_CONTENT_TYPE, /* 2xx whose body is not JSON (captive portal, proxy page) */
	HTTP_E_NOMEM,
};

enum http_verdict {
	HTTP_DONE,           /* success: 2xx or 304 */
	HTTP_RETRY,          /* worth another attempt after a delay */
	HTTP_FINAL,          /* this request failed for good; do not resend it as is */
};
enum http_verdict http_classify(int status, enum http_error err);

/* True when the outcome says the cloud as a whole is unreachable: no HTTP
 * answer at all, or a gateway saying it cannot reach the origin (502, 503,
 * 504). A 4xx, a 500, a 429 are answers from a cloud that is up. */
bool http_means_offline(int status, enum http_error err);

/* Delay before retry number `retry` (0 for the first retry): nominal
 * min(base_ms * 2^retry, max_ms), jittered to [nominal/2, nominal] by rnd
 * ("equal jitter": spreads edges that failed together, never retries at
 * once). base_ms, max_ms > 0. */
int64_t http_backoff_ms(int retry, int64_t base_ms, int64_t max_ms, uint32_t rnd);

/* The delay before the next attempt: the backoff, or Retry-After when it is
 * longer. -1 when Retry-After exceeds max_ms: the server asked for a longer
 * pause than this layer waits; the caller gets the result and the value. */
int64_t http_next_delay_ms(int retry, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
    uint32_t rnd);

/* Retry-After (RFC 9110 10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate,
 * and the obsolete RFC 850 and asctime forms) taken relative to now_s (Unix
 * seconds). Milliseconds, 0 for a date in the past, capped at one day; -1 when
 * v is NULL or unreadable. Locale-independent. */
int64_t http_retry_after_ms(const char *v, int64_t now_s);
/* An HTTP-date as Unix seconds; -1 if unreadable. */
int64_t http_date_parse(const char *v);

/* A Content-Type that announces JSON: application/json, text/json,
 * application/<anything>+json, any case, parameters ignored. NULL (no
 * header) is accepted: many small servers omit it, and the body is still
 * parsed strictly by the decoder. */
bool http_json_type(const char *content_type);

/* One log-safe line from a response body: at most max bytes of it, control
 * characters and bytes >= 0x7f shown as '.', "..." when cut. out always
 * terminated. */
void http_excerpt(const char *body, size_t len, size_t max, char *out, size_t cap);

#endif
