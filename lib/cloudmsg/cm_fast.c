/*
 * The event stream's text encoder (see cloudmsg.h, "fast path"). jansson
 * builds a hash table per object and then walks it again to print; for the
 * one message the edge sends by the ten thousand, writing the text directly
 * is worth its hundred lines.
 */
#include "cloudmsg/cloudmsg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool
grow(struct cm_buf *b, size_t more)
{
	size_t ncap;
	char *np;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

static void
put(struct cm_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
cm_buf_raw(struct cm_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

void
cm_buf_rawn(struct cm_buf *b, const char *s, size_t n)
{
	put(b, s, n);
}

void
cm_buf_reset(struct cm_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
cm_buf_free(struct cm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Strict UTF-8, as jansson checks it (cm_utf8_valid). */
static bool
utf8_valid(const unsigned char *s)
{
	return cm_utf8_valid((const char *)s, strlen((const char *)s));
}

/* A JSON string, escaped the way jansson does for the bytes we can meet. */
static void
str(struct cm_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	bool ok = utf8_valid((const unsigned char *)s);
	size_t n = strlen(s);
	char *o;

	if (!grow(b, n * 6 + 2))
		return;
	o = b->p + b->len;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20) {
			*o++ = '\\';
			switch (c) {
			case '\b': *o++ = 'b'; break;
			case '\f': *o++ = 'f'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				*o++ = 'u'; *o++ = '0'; *o++ = '0';
				*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			}
		} else if (c >= 0x80 && !ok) {
			*o++ = '?';
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

static void
str_or_null(struct cm_buf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		put(b, "null", 4);
	else
		str(b, s);
}

static void
i64(struct cm_buf *b, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRId64, v);

	put(b, t, (size_t)n);
}

/* gmtime + strftime per field is most of the cost of a timestamp; the
 * seconds part changes rarely within one batch. msec < 0: no fraction. */
static void
iso(struct cm_buf *b, int64_t sec, int msec)
{
	static __thread int64_t last_sec = INT64_MIN;
	static __thread char last[24];
	char t[CT_ISO_MAX + 4];

	if (sec != last_sec) {
		char full[CT_ISO_MAX];
		ct_iso_from_sec(sec, full);       /* "YYYY-MM-DDTHH:MM:SSZ" */
		snprintf(last, sizeof(last), "%.19s", full);
		last_sec = sec;
	}
	if (msec >= 0)
		snprintf(t, sizeof(t), "\"%s.%03dZ\"", last, msec);
	else
		snprintf(t, sizeof(t), "\"%sZ\"", last);
	put(b, t, strlen(t));
}

static void
iso_ms(struct cm_buf *b, int64_t ms)
{
	/* as ct_iso_from_ms: truncating division */
	iso(b, ms / 1000, (int)(ms % 1000 < 0 ? -(ms % 1000) : ms % 1000));
}

void
cm_buf_open(struct cm_buf *b, const char *type, const char *edge_id)
{
	uint8_t id[CT_UUID_LEN];
	char ids[CT_UUID_STR];

	if (ct_uuid_new(id) != 0) {
		b->oom = true;
		return;
	}
	ct_uuid_fmt(id, ids);
	cm_buf_raw(b, "{\"type\":");
	str(b, type);
	cm_buf_raw(b, ",\"timestamp\":");
	iso_ms(b, ct_now_ms());
	cm_buf_raw(b, ",\"messageId\":\"");
	cm_buf_raw(b, ids);
	cm_buf_raw(b, "\"");
	if (edge_id != NULL && *edge_id != '\0') {
		cm_buf_raw(b, ",\"edgeId\":");
		str(b, edge_id);
	}
	cm_buf_raw(b, ",\"payload\":");
}

void
cm_buf_close(struct cm_buf *b)
{
	put(b, "}", 1);
}

void
cm_buf_event(struct cm_buf *b, const struct ct_event *ev, const char *gid)
{
	char id[CT_UUID_STR];

	ct_uuid_fmt(ev->local_id, id);
	cm_buf_raw(b, "{\"localEventId\":\"");
	cm_buf_raw(b, id);
	cm_buf_raw(b, "\",\"deviceId\":");
	str(b, ev->device_id);
	cm_buf_raw(b, ",\"globalDeviceId\":");
	str(b, gid ? gid : ev->device_id);
	cm_buf_raw(b, ",\"cloudSessionId\":");
	str_or_null(b, ev->cloud_session_id);
	cm_buf_raw(b, ev->offline ? ",\"offlineMode\":true" : ",\"offlineMode\":false");
	cm_buf_raw(b, ",\"offlineBatchId\":");
	if (ct_uuid_is_nil(ev->offline_batch_id)) {
		cm_buf_raw(b, "null");
	} else {
		ct_uuid_fmt(ev->offline_batch_id, id);
		cm_buf_raw(b, "\"");
		cm_buf_raw(b, id);
		cm_buf_raw(b, "\"");
	}
	cm_buf_raw(b, ",\"pluCode\":");
	str(b, ev->plu);
	cm_buf_raw(b, ",\"productName\":");
	str(b, ev->product);
	cm_buf_raw(b, ",\"weightGrams\":");
	i64(b, ev->net_g);
	cm_buf_raw(b, ",\"barcode\":");
	str(b, ev->barcode);
	cm_buf_raw(b, ",\"scaleTimestamp\":");
	iso(b, ev->scale_ts, -1);
	cm_buf_raw(b, ",\"receivedAt\":");
	iso_ms(b, ev->received_at_ms);
	cm_buf_raw(b, ",\"grossGrams\":");
	i64(b, ev->gross_g);
	cm_buf_raw(b, ",\"tareGrams\":");
	i64(b, ev->tare_g);
	cm_buf_raw(b, ",\"operator\":");
	str_or_null(b, ev->operator_name);
	if (ev->edge_flags & CT_EVF_SCALE_TS_INVALID) {
		char raw[2 * CT_TS_RAW_MAX + 2];

		snprintf(raw, sizeof(raw), "%s %s", ev->scale_time_raw, ev->scale_date_raw);
		cm_buf_raw(b, ",\"scaleTimestampInvalid\":true,\"scaleTimestampRaw\":");
		str(b, raw);
	}
	put(b, "}", 1);
}
