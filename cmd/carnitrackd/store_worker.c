/*
 * The store worker: the only LMDB writer. Opens the environment when first
 * configured, commits each loop turn's operations as one transaction
 * (store_flush.c), and on a 1 s tick runs the housekeeping that must never
 * stall ingest: retention in small slices, session expiry, and
 * mdb_reader_check (also whenever a peer dies, since a reader killed inside
 * a read txn pins old pages until its slot is cleared).
 */
#include "store_worker.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"

static void
reader_check(struct sw *s, const char *why)
{
	int cleared = 0;

	if (store_reader_check(s->st, &cleared) != STORE_OK)
		log_warn("reader check (%s): %s", why, store_errmsg(s->st));
	else if (cleared > 0)
		log_info("reader check (%s): cleared %d stale reader slot(s)", why, cleared);
}

/* One small housekeeping txn: a prune slice and, when due, session expiry.
 * Deleting needs fresh pages too (copy-on-write), so in a map that is close
 * to full a slice can itself hit MDB_MAP_FULL: it is then retried at once
 * with a quarter of the size, down to one event, and grows back while
 * slices succeed. */
static void
housekeeping(struct sw *s, bool prune, bool expire)
{
	unsigned pruned = 0, expired = 0, qpruned = 0;
	bool more = false, qmore = false;
	int e = STORE_OK;

	for (int attempt = 0; attempt < 6; attempt++) {
		if (store_begin(s->st, ct_now_ms()) != STORE_OK) {
			log_err("housekeeping: %s", store_errmsg(s->st));
			return;
		}
		if (prune)
			e = store_prune(s->st, s->retention_ms, s->prune_slice, &pruned, &more);
		if (e == STORE_OK && prune)
			e = store_quarantine_prune(s->st, s->retention_ms, s->prune_slice, &qpruned,
			    &qmore);
		if (e == STORE_OK && expire && (e = store_sessions_expire(s->st, &expired)) != 0)
			log_warn("session expiry: %s", store_errmsg(s->st));
		if (e == STORE_OK && (e = sw_commit(s)) == STORE_OK)
			break;
		store_abort(s->st);
		if (e != STORE_FULL && e != STORE_OK) {
			sw_commit_failed(s, 0);
			return;
		}
		if (e != STORE_FULL || s->prune_slice == 1) {
			log_err("housekeeping: %s", store_errmsg(s->st));
			return;
		}
		s->prune_slice = s->prune_slice > 4 ? s->prune_slice / 4 : 1;
		log_info("prune slice hit the map limit; retrying with %u items", s->prune_slice);
		pruned = expired = qpruned = 0;
	}
	if (e != STORE_OK)
		return;
	if (pruned >= s->prune_slice && s->prune_slice < SW_PRUNE_SLICE)
		s->prune_slice *= 2;
	s->prune_more = more || qmore;
	s->pruned += pruned + qpruned;
	s->sessions_expired += expired;
	if (expired > 0)
		log_info("%u session(s) expired after %lld s without activity", expired,
		    (long long)worker_conf(s->w)->session_expiry);
	if (pruned > 0)
		log_debug("pruned %u record(s)%s", pruned, more ? ", more to do" : "");
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sw *s = arg;
	int64_t now = ct_now_ms_mono() / 1000;
	bool prune, expire;

	if (s->st == NULL)
		return;
	sw_flush(s);                   /* never let queued work wait behind housekeeping */
	if (store_env_dead(s->st)) {
		/* LMDB gave up on the environment after a failed write: only a
		 * new one helps, and ingest resends what was not confirmed */
		log_err("store: LMDB environment unusable (%s); restarting the store worker",
		    store_errmsg(s->st));
		worker_exit(s->w, CT_EXIT_RESTART);
		return;
	}
	if (s->commit_err_since_ms != 0) {
		/* learn when the disk takes writes again, scales or not */
		if (store_probe(s->st, ct_now_ms()) == STORE_OK)
			sw_commit_worked(s);
		else
			sw_commit_failed(s, 0);
		return;                /* housekeeping writes too: not now */
	}
	/* while full, prune every tick: that is how space comes back */
	prune = s->prune_more || store_is_full(s->st) || now >= s->next_prune_s;
	expire = now >= s->next_expire_s;
	if (prune || expire)
		housekeeping(s, prune, expire);
	if (prune && !s->prune_more)
		s->next_prune_s = now + SW_PRUNE_EVERY_S;
	if (expire)
		s->next_expire_s = now + SW_EXPIRE_EVERY_S;
	if (now >= s->next_readers_s) {
		reader_check(s, "periodic");
		s->next_readers_s = now + SW_READERS_EVERY_S;
	}
	if (store_is_full(s->st) && s->full_since_ms != 0) {
		/* re-measure: a prune may have made room without any new event
		 * (the commit tells readers too) */
		if (store_begin(s->st, ct_now_ms()) == STORE_OK && sw_commit(s) != STORE_OK)
			log_warn("store: %s", store_errmsg(s->st));
		if (!store_is_full(s->st)) {
			s->full_since_ms = 0;
			log_info("store has room again: accepting events");
		}
	}
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	sw_flush(arg);
}

