/*
 * Cloud- and ingest-side state the edge keeps: the current session per scale,
 * the device registry, the PLU cache and the edge identity.
 *
 * Sessions: a start replaces the scale's current session (active, or paused
 * when the cloud says it starts paused); pause, resume and end name a
 * session and are ignored (NOTFOUND) when it is not the current one, so a
 * late end of an old session cannot stop the new one. A cloud that names
 * only the session (no deviceId) has it found among the current ones. Ended and
 * expired sessions stay visible until retention prunes them.
 *
 * Quota: what the cloud can make the edge keep (sessions, PLU) and the
 * device registry share state_quota_pct of the map. A row that would grow
 * it past that share is refused (STORE_QUOTA); a row rewritten no larger
 * than before always passes, so known scales' sessions keep working at the
 * quota. PLU may take three fifths of the share, leaving the rest to the
 * scales. The device row an event updates is the event's own cost and
 * is never refused: an event is never lost to the quota.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

static size_t
db_pages(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat ms;

	if (mdb_stat(txn, dbi, &ms) != 0)
		return 0;
	return ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages;
}

size_t
store_state_pages(struct store *st, MDB_txn *txn, size_t *plu)
{
	size_t p = db_pages(txn, st->dbi[DB_PLU]);

	if (plu != NULL)
		*plu = p;
	return p + db_pages(txn, st->dbi[DB_SESSIONS]) + db_pages(txn, st->dbi[DB_DEVICES]);
}

static size_t
store_state_quota_pages(const struct store *st)
{
	return st->max_pages * st->opts.state_quota_pct / 100;
}

/* Room in the quota for a row of klen + vlen bytes in db, replacing what
 * is stored under the same key. */
static int
state_room(struct store *st, enum store_dbi db, const MDB_val *k, size_t vlen, const char *what)
{
	size_t quota = store_state_quota_pages(st), plu, total, need, old = 0;
	MDB_val cur;

	if (mdb_get(st->wtxn, st->dbi[db], (MDB_val *)k, &cur) == 0)
		old = k->mv_size + cur.mv_size;
	if (k->mv_size + vlen <= old)
		return STORE_OK;
	total = store_state_pages(st, st->wtxn, &plu);
	/* as store_txn.c estimates: every byte twice, plus a page to split */
	need = ((k->mv_size + vlen - old) * 2 + st->psize - 1) / st->psize + 1;
	if (total + need <= quota && (db != DB_PLU || plu + need <= quota * 3 / 5))
		return STORE_OK;
	return store_seterr(st, STORE_QUOTA, "%s: refused, cloud-driven state is at its quota "
	    "(%zu KiB in use%s, %u%% of the map = %zu KiB)", what,
	    (db == DB_PLU ? plu : total) * st->psize / 1024, db == DB_PLU ? " by PLU" : "",
	    st->opts.state_quota_pct, quota * st->psize / 1024);
}

static int
session_put(struct store *st, const struct store_session *s)
{
	uint8_t buf[STORE_REC_MAX];
	size_t n = store_session_enc(s, buf, sizeof(buf));
	MDB_val k = store_val(s->device_id, strlen(s->device_id)), v = store_val(buf, n);
	char what[96];
	int rc, e;

	if (n == 0)
		return store_seterr(st, STORE_INVAL, "session of %s: record too large",
		    s->device_id);
	snprintf(what, sizeof(what), "session of %s", s->device_id);
	if ((e = state_room(st, DB_SESSIONS, &k, n, what)) != 0)
		return e;
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_SESSIONS], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "session of %s: write", s->device_id);
	return STORE_OK;
}

/* The scale whose current session is `id` (clouds that name only the
 * session in pause/resume/end). A walk: there is one row per scale. */
