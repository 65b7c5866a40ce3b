/*
 * The scales ingest has seen since it started: what `carnitrackctl devices`
 * and `status` show. A fixed table; when it is full, the scale offline the
 * longest gives up its row (its history is in store's device registry).
 */
#include "ingest.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

static int
day_of(int64_t unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	/* Process TZ is the site zone (dp401_set_timezone): "today" is the
	 * site's day, not UTC's. */
	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

struct iw_device *
iw_device_get(struct iw *in, const char *id, bool create)
{
	struct iw_device *victim = NULL;

	for (int i = 0; i < in->ndevs; i++)
		if (strcmp(in->devs[i].id, id) == 0)
			return &in->devs[i];
	if (!create)
		return NULL;
	if (in->ndevs < IW_MAX_DEVICES) {
		victim = &in->devs[in->ndevs++];
	} else {
		for (int i = 0; i < in->ndevs; i++) {
			struct iw_device *d = &in->devs[i];
			if (d->nconns == 0 &&
			    (victim == NULL || d->last_seen_ms < victim->last_seen_ms))
				victim = d;
		}
		if (victim == NULL)
			return NULL;   /* every row has a live connection */
	}
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->id, sizeof(victim->id), "%s", id);
	return victim;
}

void
iw_device_count_event(struct iw_device *d, int64_t now_s)
{
	int today = day_of(now_s);

	if (today != d->today) {
		d->today = today;
		d->events_today = 0;
	}
	d->events_today++;
}

static const char *
status_name(enum iw_dev_status s)
{
	return s == IW_DEV_ONLINE ? "online" : s == IW_DEV_STALE ? "stale" : "offline";
}

/* Rows shown: a status reply must fit one frame (64 KiB); a site has at
 * most ~50 scales, and connected ones are listed first. */
#define STATUS_MAX_ROWS 128

int
iw_device_status_json(struct iw *in, void *json_array)
{
	json_t *arr = json_array;
	char iso1[CT_ISO_MAX], iso2[CT_ISO_MAX];
	int today = day_of(ct_now_ms() / 1000), rows = 0, omitted = 0;

	for (int pass = 0; pass < 2; pass++)
	for (int i = 0; i < in->ndevs; i++) {
		struct iw_device *d = &in->devs[i];
		char global[CT_DEVICE_ID_MAX + 80];
		json_t *o;

		if ((pass == 0) != (d->nconns > 0))
			continue;
		if (rows >= STATUS_MAX_ROWS) {
			omitted++;
			continue;
		}
		rows++;

		if (in->site_id[0] != '\0')
			snprintf(global, sizeof(global), "%s-%s", in->site_id, d->id);
		else
			snprintf(global, sizeof(global), "%s", d->id);
		iso1[0] = iso2[0] = '\0';
		if (d->connected_since_ms > 0)
			ct_iso_from_ms(d->connected_since_ms, iso1);
		if (d->last_heartbeat_ms > 0)
			ct_iso_from_ms(d->last_heartbeat_ms, iso2);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*, s:I, s:I, s:I, s:b}",
		    "id", d->id, "global_id", global, "address", d->address,
		    "status", status_name(d->status),
		    "connected_since", iso1[0] ? iso1 : NULL,
		    "last_heartbeat", iso2[0] ? iso2 : NULL,
		    "events_today", (json_int_t)(d->today == today ? d->events_today : 0),
		    "rejected_lines", (json_int_t)d->rejected_lines,
		    "heartbeats", (json_int_t)d->heartbeats,
		    "duplicate_id", d->duplicate);
		if (o != NULL && d->moved_at_ms > 0) {
			ct_iso_from_ms(d->moved_at_ms, iso1);
			json_object_set_new(o, "id_moved", json_pack("{s:s, s:s, s:s}", "from",
			    d->moved_from, "to", d->address, "at", iso1));
		}
		if (o != NULL && d->refused_registrations > 0) {
			ct_iso_from_ms(d->refused_at_ms, iso1);
			json_object_set_new(o, "registrations_refused", json_pack("{s:I, s:s, s:s}",
			    "count", (json_int_t)d->refused_registrations, "last_from",
			    d->refused_from,
			    "last_at", iso1));
		}
		if (o != NULL)
			json_array_append_new(arr, o);
	}
	return omitted;
}
