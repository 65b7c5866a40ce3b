/*
 * REST responses -> fixed-size structs. Nothing from the cloud is trusted:
 * the text is bounded (size, nesting) before jansson parses it, every value
 * copied is type- and length-checked, and each error names its field. Ids the
 * cloud makes (cloudEventId, cloudSessionId, animalId, ...) may be strings or
 * integers; ids the edge made (localEventId) must be our UUIDs.
 */
#include "rest/rest.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
note_once(char *note, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
note_once(char *note, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (note[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(note, cap, fmt, ap);
	va_end(ap);
}

/* Bounded parse into an object. */
static json_t *
load(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (len == 0) {
		fail(err, errlen, "empty body");
		return NULL;
	}
	if (len > REST_MAX_RESPONSE) {
		fail(err, errlen, "body of %zu bytes, over %d", len, REST_MAX_RESPONSE);
		return NULL;
	}
	if (cm_check_depth(buf, len, CM_MAX_DEPTH) != 0) {
		fail(err, errlen, "nested deeper than %d", CM_MAX_DEPTH);
		return NULL;
	}
	if ((root = json_loadb(buf, len, 0, &jerr)) == NULL) {
		fail(err, errlen, "not JSON: %s (at %d)", jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(err, errlen, "not a JSON object");
		return NULL;
	}
	return root;
}

/*
 * Copies a cloud-made id or text: a string, or an integer written in
 * decimal. Absent or null leaves "" (1: absent); a wrong type, a string that
 * does not fit or holds NUL is an error (-1) naming where/key.
 */
static int
get_text(const json_t *obj, const char *where, const char *key, char *out, size_t cap,
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
			return fail(err, errlen, "%s%s: number too long", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, errlen, "%s%s: expected a string", where, key);
	n = json_string_length(v);
	if (n >= cap)
		return fail(err, errlen, "%s%s: %zu bytes, longer than %zu", where, key, n,
		    cap - 1);
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	if (strlen(out) != n)
		return fail(err, errlen, "%s%s: contains NUL", where, key);
	return 0;
}

/* ---------------------------------------------------------------- config */

static void
config_value(const json_t *o, const char *key, unsigned bit, int64_t *dst, struct rest_config *c)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (v == NULL)
		return;
	if (!json_is_number(v)) {
		c->skipped++;
		note_once(c->note, sizeof(c->note), "%s: not a number", key);
		return;
	}
	d = json_number_value(v);
	if (!(d >= REST_INTERVAL_MIN_MS && d <= REST_INTERVAL_MAX_MS)) {
		c->skipped++;
		note_once(c->note, sizeof(c->note), "%s: %.0f ms outside %d..%d", key, d,
		    REST_INTERVAL_MIN_MS, REST_INTERVAL_MAX_MS);
		return;
	}
	*dst = (int64_t)d;
	c->set |= bit;
}

static void
config_from(const json_t *o, struct rest_config *c)
{
	const json_t *b = json_object_get(o, "maxBatchSize");

	memset(c, 0, sizeof(*c));
	config_value(o, "sessionPollIntervalIdleMs", REST_CFG_IDLE, &c->idle_ms, c);
	config_value(o, "sessionPollIntervalWaitingMs", REST_CFG_WAITING, &c->waiting_ms, c);
	config_value(o, "sessionPollIntervalActiveMs", REST_CFG_ACTIVE, &c->active_ms, c);
	config_value(o, "heartbeatIntervalMs", REST_CFG_HEARTBEAT, &c->heartbeat_ms, c);
	if (b != NULL) {
		if (json_is_integer(b) && json_integer_value(b) >= 1 &&
		    json_integer_value(b) <= REST_MAX_BATCH) {
			c->max_batch = (int)json_integer_value(b);
			c->set |= REST_CFG_BATCH;
		} else {
			c->skipped++;
			note_once(c->note, sizeof(c->note), "maxBatchSize: not an integer in 1..%d",
			    REST_MAX_BATCH);
		}
	}
}

int
rest_decode_config(const char *buf, size_t len, struct rest_config *c, char *err, size_t errlen)
{
	json_t *root = load(buf, len, err, errlen);

	memset(c, 0, sizeof(*c));
	if (root == NULL)
		return -1;
	config_from(root, c);
	json_decref(root);
	return 0;
}

/* ---------------------------------------------------------------- identity */

static int
hexdigit(int ch)
{
	return isxdigit((unsigned char)ch);
}

bool
rest_edge_id_valid(const char *s, char out[CM_ID_MAX])
{
	size_t n;
	const char *p = s;
	char v, var;

	out[0] = '\0';
	if (s == NULL)
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	n = strlen(p);
	while (n > 0 && strchr(" \t\n\r", p[n - 1]) != NULL)
		n--;
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? p[i] != '-' : !hexdigit(p[i]))
			return false;
	}
	v = p[14];
	var = (char)tolower((unsigned char)p[19]);
	if (v < '1' || v > '5')
		return false;     /* also refuses the nil UUID (version 0) and v6-v8 */
	if (var != '8' && var != '9' && var != 'a' && var != 'b')
		return false;
	memcpy(out, p, 36);
	out[36] = '\0';
	return true;
}

/* camelCase wins when it has a value; else snake_case. */
static const char *
pick(const json_t *o, const char *camel, const char *snake)
{
	const json_t *v = json_object_get(o, camel);

	return (v != NULL && !json_is_null(v)) || json_object_get(o, snake) == NULL ? camel : snake;
}

int
rest_decode_identity(const char *buf, size_t len, struct rest_identity *id, char *err,
    size_t errlen)
{
	json_t *root = load(buf, len, err, errlen), *cfg;
	char raw[CM_ID_MAX], site[CM_ID_MAX];
	const char *k;
	int rc = -1;
	size_t n;

	memset(id, 0, sizeof(*id));
	if (root == NULL)
		return -1;
	k = pick(root, "edgeId", "edge_id");
	if (get_text(root, "", k, raw, sizeof(raw), err, errlen) < 0)
		goto out;
	if (raw[0] == '\0') {
		fail(err, errlen, "%s: missing", k);
		goto out;
	}
	if (!rest_edge_id_valid(raw, id->edge_id)) {
		fail(err, errlen, "%s: \"%.40s\" is not a UUID of version 1-5", k, raw);
		goto out;
	}
	k = pick(root, "siteId", "site_id");
	if (get_text(root, "", k, site, sizeof(site), err, errlen) < 0)
		goto out;
	/* trimmed, non-empty */
	{
		const char *p = site;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0) {
			fail(err, errlen, "%s: missing or empty", k);
			goto out;
		}
		memcpy(id->site_id, p, n);
		id->site_id[n] = '\0';
	}
	k = pick(root, "siteName", "site_name");
	if (get_text(root, "", k, id->site_name, sizeof(id->site_name), err, errlen) < 0)
		goto out;
	if (id->site_name[0] == '\0')
		snprintf(id->site_name, sizeof(id->site_name), "%s", id->site_id);
	cfg = json_object_get(root, "config");
	if (json_is_object(cfg)) {
		config_from(cfg, &id->config);
		id->has_config = true;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		memset(id, 0, sizeof(*id));
	return rc;
}

/* ---------------------------------------------------------------- sessions */

static int
session_status(const char *s, enum rest_session_status *st)
{
	static const char *const over[] = { "ended", "completed", "closed", "cancelled",
		"canceled", "finished", "done" };

	if (s[0] == '\0' || strcasecmp(s, "active") == 0) {
		*st = REST_SESS_ACTIVE;
		return 0;
	}
	if (strcasecmp(s, "pending") == 0) {
		*st = REST_SESS_PENDING;
		return 0;
	}
	if (strcasecmp(s, "paused") == 0) {
		*st = REST_SESS_PAUSED;
		return 0;
	}
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++)
		if (strcasecmp(s, over[i]) == 0)
			return -1;
	*st = REST_SESS_ACTIVE;
	return 1;
}