static int
session_find_by_id(struct store *st, const char *id, struct store_session *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(st->wtxn, st->dbi[DB_SESSIONS], &c)) != 0)
		return store_fail(st, rc, "cursor sessions");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (store_session_dec(&k, &v, out) == 0 && strcmp(out->cloud_session_id, id) == 0 &&
		    out->status != SESS_ENDED && out->status != SESS_EXPIRED)
			break;
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return store_seterr(st, STORE_NOTFOUND, "session %s is not the current session of "
		    "any scale", id);
	if (rc != 0)
		return store_fail(st, rc, "sessions walk");
	return STORE_OK;
}

int
store_session_apply(struct store *st, const struct store_session_msg *m)
{
	struct store_session s;
	const char *dev = m->device_id;
	int e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (dev[0] == '\0' && m->kind != CT_SESS_STARTED && m->cloud_session_id[0] != '\0') {
		if ((e = session_find_by_id(st, m->cloud_session_id, &s)) != 0)
			return e;
		dev = s.device_id;
	}
	if (dev[0] == '\0' || strlen(dev) >= CT_DEVICE_ID_MAX)
		return store_seterr(st, STORE_INVAL, "session message without a valid deviceId");
	if (m->kind == CT_SESS_STARTED) {
		if (m->cloud_session_id[0] == '\0')
			return store_seterr(st, STORE_INVAL,
			    "session_started for %s without cloudSessionId",
			    dev);
		memset(&s, 0, sizeof(s));
		snprintf(s.device_id, sizeof(s.device_id), "%s", dev);
		snprintf(s.cloud_session_id, sizeof(s.cloud_session_id), "%s", m->cloud_session_id);
		snprintf(s.animal_id, sizeof(s.animal_id), "%s", m->animal_id);
		snprintf(s.animal_tag, sizeof(s.animal_tag), "%s", m->animal_tag);
		snprintf(s.animal_species, sizeof(s.animal_species), "%s", m->animal_species);
		snprintf(s.operator_id, sizeof(s.operator_id), "%s", m->operator_id);
		/* a session that starts paused does not tag until resumed */
		s.status = m->start_status == SESS_PAUSED ? SESS_PAUSED : SESS_ACTIVE;
		s.started_at_ms = s.updated_at_ms = st->now_ms;
		return session_put(st, &s);
	}

	if (dev != s.device_id && (e = store_session_get(st, dev, &s)) != 0)
		return e;
	if (m->cloud_session_id[0] != '\0' && strcmp(m->cloud_session_id, s.cloud_session_id) != 0)
		return store_seterr(st, STORE_NOTFOUND,
		    "session %s is not the current session of %s (%s)",
		    m->cloud_session_id, dev, s.cloud_session_id);
	switch (m->kind) {
	case CT_SESS_PAUSED:
		if (s.status != SESS_ACTIVE)
			return STORE_OK;
		s.status = SESS_PAUSED;
		break;
	case CT_SESS_RESUMED:
		if (s.status == SESS_ENDED)
			return store_seterr(st, STORE_NOTFOUND, "session %s of %s has ended",
			    s.cloud_session_id, dev);
		/* a session that starts paused does not tag until resumed */
		s.status = m->start_status == SESS_PAUSED ? SESS_PAUSED : SESS_ACTIVE;
		break;
	case CT_SESS_ENDED:
		s.status = SESS_ENDED;
		snprintf(s.reason, sizeof(s.reason), "%s", m->reason);
		break;
	default:
		return store_seterr(st, STORE_INVAL, "session change %d", (int)m->kind);
	}
	s.updated_at_ms = st->now_ms;
	return session_put(st, &s);
}

