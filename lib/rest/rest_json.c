/*
 * What every REST decoder needs (rest_int.h): nothing from the cloud is
 * trusted, so the text is bounded (size, nesting) before jansson parses it,
 * and every value copied is type- and length-checked with an error that
 * names its field.
 */
#include "rest/rest_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
rest_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
rest_note_once(char *note, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (note[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(note, cap, fmt, ap);
	va_end(ap);
}

json_t *
rest_load(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (len == 0) {
		rest_fail(err, errlen, "empty body");
		return NULL;
	}
	if (len > REST_MAX_RESPONSE) {
		rest_fail(err, errlen, "body of %zu bytes, over %d", len, REST_MAX_RESPONSE);
		return NULL;
	}
	if (cm_check_depth(buf, len, CM_MAX_DEPTH) != 0) {
		rest_fail(err, errlen, "nested deeper than %d", CM_MAX_DEPTH);
		return NULL;
	}
	if ((root = json_loadb(buf, len, 0, &jerr)) == NULL) {
		rest_fail(err, errlen, "not JSON: %s (at %d)", jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		rest_fail(err, errlen, "not a JSON object");
		return NULL;
	}
	return root;
}

int
rest_get_text(const json_t *obj, const char *where, const char *key, char *out, size_t cap,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	size_t n;

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		int w = snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		if (w < 0 || (size_t)w >= cap)
			return rest_fail(err, errlen, "%s%s: number too long", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return rest_fail(err, errlen, "%s%s: expected a string", where, key);
	n = json_string_length(v);
	if (n >= cap)
		return rest_fail(err, errlen, "%s%s: %zu bytes, longer than %zu", where, key, n,
		    cap - 1);
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	if (strlen(out) != n)
		return rest_fail(err, errlen, "%s%s: contains NUL", where, key);
	return 0;
}
