/*
 * REST answers about events -> outcomes (rest.h): one event (POST /events),
 * a batch matched to the ids sent (POST /events/batch, results in any
 * order, a missing one a retry), and the cloud's message in an error body.
 * "duplicate" in any form means delivered.
 */
#include "rest/rest_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
	if (rest_get_text(o, where, "status", status, sizeof(status), err, errlen) < 0 ||
	    rest_get_text(o, where, "cloudEventId", r->cloud_event_id, sizeof(r->cloud_event_id),
	    err,
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
	json_t *root = rest_load(buf, len, err, errlen);
	bool unknown;
	int rc;

	memset(r, 0, sizeof(*r));
	if (root == NULL)
		return -1;
	if (json_object_get(root, "status") == NULL) {
		/* "any 2xx marks the event synced" (section 4.5): a JSON object
		 * from the cloud without a status is its acceptance */
		rc = rest_get_text(root, "", "cloudEventId", r->cloud_event_id,
		    sizeof(r->cloud_event_id), err, errlen) < 0 ? -1 : 0;
		r->outcome = REST_DELIVERED;
	} else {
		rc = result_from(root, "", r, &unknown, err, errlen);
		if (rc == 0 && unknown)
			rc = rest_fail(err, errlen, "%s", r->error);
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
	if ((root = rest_load(buf, len, err, errlen)) == NULL)
		return -1;
	arr = json_object_get(root, "results");
	if (!json_is_array(arr)) {
		rest_fail(err, errlen, "results: %s", arr == NULL ? "missing" : "not an array");
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
		    rest_get_text(e, where, "localEventId", lid, sizeof(lid), why, sizeof(why)) !=
		    0 ||
		    ct_uuid_parse(lid, id) != 0) {
			note->bad_entries++;
			rest_note_once(note->note, sizeof(note->note), "%slocalEventId: %s", where,
			    json_is_object(e) ? "missing or not a UUID" : "entry not an object");
			continue;
		}
		if ((k = find_id(ids, n, id, i)) == n) {
			note->unknown_ids++;
			rest_note_once(note->note, sizeof(note->note),
			    "%slocalEventId %s was not sent",
			    where, lid);
			continue;
		}
		if (result_from(e, where, &r, &unknown, why, sizeof(why)) != 0) {
			note->bad_entries++;
			rest_note_once(note->note, sizeof(note->note), "%s", why);
			continue;
		}
		if (unknown) {
			note->unknown_status++;
			rest_note_once(note->note, sizeof(note->note), "%s%s", where, r.error);
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