int
store_sessions_expire(struct store *st, unsigned *expired)
{
	struct store_session s;
	uint8_t buf[STORE_REC_MAX];
	MDB_cursor *c;
	MDB_val k, v;
	unsigned n = 0;
	int rc, e;

	if (expired != NULL)
		*expired = 0;
	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (st->opts.session_expiry_ms <= 0)
		return STORE_OK;
	if ((rc = mdb_cursor_open(st->wtxn, st->dbi[DB_SESSIONS], &c)) != 0)
		return store_fail(st, rc, "cursor sessions");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t len;

		if (store_session_dec(&k, &v, &s) != 0)
			continue;          /* a bad record is reported by readers, not fatal here */
		if ((s.status != SESS_ACTIVE && s.status != SESS_PAUSED) ||
		    s.updated_at_ms + st->opts.session_expiry_ms > st->now_ms)
			continue;
		s.status = SESS_EXPIRED;
		snprintf(s.reason, sizeof(s.reason), "expired");
		s.updated_at_ms = st->now_ms;
		if ((len = store_session_enc(&s, buf, sizeof(buf))) == 0)
			continue;
		v = store_val(buf, len);
		if ((rc = mdb_cursor_put(c, &k, &v, MDB_CURRENT)) != 0) {
			mdb_cursor_close(c);
			return store_wfail(st, rc, "session of %s: expire", s.device_id);
		}
		n++;
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return store_fail(st, rc, "sessions walk");
	if (expired != NULL)
		*expired = n;
	return STORE_OK;
}

static int
device_put(struct store *st, const struct store_device *d, bool quota)
{
	uint8_t buf[STORE_REC_MAX];
	size_t n = store_device_enc(d, buf, sizeof(buf));
	MDB_val k = store_val(d->device_id, strlen(d->device_id)), v = store_val(buf, n);
	char what[96];
	int rc, e;

	if (n == 0)
		return store_seterr(st, STORE_INVAL, "device %s: record too large", d->device_id);
	snprintf(what, sizeof(what), "device %s", d->device_id);
	if (quota && (e = state_room(st, DB_DEVICES, &k, n, what)) != 0)
		return e;
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_DEVICES], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "device %s: write", d->device_id);
	return STORE_OK;
}

/* "SITE01-SCALE-01": the configured site id first, else the one the cloud
 * gave, as the cloud worker names it in events (so a change of site_id is
 * followed, not frozen into the record at first sight). */
static void
global_name(struct store *st, struct store_device *d)
{
	struct store_identity id;
	const char *site = st->site_id;

	if (site[0] == '\0' && store_identity_get(st, &id) == STORE_OK)
		site = id.site_id;
	if (site[0] != '\0')
		snprintf(d->global_device_id, sizeof(d->global_device_id), "%s-%s", site,
		    d->device_id);
	else
		snprintf(d->global_device_id, sizeof(d->global_device_id), "%s", d->device_id);
}

/* The device's record, or a fresh one. */
static int
device_load(struct store *st, const char *device_id, int64_t at_ms, struct store_device *d)
{
	int e = store_device_get(st, device_id, d);

	if (e == STORE_NOTFOUND) {
		memset(d, 0, sizeof(*d));
		snprintf(d->device_id, sizeof(d->device_id), "%s", device_id);
		d->first_seen_ms = at_ms;
		e = STORE_OK;
	}
	if (e == STORE_OK)
		global_name(st, d);
	return e;
}

int
store_device_apply(struct store *st, const struct store_device_msg *m)
{
	struct store_device d;
	int64_t at = m->at_ms ? m->at_ms : st->now_ms;
	int e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (m->device_id[0] == '\0' || strlen(m->device_id) >= CT_DEVICE_ID_MAX)
		return store_seterr(st, STORE_INVAL, "device message without a valid deviceId");
	if ((e = device_load(st, m->device_id, at, &d)) != 0)
		return e;
	if (m->source_ip[0] != '\0')
		snprintf(d.source_ip, sizeof(d.source_ip), "%s", m->source_ip);
	if (m->device_type[0] != '\0')
		snprintf(d.device_type, sizeof(d.device_type), "%s", m->device_type);
	d.last_seen_ms = at;
	switch (m->kind) {
	case CT_DEV_CONNECTED:
		d.status = DEV_CONNECTED;
		d.connects++;
		d.connected_at_ms = at;
		d.heartbeats = m->heartbeats;
		d.reason[0] = '\0';
		break;
	case CT_DEV_HEARTBEAT:
		d.status = DEV_CONNECTED;
		d.heartbeats = m->heartbeats;
		break;
	case CT_DEV_DISCONNECTED:
		d.status = DEV_DISCONNECTED;
		d.disconnected_at_ms = at;
		snprintf(d.reason, sizeof(d.reason), "%s", m->reason);
		break;
	case CT_DEV_STALE:
		d.status = DEV_STALE;
		snprintf(d.reason, sizeof(d.reason), "%s", m->reason[0] ? m->reason : "stale");
		break;
	case CT_DEV_SUPERSEDED:
		/* a newer connection of the same scale took over: still connected */
		snprintf(d.reason, sizeof(d.reason), "%s", m->reason[0] ? m->reason : "superseded");
		break;
	default:
		return store_seterr(st, STORE_INVAL, "device change %d for %s", (int)m->kind,
		    m->device_id);
	}
	return device_put(st, &d, true);
}

