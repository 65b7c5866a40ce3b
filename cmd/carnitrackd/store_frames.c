/*
 * Incoming frames, decoded with bounds checks into queued operations. A
 * frame that does not decode is logged and dropped as a whole; an EVENT
 * record that does not decode is refused (bad_event) by the id it carries,
 * so ingest does not resend it forever.
 */
#include "store_worker.h"

#include <stdlib.h>
#include <string.h>

#include "event/event_codec.h"
#include "ipc/pack.h"
#include "log/log.h"

static void sw_queue(struct sw *s, struct sw_op *op);

static struct sw_op *
op_new(enum sw_op_kind kind)
{
	struct sw_op *op = calloc(1, sizeof(*op));

	if (op == NULL) {
		log_err("out of memory queueing a %d operation", (int)kind);
		return NULL;
	}
	op->kind = kind;
	return op;
}

void
sw_op_free(struct sw_op *op)
{
	if (op == NULL)
		return;
	if (op->kind == OP_PLU)
		free(op->u.plu.json);
	free(op);
}

/* Free text (reasons, names, errors): kept up to the buffer, cut beyond it,
 * never a reason to drop the frame. Identifiers use unpack_str: they must
 * fit whole. */
static void
unpack_text(struct unpack *u, char *out, size_t cap)
{
	size_t n;
	const uint8_t *p = unpack_blob(u, &n);
	const uint8_t *nul;

	out[0] = '\0';
	if (p == NULL)
		return;
	if ((nul = memchr(p, '\0', n)) != NULL)
		n = (size_t)(nul - p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
bad_frame(struct sw *s, const struct frame *f, const char *what)
{
	s->frames_bad++;
	log_warn("%s frame from pid %u (%zu bytes): %s; dropped", ct_msg_name(f->hdr.type),
	    f->hdr.pid, f->plen, what);
}

static void
on_event(struct sw *s, const struct frame *f)
{
	struct unpack u;
	uint16_t n;

	unpack_init(&u, f->payload, f->plen);
	n = unpack_u16(&u);
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *rec;
		size_t len;
		struct sw_op *op;

		if ((rec = unpack_blob(&u, &len)) == NULL || !unpack_ok(&u)) {
			bad_frame(s, f, "truncated record list");
			return;
		}
		if ((op = op_new(OP_EVENT)) == NULL)
			return;          /* not confirmed: ingest sends it again */
		if (event_decode(rec, len, &op->u.ev) != 0 || op->u.ev.device_id[0] == '\0') {
			/* the id is the 16 bytes after the version byte, when there */
			if (len < 1 + CT_UUID_LEN) {
				sw_op_free(op);
				bad_frame(s, f, "record too short to carry an id");
				continue;
			}
			memset(&op->u.ev, 0, sizeof(op->u.ev));
			memcpy(op->u.ev.local_id, rec + 1, CT_UUID_LEN);
			op->kind = OP_BAD_EVENT;
			log_warn("EVENT record %u of %u does not decode (%zu bytes); refusing it",
			    i + 1,
			    n, len);
		}
		ct_trace(CT_ST_STORE_RECV, op->u.ev.local_id);
		sw_queue(s, op);
	}
	if (!unpack_done(&u))
		bad_frame(s, f, "trailing bytes after the records");
}

static void
on_acked(struct sw *s, const struct frame *f, bool rejected)
{
	struct unpack u;
	uint16_t n;

	unpack_init(&u, f->payload, f->plen);
	n = unpack_u16(&u);
	for (uint16_t i = 0; i < n; i++) {
		struct sw_op *op = op_new(rejected ? OP_REJECT : OP_ACK);

		if (op == NULL)
			return;
		if (rejected) {
			unpack_bytes(&u, op->u.rej.id, CT_UUID_LEN);
			unpack_text(&u, op->u.rej.reason, sizeof(op->u.rej.reason));
		} else {
			unpack_bytes(&u, op->u.ack.id, CT_UUID_LEN);
			op->u.ack.status = unpack_u8(&u);
			unpack_str(&u, op->u.ack.cloud_id, sizeof(op->u.ack.cloud_id));
		}
		if (!unpack_ok(&u)) {
			sw_op_free(op);
			bad_frame(s, f, "truncated or oversized item");
			return;
		}
		ct_trace(CT_ST_STORE_ACK_RECV, rejected ? op->u.rej.id : op->u.ack.id);
		sw_queue(s, op);
	}
}

static void
on_session(struct sw *s, const struct frame *f)
{
	struct sw_op *op = op_new(OP_SESSION);
	struct store_session_msg *m;
	struct unpack u;

	if (op == NULL)
		return;
	m = &op->u.sess;
	unpack_init(&u, f->payload, f->plen);
	m->kind = unpack_u8(&u);
	unpack_str(&u, m->device_id, sizeof(m->device_id));
	unpack_str(&u, m->cloud_session_id, sizeof(m->cloud_session_id));
	unpack_text(&u, m->animal_id, sizeof(m->animal_id));
	unpack_text(&u, m->animal_tag, sizeof(m->animal_tag));
	unpack_text(&u, m->animal_species, sizeof(m->animal_species));
	unpack_text(&u, m->operator_id, sizeof(m->operator_id));
	unpack_text(&u, m->reason, sizeof(m->reason));
	m->start_status = unpack_u8(&u);
	if (!unpack_done(&u) || m->kind < CT_SESS_STARTED || m->kind > CT_SESS_ENDED ||
	    (m->start_status != SESS_ACTIVE && m->start_status != SESS_PAUSED)) {
		sw_op_free(op);
		bad_frame(s, f, "bad layout, field too long or unknown kind");
		return;
	}
	sw_queue(s, op);
}

static void
on_device(struct sw *s, const struct frame *f)
{
	struct sw_op *op = op_new(OP_DEVICE);
	struct store_device_msg *m;
	struct unpack u;

	if (op == NULL)
		return;
	m = &op->u.dev;
	unpack_init(&u, f->payload, f->plen);
	m->kind = unpack_u8(&u);
	unpack_str(&u, m->device_id, sizeof(m->device_id));
	unpack_text(&u, m->source_ip, sizeof(m->source_ip));
	unpack_text(&u, m->device_type, sizeof(m->device_type));
	unpack_text(&u, m->reason, sizeof(m->reason));
	m->at_ms = unpack_i64(&u);
	m->heartbeats = unpack_u32(&u);
	if (!unpack_done(&u) || m->kind < CT_DEV_CONNECTED || m->kind > CT_DEV_STALE) {
		sw_op_free(op);
		bad_frame(s, f, "bad layout, field too long or unknown kind");
		return;
	}
	sw_queue(s, op);
}

static void
on_plu(struct sw *s, const struct frame *f)
{
	struct sw_op *op = op_new(OP_PLU);
	struct unpack u;
	const uint8_t *json;
	size_t n;

	if (op == NULL)
		return;
	unpack_init(&u, f->payload, f->plen);
	unpack_str(&u, op->u.plu.code, sizeof(op->u.plu.code));
	json = unpack_blob(&u, &n);
	if (!unpack_done(&u) || json == NULL || memchr(json, '\0', n) != NULL) {
		sw_op_free(op);
		bad_frame(s, f, "bad layout or code too long");
		return;
	}
	if ((op->u.plu.json = malloc(n + 1)) == NULL) {
		sw_op_free(op);
		log_err("out of memory for PLU %s", op->u.plu.code);
		return;
	}
	memcpy(op->u.plu.json, json, n);
	op->u.plu.json[n] = '\0';
	sw_queue(s, op);
}

static void
on_identity(struct sw *s, const struct frame *f)
{
	struct sw_op *op = op_new(OP_IDENTITY);
	struct unpack u;

	if (op == NULL)
		return;
	unpack_init(&u, f->payload, f->plen);
	unpack_str(&u, op->u.ident.edge_id, sizeof(op->u.ident.edge_id));
	unpack_str(&u, op->u.ident.site_id, sizeof(op->u.ident.site_id));
	unpack_text(&u, op->u.ident.site_name, sizeof(op->u.ident.site_name));
	unpack_text(&u, op->u.ident.source, sizeof(op->u.ident.source));
	if (!unpack_done(&u)) {
		sw_op_free(op);
		bad_frame(s, f, "bad layout or field too long");
		return;
	}
	sw_queue(s, op);
}

static void
on_batch_reported(struct sw *s, const struct frame *f)
{
	struct sw_op *op = op_new(OP_BATCH_REPORTED);
	struct unpack u;

	if (op == NULL)
		return;
	unpack_init(&u, f->payload, f->plen);
	unpack_bytes(&u, op->u.br.id, CT_UUID_LEN);
	op->u.br.what = unpack_u8(&u);
	if (!unpack_done(&u)) {
		sw_op_free(op);
		bad_frame(s, f, "bad layout");
		return;
	}
	sw_queue(s, op);
}

static void
on_link(struct sw *s, const struct frame *f)
{
	struct sw_op *op = op_new(OP_LINK);
	struct unpack u;

	if (op == NULL)
		return;
	unpack_init(&u, f->payload, f->plen);
	op->u.link.up = unpack_u8(&u) != 0;
	unpack_text(&u, op->u.link.url, sizeof(op->u.link.url));
	unpack_text(&u, op->u.link.error, sizeof(op->u.link.error));
	if (!unpack_done(&u)) {
		sw_op_free(op);
		bad_frame(s, f, "bad layout or field too long");
		return;
	}
	sw_queue(s, op);
}

static void
sw_queue(struct sw *s, struct sw_op *op)
{
	if (s->nops >= SW_OPS_MAX)
		sw_flush(s);        /* bounded: commit what we have, keep collecting */
	s->ops[s->nops++] = op;
	if (s->nops == 1)
		event_active(s->ev_flush, EV_TIMEOUT, 0);
}

void
sw_frame(struct worker *w, const struct frame *f)
{
	struct sw *s = worker_data(w);

	if (s == NULL || s->st == NULL)
		return;
	switch (f->hdr.type) {
	case CT_MSG_EVENT:          on_event(s, f); break;
	case CT_MSG_DEVICE:         on_device(s, f); break;
	case CT_MSG_LINK:           on_link(s, f); break;
	case CT_MSG_ACKED:          on_acked(s, f, false); break;
	case CT_MSG_REJECTED:       on_acked(s, f, true); break;
	case CT_MSG_SESSION:        on_session(s, f); break;
	case CT_MSG_PLU:            on_plu(s, f); break;
	case CT_MSG_IDENTITY:       on_identity(s, f); break;
	case CT_MSG_BATCH_REPORTED: on_batch_reported(s, f); break;
	case CT_MSG_IDENTITY_RESET: {
		struct sw_op *op = op_new(OP_IDENTITY_RESET);
		if (op != NULL) {
			op->u.reset_id = f->hdr.id;
			sw_queue(s, op);
		}
		break;
	}
	default:
		fatalx("messages.def routes %s to the store worker, which has no handler for it",
		    ct_msg_name(f->hdr.type));
	}
}
