/*
 * The web worker: the edge seen over HTTP, read-only ([http] in edge.conf;
 * an empty listen turns it off and the supervisor does not start it).
 * lib/web serves and bounds the connections; this file gives it what it
 * answers from, and never writes anything:
 *  - the status object of `carnitrackctl status --json`, asked from the
 *    supervisor (EDGE_STATUS_REQ, one at a time) and kept. A request finds
 *    it fresh (younger than FRESH_MS) or waits for the next one (lib/web
 *    holds it), so the supervisor is asked at most once per FRESH_MS, and
 *    only while requests arrive. The answer comes in pieces (it may pass
 *    one frame) and is put together here, bounded by STATUS_TEXT_MAX;
 *  - the LMDB store, opened read-only at the first /metrics that needs it,
 *    and again after a failure (at most every STORE_RETRY_MS).
 * A port held at start is a failure that may pass (WORKER_RETRY, like
 * ingest's), and the daemon is ready without it (optional): a clash on
 * the HTTP port must not keep the scales' service from starting. A
 * reload that changes [http] or data_dir restarts the worker: it holds
 * nothing worth keeping.
 */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "ipc/pack.h"
#include "log/log.h"
#include "store/store.h"
#include "util/secret_file.h"
#include "web/web.h"

#define FRESH_MS         1000     /* a status younger than this is served */
#define ASK_LOST_MS      5000     /* no whole answer by then: ask again */
#define STALE_MS         10000    /* older than this: no status at all */
#define STORE_RETRY_MS   5000
#define STATUS_TEXT_MAX  (1024 * 1024)

struct ww {
	struct worker   *w;
	struct web      *web;
	struct web_conf  wc;             /* as opened, to see what a reload changes */
	char             data_dir[CT_CONF_PATH];
	struct store    *st;             /* read-only; NULL until needed */
	int64_t          store_tried_ms;
	char             store_err[256];
	json_t          *status;         /* the latest whole status */
	int64_t          status_ms;      /* monotonic, when it came */
	uint32_t         next_id, asked_id;     /* asked_id 0: nothing asked */
	int64_t          asked_ms;
	char            *rx;             /* the answer's pieces so far */
	size_t           rx_len, rx_total;
	uint64_t         asks, answers, bad_answers;
};

static const char *
web_disabled(const struct ct_conf *conf)
{
	return conf->http_listen[0] == '\0' ? "[http] listen is empty" : NULL;
}

/* [http] as lib/web takes it; the token read from its file (refused,
 * with the reason logged, when anyone but this service could read it). */