int
store_device_count_event(struct store *st, const struct ct_event *ev)
{
	struct store_device d;
	int64_t at = ev->received_at_ms ? ev->received_at_ms : st->now_ms;
	int e;

	if ((e = device_load(st, ev->device_id, at, &d)) != 0)
		return e;
	d.events++;
	d.last_seen_ms = at;
	if (d.source_ip[0] == '\0')
		snprintf(d.source_ip, sizeof(d.source_ip), "%s", ev->source_ip);
	return device_put(st, &d, false);
}

int
store_plu_put(struct store *st, const char *plu_code, const char *json)
{
	MDB_val k = store_val(plu_code, strlen(plu_code)), v = store_val(json, strlen(json));
	char what[96];
	int rc, e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (k.mv_size == 0 || k.mv_size > 64)
		return store_seterr(st, STORE_INVAL, "PLU code '%.64s': empty or too long",
		    plu_code);
	if (v.mv_size > STORE_PLU_MAX)
		return store_seterr(st, STORE_INVAL,
		    "PLU %s: %zu bytes, more than the %d kept; refused",
		    plu_code, v.mv_size, STORE_PLU_MAX);
	snprintf(what, sizeof(what), "PLU %s", plu_code);
	if ((e = state_room(st, DB_PLU, &k, v.mv_size, what)) != 0)
		return e;
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_PLU], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "PLU %s: write", plu_code);
	return STORE_OK;
}

static int
meta_put_str(struct store *st, const char *name, const char *val, size_t max)
{
	MDB_val k = store_val(name, strlen(name)), v;
	int rc;

	if (val == NULL)
		return STORE_OK;
	if (strlen(val) >= max)
		return store_seterr(st, STORE_INVAL, "%s too long (%zu bytes, max %zu)", name,
		    strlen(val), max - 1);
	v = store_val(val, strlen(val));
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "meta %s: write", name);
	return STORE_OK;
}

int
store_identity_put(struct store *st, const char *edge_id, const char *site_id,
    const char *site_name)
{
	struct store_identity id;
	int e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if ((e = meta_put_str(st, "edge_id", edge_id, sizeof(id.edge_id))) != 0 ||
	    (e = meta_put_str(st, "site_id", site_id, sizeof(id.site_id))) != 0 ||
	    (e = meta_put_str(st, "site_name", site_name, sizeof(id.site_name))) != 0)
		return e;
	return STORE_OK;
}

int
store_identity_source_put(struct store *st, const char *source)
{
	struct store_identity id;
	int e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	return meta_put_str(st, "identity_source", source, sizeof(id.source));
}

int
store_link_put(struct store *st, bool up)
{
	int e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	return meta_put_str(st, "link", up ? "up" : "down", 8);
}

int
store_link_get(struct store *st, bool *up)
{
	MDB_txn *txn;
	MDB_val k = store_val("link", 4), v;
	int rc, e;

	*up = true;
	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	rc = mdb_get(txn, st->dbi[DB_META], &k, &v);
	if (rc == 0)
		*up = !(v.mv_size == 4 && memcmp(v.mv_data, "down", 4) == 0);
	store_rtxn_end(st, txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_fail(st, rc, "meta link");
	return STORE_OK;
}
