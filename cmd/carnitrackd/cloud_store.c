/*
 * The cloud worker's two ways to the store: reading LMDB read-only (opened
 * when it exists, re-opened after a failure) and frames to the store worker,
 * the one writer. Acks and rejections of one loop turn travel together: one
 * ACKED and one REJECTED frame per turn (more only when one fills the 64 KiB
 * payload), sent by cw_flush_acks at the end of the turn.
 *
 * A sender returns its failure (the channel to the store full, or the
 * store down and what is held for it at its bound: every frame here is
 * HELD in messages.def) and decides nothing: what a lost frame means is
 * its caller's. Lengths follow
 * the store's buffers (store_worker.h): a string that would not fit there
 * would make the store drop the whole frame, so it is cut here.
 */
#include "cloud_worker.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"

#define ACK_ITEM_MAX  (CT_UUID_LEN + 1 + 2 + 63)
#define REJ_ITEM_MAX  (CT_UUID_LEN + 2 + 255)

bool
cw_open_store(struct cw *c)
{
	struct store_opts o = { .readonly = true, .site_id = c->id.conf_site_id };
	char err[256] = "";

	if (c->st != NULL)
		return true;
	if (store_open(&c->st, c->data_dir, &o, err, sizeof(err)) != 0) {
		c->st = NULL;
		if (strcmp(err, c->store_err) != 0)
			log_info("store not readable yet: %s", err);
		snprintf(c->store_err, sizeof(c->store_err), "%s", err);
		return false;
	}
	c->store_err[0] = '\0';
	log_debug("store opened read-only");
	return true;
}

/* snprintf into a bounded local copy: the field at its store limit. */
static const char *
cut(char *buf, size_t cap, const char *s)
{
	snprintf(buf, cap, "%s", s ? s : "");
	return buf;
}

static int
send_frame(struct cw *c, uint16_t type, const void *p, size_t n)
{
	if (worker_send(c->w, type, 0, p, n) == 0)
		return 0;
	c->frames_lost++;
	log_warn("%s frame to store not sent: channel full or, store down, its hold full",
	    ct_msg_name(type));
	return -1;
}

static void
reset_pk(struct pack *pk, uint8_t *buf, uint16_t *n)
{
	pack_init(pk, buf, CT_FRAME_MAX_PAYLOAD);
	pack_u16(pk, 0);      /* count, filled in at flush */
	*n = 0;
}

void
cw_frames_init(struct cw *c)
{
	reset_pk(&c->ack_pk, c->ack_buf, &c->nack);
	reset_pk(&c->rej_pk, c->rej_buf, &c->nrej);
}

static int
flush_one(struct cw *c, uint16_t type, struct pack *pk, uint8_t *buf, uint16_t *n)
{
	int rc;

	if (*n == 0)
		return 0;
	pack_put_u16_at(pk, 0, *n);
	rc = send_frame(c, type, buf, pk->len);
	reset_pk(pk, buf, n);
	return rc;
}

int
cw_send_queued_acks(struct cw *c)
{
	int a = flush_one(c, CT_MSG_ACKED, &c->ack_pk, c->ack_buf, &c->nack);
	int r = flush_one(c, CT_MSG_REJECTED, &c->rej_pk, c->rej_buf, &c->nrej);

	return a == 0 && r == 0 ? 0 : -1;
}

int
cw_queue_ack(struct cw *c, const uint8_t id[CT_UUID_LEN], enum ct_ack st, const char *cloud_id)
{
	char cid[64];
	int rc = 0;

	if (c->ack_pk.len + ACK_ITEM_MAX > CT_FRAME_MAX_PAYLOAD || c->nack == UINT16_MAX)
		rc = flush_one(c, CT_MSG_ACKED, &c->ack_pk, c->ack_buf, &c->nack);
	pack_bytes(&c->ack_pk, id, CT_UUID_LEN);
	pack_u8(&c->ack_pk, (uint8_t)st);
	pack_str(&c->ack_pk, cut(cid, sizeof(cid), cloud_id));
	c->nack++;
	cw_kick(c);
	return rc;
}