static int
web_conf_of(const struct ct_conf *conf, struct web_conf *wc)
{
	char err[512];

	memset(wc, 0, sizeof(*wc));
	snprintf(wc->listen, sizeof(wc->listen), "%s", conf->http_listen);
	memcpy(wc->allow, conf->http_allow, sizeof(wc->allow));
	wc->nallow = conf->http_nallow;
	if (conf->http_token_file[0] != '\0' &&
	    secret_file_read(conf->http_token_file, "[http] token_file", wc->token,
	    sizeof(wc->token), err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

static void
rx_reset(struct ww *x)
{
	free(x->rx);
	x->rx = NULL;
	x->rx_len = x->rx_total = 0;
}

/* ------------------------------------------------------------ web source */

static json_t *
src_status(void *arg)
{
	struct ww *x = arg;

	if (x->status == NULL || ct_now_ms_mono() - x->status_ms > STALE_MS)
		return NULL;
	return json_incref(x->status);
}

static bool
src_refresh(void *arg)
{
	struct ww *x = arg;
	int64_t now = ct_now_ms_mono();

	if (x->status != NULL && now - x->status_ms < FRESH_MS)
		return false;
	if (x->asked_id != 0 && now - x->asked_ms < ASK_LOST_MS)
		return true;
	if (++x->next_id == 0)
		x->next_id = 1;
	rx_reset(x);
	if (worker_send(x->w, CT_MSG_EDGE_STATUS_REQ, x->next_id, NULL, 0) != 0) {
		x->asked_id = 0;
		return false;
	}
	x->asked_id = x->next_id;
	x->asked_ms = now;
	x->asks++;
	return true;
}

static struct store *
src_store(void *arg)
{
	struct ww *x = arg;
	struct store_opts o = { .readonly = true };
	struct store_stats ss;
	char err[256] = "";
	int64_t now = ct_now_ms_mono();

	if (x->st != NULL && store_stats_get(x->st, &ss) != STORE_OK) {
		log_warn("store (read-only): %s; opening it again", store_errmsg(x->st));
		store_close(x->st);
		x->st = NULL;
		x->store_tried_ms = 0;
	}
	if (x->st != NULL || (x->store_tried_ms != 0 && now - x->store_tried_ms <
	    STORE_RETRY_MS))
		return x->st;
	x->store_tried_ms = now;
	if (store_open(&x->st, x->data_dir, &o, err, sizeof(err)) != STORE_OK) {
		x->st = NULL;
		if (strcmp(err, x->store_err) != 0)
			log_info("store not readable (yet): %s; /metrics takes the store "
			    "worker's figures", err);
		snprintf(x->store_err, sizeof(x->store_err), "%s", err);
		return NULL;
	}
	x->store_err[0] = '\0';
	log_debug("store opened read-only");
	return x->st;
}

/* ------------------------------------------------------------ the answer */

static void
answered(struct ww *x)
{
	x->asked_id = 0;
	rx_reset(x);
	web_status_ready(x->web);
}

static void
on_status_piece(struct ww *x, const struct frame *f)
{
	struct unpack u;
	uint32_t total, off;
	size_t n = f->plen - 8;       /* messages.def: at least the two u32 */
	json_t *st;
	json_error_t je;

	if (f->hdr.id != x->asked_id || x->asked_id == 0)
		return;               /* an answer to a question given up on */
	unpack_init(&u, f->payload, f->plen);
	total = unpack_u32(&u);
	off = unpack_u32(&u);
	if (!unpack_ok(&u) || total == 0 || total > STATUS_TEXT_MAX || off != x->rx_len ||
	    n > total - off || (off > 0 && total != x->rx_total)) {
		x->bad_answers++;
		log_warn("status from the supervisor out of order (piece at %u of %u, have %zu);"
		    " dropped", off, total, x->rx_len);
		answered(x);
		return;
	}
	if (off == 0) {
		rx_reset(x);
		if ((x->rx = malloc(total)) == NULL) {
			log_err("out of memory for a status of %u bytes", total);
			answered(x);
			return;
		}
		x->rx_total = total;
	}
	memcpy(x->rx + off, f->payload + 8, n);
	x->rx_len += n;
	if (x->rx_len < x->rx_total)
		return;
	st = json_loadb(x->rx, x->rx_len, 0, &je);
	if (!json_is_object(st)) {
		x->bad_answers++;
		log_warn("status from the supervisor unreadable: %s", st ? "not an object" :
		    je.text);
		json_decref(st);
	} else {
		json_decref(x->status);
		x->status = st;
		x->status_ms = ct_now_ms_mono();
		x->answers++;
	}
	answered(x);
}

/* ------------------------------------------------------------ worker ops */

static int
ww_start(struct worker *w, const struct ct_conf *conf, const struct web_conf *wc)
{
	struct ww *x = calloc(1, sizeof(*x));
	struct web_source src = { .status = src_status, .refresh = src_refresh,
	    .store = src_store, .edge_conf = conf };
	char err[512];

	if (x == NULL) {
		log_err("out of memory");
		return WORKER_RETRY;
	}
	x->w = w;
	x->wc = *wc;
	snprintf(x->data_dir, sizeof(x->data_dir), "%s", conf->data_dir);
	src.arg = x;
	if ((x->web = web_open(worker_base(w), wc, &src, err, sizeof(err))) == NULL) {
		/* Mostly the port still held (the previous web worker, another
		 * program): it may pass, so try again with backoff. */
		log_err("%s", err);
		explicit_bzero(x->wc.token, sizeof(x->wc.token));
		free(x);
		return WORKER_RETRY;
	}
	worker_set_data(w, x);
	log_info("serving http://%s/ (metrics, healthz, status.json, page)%s%s", wc->listen,
	    wc->token[0] ? ", token required" : "", wc->nallow ? ", allow list" : "");
	return 0;
}

static int
ww_configure(struct worker *w, const struct ct_conf *conf, bool first)
{
	struct ww *x = worker_data(w);
	struct web_conf wc;
	int rc;

	if (web_conf_of(conf, &wc) != 0)
		return -1;
	if (first)
		rc = ww_start(w, conf, &wc);
	else if (x != NULL && (memcmp(&wc, &x->wc, sizeof(wc)) != 0 ||
	    strcmp(conf->data_dir, x->data_dir) != 0)) {
		log_info("[http] or data_dir changed: restarting the web worker");
		worker_exit(w, CT_EXIT_RESTART);
		rc = 0;
	} else {
		if (x != NULL)
			web_set_edge_conf(x->web, conf);
		rc = 0;
	}
	explicit_bzero(wc.token, sizeof(wc.token));
	return rc;
}

static void
ww_frame(struct worker *w, const struct frame *f)
{
	struct ww *x = worker_data(w);

	if (x == NULL)
		return;
	if (f->hdr.type == CT_MSG_EDGE_STATUS_REP)
		on_status_piece(x, f);
	else
		fatalx("messages.def routes %s to the web worker, which has no handler for it",
		    ct_msg_name(f->hdr.type));
}

static void
ww_status(struct worker *w, json_t *o)
{
	struct ww *x = worker_data(w);

	if (x == NULL)
		return;
	web_status(x->web, o);
	json_object_set_new(o, "status_age_ms", x->status != NULL ?
	    json_integer(ct_now_ms_mono() - x->status_ms) : json_null());
	json_object_set_new(o, "status_asks", json_integer((json_int_t)x->asks));
	json_object_set_new(o, "status_answers", json_integer((json_int_t)x->answers));
	json_object_set_new(o, "status_bad_answers", json_integer((json_int_t)x->bad_answers));
	json_object_set_new(o, "store", json_string(x->st != NULL ? "open read-only" :
	    x->store_err[0] ? x->store_err : "not opened yet"));
}

static void
ww_shutdown(struct worker *w)
{
	struct ww *x = worker_data(w);

	if (x != NULL) {
		web_close(x->web);
		if (x->st != NULL)
			store_close(x->st);
		json_decref(x->status);
		rx_reset(x);
		explicit_bzero(x->wc.token, sizeof(x->wc.token));
		free(x);
		worker_set_data(w, NULL);
	}
	worker_exit(w, CT_EXIT_OK);
}

const struct worker_ops web_worker_ops = {
	.disabled = web_disabled,
	.optional = true,
	.configure = ww_configure,
	.frame = ww_frame,
	.status = ww_status,
	.shutdown = ww_shutdown,
};
