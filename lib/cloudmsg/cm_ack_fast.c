/*
 * event_ack without jansson. The cloud sends one per event, and building a
 * JSON tree for each cost more than everything else the cloud worker does
 * with it. This recognises only the plain form:
 *
 *   {"type":"event_ack","payload":{"localEventId":"..","cloudEventId":"..",
 *    "status":"accepted"},"timestamp":"..","messageId":".."}
 *
 * (any order, any JSON whitespace, edgeId allowed), every value a string of
 * printable ASCII without escapes, every key known and present once, the
 * status spelled exactly. Any other shape (a numeric id, an epoch-ms
 * timestamp, "Accepted", no status), and any value the tree decoder would
 * refuse, returns 0 and cm_decode_tree decides, errors included. The fuzz target checks that
 * both halves agree on every input.
 */
#include "cloudmsg/cloudmsg.h"

#include <string.h>

struct scan {
	const char *p, *end;
};

static void
ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool
lit(struct scan *s, char c)
{
	ws(s);
	if (s->p >= s->end || *s->p != c)
		return false;
	s->p++;
	return true;
}

/* A string of printable ASCII, no escapes: *out points into the input. */
static bool
string(struct scan *s, const char **out, size_t *n)
{
	const char *q;

	if (!lit(s, '"'))
		return false;
	for (q = s->p; q < s->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e || *q == '\\')
			return false;
	if (q >= s->end)
		return false;
	*out = s->p;
	*n = (size_t)(q - s->p);
	s->p = q + 1;
	return true;
}

static bool
is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(k, want, n) == 0;
}

struct field {
	const char *name;
	const char *v;
	size_t      n;
	bool        seen;
};

/* An object of string values whose keys are all in f[]. */
static bool
object(struct scan *s, struct field *f, size_t nf)
{
	if (!lit(s, '{'))
		return false;
	ws(s);
	if (s->p < s->end && *s->p == '}')
		return false;            /* empty: not the plain form */
	for (;;) {
		const char *k;
		size_t kn, i;

		if (!string(s, &k, &kn) || !lit(s, ':'))
			return false;
		for (i = 0; i < nf && !is(k, kn, f[i].name); i++)
			;
		if (i == nf || f[i].seen)
			return false;
		f[i].seen = true;
		if (!string(s, &f[i].v, &f[i].n))
			return false;
		if (lit(s, ','))
			continue;
		return lit(s, '}');
	}
}

static bool
copy(char *dst, size_t cap, const struct field *f)
{
	if (f->n >= cap)
		return false;
	memcpy(dst, f->v, f->n);
	dst[f->n] = '\0';
	return true;
}

int
cm_decode_ack_fast(const char *buf, size_t len, struct cm_msg *m)
{
	enum { TYPE, PAYLOAD, TIMESTAMP, MESSAGE_ID, EDGE_ID, NTOP };
	enum { LOCAL, CLOUD, STATUS, NPAY };
	struct field top[NTOP] =
	    { { .name = "type" }, { .name = "payload" }, { .name = "timestamp" },
	    { .name = "messageId" }, { .name = "edgeId" } };
	struct field pay[NPAY] = { { .name = "localEventId" }, { .name = "cloudEventId" },
	    { .name = "status" } };
	const struct field *pslot = &top[PAYLOAD];
	struct scan s = { buf, buf + len };
	struct cm_msg tmp;
	char id[64];

	if (len > CM_MAX_MSG)
		return 0;
	/* The top object, with "payload" parsed in the middle of it. */
	if (!lit(&s, '{'))
		return 0;
	for (;;) {
		const char *k;
		size_t kn, i;

		if (!string(&s, &k, &kn) || !lit(&s, ':'))
			return 0;
		for (i = 0; i < NTOP && !is(k, kn, top[i].name); i++)
			;
		if (i == NTOP || top[i].seen)
			return 0;
		top[i].seen = true;
		if (&top[i] == pslot) {
			if (!object(&s, pay, NPAY))
				return 0;
		} else if (!string(&s, &top[i].v, &top[i].n)) {
			return 0;
		}
		if (lit(&s, ','))
			continue;
		if (!lit(&s, '}'))
			return 0;
		break;
	}
	ws(&s);
	if (s.p != s.end)
		return 0;
	if (!top[TYPE].seen || !is(top[TYPE].v, top[TYPE].n, "event_ack") || !top[PAYLOAD].seen)
		return 0;
	if (!pay[LOCAL].seen || !pay[STATUS].seen || pay[LOCAL].n == 0)
		return 0;

	memset(&tmp, 0, sizeof(tmp));
	tmp.type = CM_EVENT_ACK;
	memcpy(tmp.type_name, "event_ack", sizeof("event_ack"));
	tmp.sent_at_ms = -1;
	if (top[TIMESTAMP].seen) {
		char ts[48];
		tmp.timestamp_unreadable = !copy(ts, sizeof(ts), &top[TIMESTAMP]) ||
		    cm_iso_parse(ts, &tmp.sent_at_ms) != 0;
		if (tmp.timestamp_unreadable)
			tmp.sent_at_ms = -1;
	}
	if (top[MESSAGE_ID].seen && !copy(tmp.message_id, sizeof(tmp.message_id), &top[MESSAGE_ID]))
		return 0;
	if (!copy(id, sizeof(id), &pay[LOCAL]) || ct_uuid_parse(id, tmp.u.ack.local_id) != 0)
		return 0;
	if (pay[CLOUD].seen &&
	    !copy(tmp.u.ack.cloud_event_id, sizeof(tmp.u.ack.cloud_event_id), &pay[CLOUD]))
		return 0;
	if (is(pay[STATUS].v, pay[STATUS].n, "accepted"))
		tmp.u.ack.status = CT_ACK_ACCEPTED;
	else if (is(pay[STATUS].v, pay[STATUS].n, "duplicate"))
		tmp.u.ack.status = CT_ACK_DUPLICATE;
	else
		return 0;
	*m = tmp;
	return 1;
}