int
cw_queue_reject(struct cw *c, const uint8_t id[CT_UUID_LEN], const char *reason)
{
	char r[256];
	int rc = 0;

	if (c->rej_pk.len + REJ_ITEM_MAX > CT_FRAME_MAX_PAYLOAD || c->nrej == UINT16_MAX)
		rc = flush_one(c, CT_MSG_REJECTED, &c->rej_pk, c->rej_buf, &c->nrej);
	pack_bytes(&c->rej_pk, id, CT_UUID_LEN);
	pack_str(&c->rej_pk, cut(r, sizeof(r), reason));
	c->nrej++;
	cw_kick(c);
	return rc;
}

int
cw_send_identity(struct cw *c)
{
	uint8_t buf[1024];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_str(&pk, c->id.edge_id);
	pack_str(&pk, c->id.site_id);
	pack_str(&pk, c->id.site_name);
	pack_str(&pk, c->id.source);
	if (!pack_ok(&pk))
		fatalx("IDENTITY frame of %zu bytes does not fit its %zu", pk.len, sizeof(buf));
	return send_frame(c, CT_MSG_IDENTITY, buf, pk.len);
}

int
cw_send_session(struct cw *c, const struct cm_session *s)
{
	uint8_t buf[2048];
	char a[64], t[64], sp[64], op[64], r[128];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_u8(&pk, (uint8_t)s->change);
	pack_str(&pk, s->device_id);
	pack_str(&pk, s->cloud_session_id);
	pack_str(&pk, cut(a, sizeof(a), s->animal_id));
	pack_str(&pk, cut(t, sizeof(t), s->animal_tag));
	pack_str(&pk, cut(sp, sizeof(sp), s->animal_species));
	pack_str(&pk, cut(op, sizeof(op), s->operator_id));
	pack_str(&pk, cut(r, sizeof(r), s->reason));
	pack_u8(&pk, s->change == CT_SESS_STARTED && s->status == CM_SESS_STATUS_PAUSED ?
	    SESS_PAUSED : SESS_ACTIVE);
	if (!pack_ok(&pk))
		fatalx("SESSION frame of %zu bytes does not fit its %zu", pk.len, sizeof(buf));
	return send_frame(c, CT_MSG_SESSION, buf, pk.len);
}

int
cw_send_plu(struct cw *c, const struct cm_plu *p)
{
	static uint8_t buf[CT_FRAME_MAX_PAYLOAD];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_str(&pk, p->plu_code);
	pack_blob(&pk, p->payload_json, p->payload_len);
	if (!pack_ok(&pk)) {
		log_warn("plu_updated %s: %zu bytes of payload do not fit one frame; ignored",
		    p->plu_code, p->payload_len);
		return -1;
	}
	return send_frame(c, CT_MSG_PLU, buf, pk.len);
}

int
cw_send_batch_reported(struct cw *c, const uint8_t id[CT_UUID_LEN], uint8_t what)
{
	uint8_t buf[CT_UUID_LEN + 1];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_bytes(&pk, id, CT_UUID_LEN);
	pack_u8(&pk, what);
	return send_frame(c, CT_MSG_BATCH_REPORTED, buf, pk.len);
}

int
cw_send_link(struct cw *c, bool up)
{
	uint8_t buf[1024];
	char u[256], e[256];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_u8(&pk, up ? 1 : 0);
	pack_str(&pk, cut(u, sizeof(u), c->url));
	pack_str(&pk, cut(e, sizeof(e), up ? "" : c->last_error));
	if (!pack_ok(&pk))
		fatalx("LINK frame of %zu bytes does not fit its %zu", pk.len, sizeof(buf));
	return send_frame(c, CT_MSG_LINK, buf, pk.len);
}
