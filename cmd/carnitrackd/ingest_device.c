/*
 * The scales ingest has seen since it started: what `carnitrackctl devices`,
 * `status` and the web page show, each with its last weighing. A fixed
 * table; when it is full, the scale offline the longest gives up its row
 * (its history is in store's device registry). And the records of the last
 * hour, minute by minute, for the page's chart.
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
iw_device_count_event(struct iw_device *d, const struct ct_event *ev)
{
	int today = day_of(ev->received_at_ms / 1000);

	if (today != d->today) {
		d->today = today;
		d->events_today = 0;
	}
	d->events_today++;
	d->last_record_ms = ev->received_at_ms;
	d->last_net_g = ev->net_g;
	snprintf(d->last_product, sizeof(d->last_product), "%s", ev->product);
	snprintf(d->last_plu, sizeof(d->last_plu), "%s", ev->plu);
}

/* Moves the ring on to the minute of now, zeroing the minutes skipped. */
static void
rate_advance(struct iw_rate *r, int64_t now_mono_ms)
{
	int64_t m = now_mono_ms / 60000;

	if (r->minute == 0 || m - r->minute >= IW_RATE_MINUTES)
		memset(r->per_min, 0, sizeof(r->per_min));
	else
		for (int64_t k = r->minute + 1; k <= m; k++)
			r->per_min[k % IW_RATE_MINUTES] = 0;
	if (m > r->minute)
		r->minute = m;
}

void
iw_rate_count(struct iw_rate *r, int64_t now_mono_ms)
{
	rate_advance(r, now_mono_ms);
	r->per_min[r->minute % IW_RATE_MINUTES]++;
}

void *
iw_rate_json(struct iw_rate *r, int64_t now_mono_ms)
{
	json_t *a = json_array();

	rate_advance(r, now_mono_ms);
	for (int k = IW_RATE_MINUTES - 1; a != NULL && k >= 0; k--)
		json_array_append_new(a, json_integer(r->per_min[(r->minute - k) %
		    IW_RATE_MINUTES]));
	return a;
}

static const char *
status_name(enum iw_dev_status s)
{
	return s == IW_DEV_ONLINE ? "online" : s == IW_DEV_STALE ? "stale" : "offline";
}

/* The configured name and the last weighing, for the page and /metrics. */
static void
last_record(struct iw *in, const struct iw_device *d, json_t *o)
{
	const struct ct_scale_conf *sc = iw_conf(in) ? conf_scale_by_id(iw_conf(in), d->id) :
	    NULL;
	char iso[CT_ISO_MAX];

	if (sc != NULL && sc->name[0] != '\0')
		json_object_set_new(o, "name", json_string(sc->name));
	if (d->last_record_ms == 0)
		return;
	ct_iso_from_ms(d->last_record_ms, iso);
	json_object_set_new(o, "last_record", json_string(iso));
	json_object_set_new(o, "last_weight_g", json_integer(d->last_net_g));
	/* the product name was made UTF-8 from the scale's code page; a
	 * string jansson refuses is left out rather than the whole row */
	if (d->last_product[0] != '\0')
		json_object_set_new(o, "last_product", json_string(d->last_product));
	if (d->last_plu[0] != '\0')
		json_object_set_new(o, "last_plu", json_string(d->last_plu));
}

/* Rows shown: a status reply must fit one frame (64 KiB), and a row with
 * its last weighing, a move and a refusal takes up to ~600 bytes; a site
 * has at most ~50 scales, and connected ones are listed first. */
#define STATUS_MAX_ROWS 96

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
		if (o != NULL)
			last_record(in, d, o);
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
