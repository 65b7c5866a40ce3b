/*
 * REST responses -> fixed-size structs: /config, the identity of /register
 * and /activate, /sessions (rest_results.c: the events' answers). Nothing
 * from the cloud is trusted: the text is bounded (size, nesting) before
 * jansson parses it, every value copied is type- and length-checked, and
 * each error names its field (rest_json.c). Ids the cloud makes
 * (cloudEventId, cloudSessionId, animalId, ...) may be strings or integers;
 * ids the edge made (localEventId) must be our UUIDs.
 */
#include "rest/rest_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- config */

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
		rest_note_once(c->note, sizeof(c->note), "%s: not a number", key);
		return;
	}
	d = json_number_value(v);
	if (!(d >= REST_INTERVAL_MIN_MS && d <= REST_INTERVAL_MAX_MS)) {
		c->skipped++;
		rest_note_once(c->note, sizeof(c->note), "%s: %.0f ms outside %d..%d", key, d,
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
			rest_note_once(c->note, sizeof(c->note),
			    "maxBatchSize: not an integer in 1..%d",
			    REST_MAX_BATCH);
		}
	}
}

int
rest_decode_config(const char *buf, size_t len, struct rest_config *c, char *err, size_t errlen)
{
	json_t *root = rest_load(buf, len, err, errlen);

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
	json_t *root = rest_load(buf, len, err, errlen), *cfg;
	char raw[CM_ID_MAX], site[CM_ID_MAX];
	const char *k;
	int rc = -1;
	size_t n;

	memset(id, 0, sizeof(*id));
	if (root == NULL)
		return -1;
	k = pick(root, "edgeId", "edge_id");
	if (rest_get_text(root, "", k, raw, sizeof(raw), err, errlen) < 0)
		goto out;
	if (raw[0] == '\0') {
		rest_fail(err, errlen, "%s: missing", k);
		goto out;
	}
	if (!rest_edge_id_valid(raw, id->edge_id)) {
		rest_fail(err, errlen, "%s: \"%.40s\" is not a UUID of version 1-5", k, raw);
		goto out;
	}
	k = pick(root, "siteId", "site_id");
	if (rest_get_text(root, "", k, site, sizeof(site), err, errlen) < 0)
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
			rest_fail(err, errlen, "%s: missing or empty", k);
			goto out;
		}
		memcpy(id->site_id, p, n);
		id->site_id[n] = '\0';
	}
	k = pick(root, "siteName", "site_name");
	if (rest_get_text(root, "", k, id->site_name, sizeof(id->site_name), err, errlen) < 0)
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
	json_t *root = rest_load(buf, len, err, errlen), *arr, *e;
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
		rest_fail(err, errlen, "sessions: %s", arr == NULL ? "missing" : "not an array");
		goto out;
	}
	if (json_array_size(arr) > REST_MAX_SESSIONS || json_array_size(arr) > out->cap) {
		rest_fail(err, errlen, "sessions: %zu entries, more than %zu", json_array_size(arr),
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
			rest_note_once(out->note, sizeof(out->note), "sessions[%zu]: not an object",
			    i);
			continue;
		}
		r = rest_get_text(e, where, "cloudSessionId", s.cloud_session_id,
		    sizeof(s.cloud_session_id), why, sizeof(why));
		if (r == 0 && s.cloud_session_id[0] == '\0')
			r = 1;
		if (r == 0)
			r =
			    rest_get_text(e, where, "deviceId", s.device_id, sizeof(s.device_id),
			    why,
			    sizeof(why));
		if (r == 0 && s.device_id[0] == '\0')
			r = 1;
		if (r == 0 &&
		    (rest_get_text(e, where, "animalId", s.animal_id, sizeof(s.animal_id), why,
		    sizeof(why)) < 0 ||
		    rest_get_text(e, where, "animalTag", s.animal_tag, sizeof(s.animal_tag), why,
		    sizeof(why)) < 0 ||
		    rest_get_text(e, where, "animalSpecies", s.animal_species,
		    sizeof(s.animal_species),
		    why, sizeof(why)) < 0 ||
		    rest_get_text(e, where, "operatorId", s.operator_id, sizeof(s.operator_id), why,
		    sizeof(why)) < 0 ||
		    rest_get_text(e, where, "status", status, sizeof(status), why, sizeof(why)) <
		    0))
			r = -1;
		if (r != 0) {
			out->skipped++;
			if (r > 0)
				snprintf(why, sizeof(why), "%scloudSessionId/deviceId: missing",
				    where);
			rest_note_once(out->note, sizeof(out->note), "%s", why);
			continue;
		}
		r = session_status(status, &s.status);
		if (r < 0)
			continue;              /* over: not current */
		if (r > 0) {
			out->unknown_status++;
			rest_note_once(out->note, sizeof(out->note),
			    "%sstatus \"%s\" unknown, taken as "
			    "active", where, status);
		}
		/* one per device: the more active one, then the first */
		size_t j;
		for (j = 0; j < out->n; j++)
			if (strcmp(out->s[j].device_id, s.device_id) == 0)
				break;
		if (j < out->n) {
			out->duplicates++;
			rest_note_once(out->note, sizeof(out->note), "%sdeviceId %s listed twice",
			    where,
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
