/*
 * Shared by the decoders of lib/cloudmsg (cm_decode.c, cm_reply.c): field
 * readers that bound and type-check one value and name it on failure.
 * Not part of the library's interface.
 */
#ifndef CT_CM_INT_H
#define CT_CM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

int cm_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* payload.<key> as text into out. required: absent, null or "" is an error;
 * otherwise absent/null leaves "". A non-string or a string that does not
 * fit is always an error: silently cutting an id would act on the wrong
 * thing. */
int cm_get_str(const json_t *obj, const char *key, bool required, char *out, size_t cap,
    char *err, size_t errlen);

/* An identifier the cloud makes: a JSON string, or an integer (written out
 * in decimal). Otherwise as cm_get_str. */
int cm_get_id(const json_t *obj, const char *key, bool required, char *out, size_t cap,
    char *err, size_t errlen);

/* The first of keys[] present and not null decides (camelCase before its
 * snake_case or alias spelling); as cm_get_id. */
int cm_get_id_any(const json_t *obj, const char *const *keys, bool required, char *out,
    size_t cap, char *err, size_t errlen);

/* edgeId/edge_id, siteId/site_id, siteName/site_name of an identity
 * object (edge_registered, config_update, the HTTP registration reply). */
struct cm_identity;
int cm_dec_identity(const json_t *p, bool required, struct cm_identity *id, char *err,
    size_t errlen);

/* Case-insensitive: does s contain needle? */
bool cm_contains(const char *s, const char *needle);

#endif