static int
open_store(struct sw *s, const struct ct_conf *conf)
{
	struct store_opts o = {
		.map_size = conf->map_size,
		.session_expiry_ms = conf->session_expiry * 1000,
		.state_quota_pct = (unsigned)conf->state_quota_pct,
		.mono_ms = ct_now_ms_mono,
		.site_id = conf->site_id,
	};
	char err[600];
	int e;

	if ((e = store_open(&s->st, conf->data_dir, &o, err, sizeof(err))) != STORE_OK) {
		log_err("store: %s", err);
		return -1;
	}
	if (store_link_get(s->st, &s->link_up) != STORE_OK)
		s->link_up = true;
	snprintf(s->data_dir, sizeof(s->data_dir), "%s", conf->data_dir);
	s->map_size = conf->map_size;
	s->state_quota_pct = conf->state_quota_pct;
	log_info("store open at %s/store (map %llu MiB, next seq %llu, link %s)", conf->data_dir,
	    (unsigned long long)(conf->map_size >> 20),
	    (unsigned long long)store_last_seq(s->st) + 1, s->link_up ? "up" : "down");
	return 0;
}

static int
sw_configure(struct worker *w, const struct ct_conf *conf, bool first)
{
	struct sw *s = worker_data(w);
	struct timeval tick = { SW_TICK_S, 0 };

	if (!first) {
		if (strcmp(conf->data_dir, s->data_dir) != 0 || conf->map_size != s->map_size ||
		    conf->state_quota_pct != s->state_quota_pct) {
			log_info("data_dir, map_size or state_quota changed: restarting the store "
			    "worker");
			sw_flush(s);
			worker_exit(w, CT_EXIT_RESTART);
			return 0;
		}
		s->retention_ms = conf->retention * 1000;
		store_set_session_expiry(s->st, conf->session_expiry * 1000);
		store_set_site_id(s->st, conf->site_id);
		return 0;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->ops = calloc(SW_OPS_MAX, sizeof(*s->ops))) == NULL) {
		log_err("out of memory");
		free(s);
		return -1;
	}
	s->w = w;
	s->retention_ms = conf->retention * 1000;
	s->prune_slice = SW_PRUNE_SLICE;
	if (hist_init(&s->commit_hist, hist_latency_bounds, hist_latency_nbounds) != 0)
		fatalx("the latency histogram's bounds are not ascending");
	if (open_store(s, conf) != 0) {
		free(s->ops);
		free(s);
		return -1;
	}
	s->ev_flush = event_new(worker_base(w), -1, 0, on_flush, s);
	s->ev_tick = event_new(worker_base(w), -1, EV_PERSIST, on_tick, s);
	if (s->ev_flush == NULL || s->ev_tick == NULL || event_add(s->ev_tick, &tick) != 0) {
		log_err("cannot create store events");
		store_close(s->st);
		free(s->ops);
		free(s);
		return -1;
	}
	s->next_prune_s = ct_now_ms_mono() / 1000 + 5;
	s->next_expire_s = ct_now_ms_mono() / 1000 + SW_EXPIRE_EVERY_S;
	s->next_readers_s = ct_now_ms_mono() / 1000 + SW_READERS_EVERY_S;
	worker_set_data(w, s);
	return 0;
}

static void
sw_peer(struct worker *w, enum ct_proc peer, bool up)
{
	struct sw *s = worker_data(w);

	if (s == NULL)
		return;
	if (!up) {
		reader_check(s, "peer down");
		return;
	}
	if (peer == P_CLOUD) {
		sw_flush(s);
		sw_send_work_ready(s, CT_WORK_EVENTS | CT_WORK_BATCHES | CT_WORK_DEVICES);
	}
}