int
rest_decode_sessions(const char *buf, size_t len, struct rest_sessions *out, char *err,
    size_t errlen)
{
	json_t *root = load(buf, len, err, errlen), *arr, *e;
	char where[48], why[REST_ERR_MAX], status[32];
	size_t i;
	int rc = -1;

	out->n = 0;
	out->skipped = out->unknown_status = out->duplicates = 0;
	out->note[0] = '\0';
	if (root == NULL)
		return -1;
	arr = json_object_get(root, "sessions");
	if (!json_is_array(arr)) {
		/* REST_API.md 8.10: the old client ended every session here */
		fail(err, errlen, "sessions: %s", arr == NULL ? "missing" : "not an array");
		goto out;
	}
	if (json_array_size(arr) > REST_MAX_SESSIONS || json_array_size(arr) > out->cap) {
		fail(err, errlen, "sessions: %zu entries, more than %zu", json_array_size(arr),
		    out->cap < REST_MAX_SESSIONS ? out->cap : (size_t)REST_MAX_SESSIONS);
		goto out;
	}
	json_array_foreach(arr, i, e) {
		struct rest_session s;
		int r;

		memset(&s, 0, sizeof(s));
		snprintf(where, sizeof(where), "sessions[%zu].", i);
		if (!json_is_object(e)) {
			out->skipped++;
			note_once(out->note, sizeof(out->note), "sessions[%zu]: not an object", i);
			continue;
		}
		r = get_text(e, where, "cloudSessionId", s.cloud_session_id,
		    sizeof(s.cloud_session_id), why, sizeof(why));
		if (r == 0 && s.cloud_session_id[0] == '\0')
			r = 1;
		if (r == 0)
			r = get_text(e, where, "deviceId", s.device_id, sizeof(s.device_id), why,
			    sizeof(why));
		if (r == 0 && s.device_id[0] == '\0')
			r = 1;
		if (r == 0 &&
		    (get_text(e, where, "animalId", s.animal_id, sizeof(s.animal_id), why,
		    sizeof(why)) < 0 ||
		    get_text(e, where, "animalTag", s.animal_tag, sizeof(s.animal_tag), why,
		    sizeof(why)) < 0 ||
		    get_text(e, where, "animalSpecies", s.animal_species, sizeof(s.animal_species),
		    why, sizeof(why)) < 0 ||
		    get_text(e, where, "operatorId", s.operator_id, sizeof(s.operator_id), why,
		    sizeof(why)) < 0 ||
		    get_text(e, where, "status", status, sizeof(status), why, sizeof(why)) < 0))
			r = -1;
		if (r != 0) {
			out->skipped++;
			if (r > 0)
				snprintf(why, sizeof(why), "%scloudSessionId/deviceId: missing",
				    where);
			note_once(out->note, sizeof(out->note), "%s", why);
			continue;
		}
		r = session_status(status, &s.status);
		if (r < 0)
			continue;              /* over: not current */
		if (r > 0) {
			out->unknown_status++;
			note_once(out->note, sizeof(out->note), "%sstatus \"%s\" unknown, taken as "
			    "active", where, status);
		}
		/* one per device: the more active one, then the first */
		size_t j;
		for (j = 0; j < out->n; j++)
			if (strcmp(out->s[j].device_id, s.device_id) == 0)
				break;
		if (j < out->n) {
			out->duplicates++;
			note_once(out->note, sizeof(out->note), "%sdeviceId %s listed twice", where,
			    s.device_id);
			if (s.status < out->s[j].status)
				out->s[j] = s;
			continue;
		}
		out->s[out->n++] = s;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		out->n = 0;
	return rc;
}

/* ---------------------------------------------------------------- events */

static bool
says_duplicate(const char *s)
{
	for (; *s; s++)
		if (strncasecmp(s, "duplicate", 9) == 0)
			return true;
	return false;
}

/* The cloud's reason for a failed event: "error" as text or as an object
 * with "message", else "reason"; "" if none is readable (never an error). */
static void
reason(const json_t *o, char *out, size_t cap)
{
	const json_t *e = json_object_get(o, "error");

	if (json_is_object(e))
		e = json_object_get(e, "message");
	if (!json_is_string(e))
		e = json_object_get(o, "reason");
	out[0] = '\0';
	if (json_is_string(e))
		snprintf(out, cap, "%s", json_string_value(e));
	for (char *p = out; *p; p++)          /* it goes to logs and to status */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* One result object (of /events or of a batch entry) into r. 0, or -1 with
 * err when a field is unusable. */
static int
result_from(const json_t *o, const char *where, struct rest_event_result *r, bool *unknown,
    char *err, size_t errlen)
{
	char status[32];

	memset(r, 0, sizeof(*r));
	*unknown = false;
	if (get_text(o, where, "status", status, sizeof(status), err, errlen) < 0 ||
	    get_text(o, where, "cloudEventId", r->cloud_event_id, sizeof(r->cloud_event_id), err,
	    errlen) < 0)
		return -1;
	reason(o, r->error, sizeof(r->error));
	if (strcasecmp(status, "accepted") == 0 || strcasecmp(status, "ok") == 0 ||
	    strcasecmp(status, "created") == 0) {
		r->outcome = REST_DELIVERED;
	} else if (strcasecmp(status, "duplicate") == 0) {
		r->outcome = REST_DELIVERED;
		r->duplicate = true;
	} else if (strcasecmp(status, "failed") == 0 || strcasecmp(status, "rejected") == 0 ||
	    strcasecmp(status, "error") == 0) {
		if (says_duplicate(r->error)) {
			r->outcome = REST_DELIVERED;
			r->duplicate = true;
		} else {
			r->outcome = REST_REJECTED;
			if (r->error[0] == '\0')
				snprintf(r->error, sizeof(r->error), "%s (no reason given)",
				    status);
		}
	} else {
		r->outcome = REST_RETRY;
		*unknown = true;
		snprintf(r->error, sizeof(r->error), "status \"%s\" not understood", status);
	}
	return 0;
}

int
rest_decode_event(const char *buf, size_t len, struct rest_event_result *r, char *err,
    size_t errlen)
{
	json_t *root = load(buf, len, err, errlen);
	bool unknown;
	int rc;

	memset(r, 0, sizeof(*r));
	if (root == NULL)
		return -1;
	if (json_object_get(root, "status") == NULL) {
		/* "any 2xx marks the event synced" (section 4.5): a JSON object
		 * from the cloud without a status is its acceptance */
		rc = get_text(root, "", "cloudEventId", r->cloud_event_id,
		    sizeof(r->cloud_event_id), err, errlen) < 0 ? -1 : 0;
		r->outcome = REST_DELIVERED;
	} else {
		rc = result_from(root, "", r, &unknown, err, errlen);
		if (rc == 0 && unknown)
			rc = fail(err, errlen, "%s", r->error);
	}
	json_decref(root);
	if (rc != 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

static size_t
find_id(const uint8_t (*ids)[CT_UUID_LEN], size_t n, const uint8_t id[CT_UUID_LEN], size_t hint)
{
	/* results usually come in request order: try there first */
	if (hint < n && memcmp(ids[hint], id, CT_UUID_LEN) == 0)
		return hint;
	for (size_t i = 0; i < n; i++)
		if (memcmp(ids[i], id, CT_UUID_LEN) == 0)
			return i;
	return n;
}

static int
rank(enum rest_outcome o)
{
	return o == REST_DELIVERED ? 2 : o == REST_REJECTED ? 1 : 0;
}

int
rest_decode_batch(const char *buf, size_t len, const uint8_t (*ids)[CT_UUID_LEN], size_t n,
    struct rest_event_result *out, struct rest_batch_note *note, char *err, size_t errlen)
{
	json_t *root, *arr, *e;
	char where[40], lid[64], why[REST_ERR_MAX];
	size_t i;

	memset(note, 0, sizeof(*note));
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].error, sizeof(out[i].error), "no result for this event");
	}
	note->missing = n;
	if ((root = load(buf, len, err, errlen)) == NULL)
		return -1;
	arr = json_object_get(root, "results");
	if (!json_is_array(arr)) {
		fail(err, errlen, "results: %s", arr == NULL ? "missing" : "not an array");
		json_decref(root);
		return -1;
	}
	json_array_foreach(arr, i, e) {
		struct rest_event_result r;
		uint8_t id[CT_UUID_LEN];
		bool unknown;
		size_t k;

		snprintf(where, sizeof(where), "results[%zu].", i);
		if (!json_is_object(e) ||
		    get_text(e, where, "localEventId", lid, sizeof(lid), why, sizeof(why)) != 0 ||
		    ct_uuid_parse(lid, id) != 0) {
			note->bad_entries++;
			note_once(note->note, sizeof(note->note), "%slocalEventId: %s", where,
			    json_is_object(e) ? "missing or not a UUID" : "entry not an object");
			continue;
		}
		if ((k = find_id(ids, n, id, i)) == n) {
			note->unknown_ids++;
			note_once(note->note, sizeof(note->note), "%slocalEventId %s was not sent",
			    where, lid);
			continue;
		}
		if (result_from(e, where, &r, &unknown, why, sizeof(why)) != 0) {
			note->bad_entries++;
			note_once(note->note, sizeof(note->note), "%s", why);
			continue;
		}
		if (unknown) {
			note->unknown_status++;
			note_once(note->note, sizeof(note->note), "%s%s", where, r.error);
		}
		if (rank(r.outcome) > rank(out[k].outcome) || (out[k].outcome == REST_RETRY &&
		    r.outcome == REST_RETRY))
			out[k] = r;
	}
	json_decref(root);
	note->missing = 0;
	for (i = 0; i < n; i++) {
		if (out[i].outcome == REST_DELIVERED)
			note->delivered++;
		else if (out[i].outcome == REST_REJECTED)
			note->rejected++;
		else
			note->missing++;
	}
	return 0;
}

/* ---------------------------------------------------------------- errors */

void
rest_error_message(const char *buf, size_t len, char *out, size_t cap)
{
	json_t *root = NULL, *v;
	const char *msg = NULL;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (len > 0 && len <= REST_MAX_RESPONSE && cm_check_depth(buf, len, CM_MAX_DEPTH) == 0)
		root = json_loadb(buf, len, 0, NULL);
	if (json_is_object(root)) {
		v = json_object_get(root, "error");
		if (json_is_object(v))
			v = json_object_get(v, "message");
		if (!json_is_string(v))
			v = json_object_get(root, "message");
		if (json_is_string(v))
			msg = json_string_value(v);
	}
	if (msg != NULL) {
		size_t o = 0;
		for (const unsigned char *p = (const unsigned char *)msg; *p && o + 1 < cap; p++)
			out[o++] = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
		out[o] = '\0';
	} else {
		size_t o = 0, lim = len < 200 ? len : 200;
		for (size_t i = 0; i < lim && o + 1 < cap; i++) {
			unsigned char c = (unsigned char)buf[i];
			out[o++] = (c < 0x20 || c >= 0x7f) ? '.' : (char)c;
		}
		out[o] = '\0';
	}
	json_decref(root);
}
