/*
 * JSON output of the listing commands (devices, sessions, batches, events
 * with --json): one JSON document per command, an object holding one array,
 * streamed one item per line so a listing of a million events needs no more
 * memory than one event and a pipe to jq sees a single document.
 * Keys are snake_case, times ISO 8601 UTC strings, unknowns null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cloudmsg.h"
#include "ctl.h"
#include "event/event.h"

json_t *
ctl_jtime_ms(int64_t ms)
{
	char iso[CT_ISO_MAX];

	if (ms <= 0)
		return json_null();
	ct_iso_from_ms(ms, iso);
	return json_string(iso);
}

json_t *
ctl_juuid(const uint8_t id[CT_UUID_LEN])
{
	char s[CT_UUID_STR];

	if (ct_uuid_is_nil(id))
		return json_null();
	ct_uuid_fmt(id, s);
	return json_string(s);
}

void
ctl_json_begin(struct ctl_out *o, const char *key, json_t *head)
{
	const char *k;
	json_t *v;

	o->n = 0;
	o->failed = false;
	fputc('{', stdout);
	/* Scalars describing the listing (e.g. the limit) come before the array. */
	if (head != NULL) {
		json_object_foreach(head, k, v) {
			char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			if (s == NULL) {
				o->failed = true;
				continue;
			}
			printf("\"%s\":%s,", k, s);   /* our own ASCII keys */
			free(s);
		}
		json_decref(head);
	}
	printf("\"%s\":[", key);
}

void
ctl_json_item(struct ctl_out *o, json_t *item)
{
	if (item == NULL) {
		/* Only an allocation can fail here: say so at the end, not silently. */
		o->failed = true;
		return;
	}
	fputs(o->n++ ? ",\n" : "\n", stdout);
	if (json_dumpf(item, stdout, JSON_COMPACT) != 0)
		o->failed = true;
	json_decref(item);
}

void
ctl_json_end(struct ctl_out *o, const char *error)
{
	fputs(o->n ? "\n]" : "]", stdout);
	if (o->failed && error == NULL)
		error = "out of memory building an item: the list is incomplete";
	if (error != NULL) {
		fputs(",\"error\":", stdout);
		json_t *e = cm_jstr(error);
		if (e != NULL)
			json_dumpf(e, stdout, JSON_ENCODE_ANY);
		else
			fputs("\"?\"", stdout);
		json_decref(e);
	}
	fputs("}\n", stdout);
}