static void
sw_status(struct worker *w, json_t *o)
{
	struct sw *s = worker_data(w);
	struct store_stats st;
	int64_t now = ct_now_ms();

	if (s == NULL)
		return;
	if (store_stats_get(s->st, &st) != STORE_OK) {
		json_object_set_new(o, "state", json_string("error"));
		json_object_set_new(o, "error", json_string(store_errmsg(s->st)));
		return;
	}
	json_object_set_new(o, "state", json_string(s->commit_err_since_ms != 0 ? "cannot_commit" :
	    store_is_full(s->st) ? "store_full" : "ok"));
	/* the supervisor's overall health: degraded while events are refused
	 * (the link's health is the cloud worker's to report) */
	json_object_set_new(o, "health", json_string(store_is_full(s->st) ||
	    s->commit_err_since_ms != 0 ? "degraded" : "ok"));
	if (s->commit_err_since_ms != 0) {
		char since[CT_ISO_MAX];

		ct_iso_from_ms(s->commit_err_since_ms, since);
		json_object_set_new(o, "commit_error", json_pack("{s:s, s:s, s:s, s:I, s:I}",
		    "error", s->commit_err, "detail", s->commit_err_detail, "since", since,
		    "since_s", (json_int_t)((now - s->commit_err_since_ms) / 1000),
		    "waiting", (json_int_t)s->commit_waiting));
	}
	json_object_set_new(o, "link", json_string(s->link_up ? "up" : "down"));
	json_object_set_new(o, "pending", json_integer((json_int_t)st.pending));
	json_object_set_new(o, "oldest_pending_age_s", json_integer(st.oldest_pending_ms ?
	    (json_int_t)((now - st.oldest_pending_ms) / 1000) : 0));
	json_object_set_new(o, "open_batches", json_integer(st.open_batches));
	json_object_set_new(o, "batches", json_integer(st.batches));
	json_object_set_new(o, "map_use_pct", json_real((double)(int)(st.map_use_pct * 10) / 10));
	json_object_set_new(o, "map_size", json_integer((json_int_t)st.map_size));
	json_object_set_new(o, "events", json_integer((json_int_t)st.events));
	json_object_set_new(o, "quarantined", json_integer((json_int_t)st.quarantined));
	json_object_set_new(o, "last_seq", json_integer((json_int_t)st.last_seq));
	json_object_set_new(o, "last_commit_ms", json_real(store_last_commit_ms(s->st)));
	json_object_set_new(o, "commit_seconds", hist_to_json(&s->commit_hist));
	json_object_set_new(o, "events_stored", json_integer((json_int_t)s->events_stored));
	json_object_set_new(o, "lines_quarantined", json_integer((json_int_t)s->lines_quarantined));
	json_object_set_new(o, "events_duplicate", json_integer((json_int_t)s->events_dup));
	json_object_set_new(o, "events_refused", json_integer((json_int_t)s->events_refused));
	json_object_set_new(o, "commits", json_integer((json_int_t)s->commits));
	json_object_set_new(o, "commit_failures", json_integer((json_int_t)s->commit_failures));
	json_object_set_new(o, "acks", json_integer((json_int_t)s->acks));
	json_object_set_new(o, "rejects", json_integer((json_int_t)s->rejects));
	json_object_set_new(o, "acks_unknown", json_integer((json_int_t)s->acks_unknown));
	json_object_set_new(o, "pruned", json_integer((json_int_t)s->pruned));
	json_object_set_new(o, "sessions_expired", json_integer((json_int_t)s->sessions_expired));
	json_object_set_new(o, "frames_bad", json_integer((json_int_t)s->frames_bad));
	json_object_set_new(o, "state_bytes", json_integer((json_int_t)st.state_bytes));
	json_object_set_new(o, "state_quota_bytes", json_integer((json_int_t)st.state_quota_bytes));
	json_object_set_new(o, "state_refused", json_integer((json_int_t)s->state_refused));
	json_object_set_new(o, "sessions_held", json_integer(s->nheld));
	json_object_set_new(o, "sessions_held_dropped",
	    json_integer((json_int_t)s->sessions_dropped));
}

static void
sw_shutdown(struct worker *w)
{
	struct sw *s = worker_data(w);

	if (s != NULL) {
		sw_flush(s);               /* commit what is in hand, confirm it */
		event_free(s->ev_flush);
		event_free(s->ev_tick);
		store_close(s->st);
		s->st = NULL;
		free(s->ops);
		free(s);
		worker_set_data(w, NULL);
	}
	worker_exit(w, CT_EXIT_OK);
}

const struct worker_ops store_worker_ops = {
	.configure = sw_configure,
	.frame = sw_frame,
	.peer = sw_peer,
	.status = sw_status,
	.shutdown = sw_shutdown,
};
