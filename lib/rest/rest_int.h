/*
 * lib/rest's decoders share these (rest_json.c): errors and notes written
 * once, the bounded parse, and the copy of a cloud-made id or text.
 */
#ifndef CT_REST_INT_H
#define CT_REST_INT_H

#include <jansson.h>

#include "rest/rest.h"

/* -1, with err (if given) set from fmt. */
int  rest_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* note gets fmt unless it holds something already (the first oddity). */
void rest_note_once(char *note, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Bounded parse into an object: size, nesting, JSON, an object. */
json_t *rest_load(const char *buf, size_t len, char *err, size_t errlen);
/*
 * Copies a cloud-made id or text: a string, or an integer written in
 * decimal. Absent or null leaves "" (1: absent); a wrong type, a string that
 * does not fit or holds NUL is an error (-1) naming where/key.
 */
int  rest_get_text(const json_t *obj, const char *where, const char *key, char *out,
    size_t cap, char *err, size_t errlen);

#endif
