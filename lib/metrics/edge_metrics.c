/* The carnitrack_* metric families; see edge_metrics.h and README "Metrics". */
#include "metrics/edge_metrics.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf/conf.h"
#include "metrics/edge_status.h"
#include "metrics/prom.h"
#include "store/store.h"

/* A figure a worker reports as one number. */
struct fig {
	const char    *worker;        /* NULL: the supervisor's own field */
	const char    *key;           /* snake_case, dotted into sub-objects */
	const char    *name;
	enum prom_type type;
	double         div;           /* to the unit in the name: ms / 1000 */
	const char    *help;
};

#define SINCE(w) " Counted since the " w " worker started."
static const struct fig figs[] = {
	{ NULL, "uptime_s", "carnitrack_uptime_seconds", PROM_GAUGE, 1,
	  "Seconds since carnitrackd (the supervisor) started." },
	{ "ingest", "counters.records", "carnitrack_records_received_total", PROM_COUNTER, 1,
	  "Weighing records received from scales." SINCE("ingest") },
	{ "ingest", "counters.ack_requests", "carnitrack_ok_requests_total", PROM_COUNTER, 1,
	  "Requests for an OK (controlled transfer prompts) received from scales."
	  SINCE("ingest") },
	{ "ingest", "counters.oks_sent", "carnitrack_oks_sent_total", PROM_COUNTER, 1,
	  "OKs sent to scales, each once every record before its request was on disk."
	  SINCE("ingest") },
	{ "ingest", "counters.rejected_lines", "carnitrack_lines_rejected_total", PROM_COUNTER, 1,
	  "Lines from scales that are not valid DP-401 records." SINCE("ingest") },
	{ "ingest", "counters.quarantined_lines", "carnitrack_lines_quarantined_total",
	    PROM_COUNTER,
	  1, "Record-shaped lines that are no weighing, kept in quarantine before their OK and"
	  " never sent (carnitrackctl events --invalid)." SINCE("ingest") },
	{ "ingest", "counters.invalid_scale_times", "carnitrack_records_invalid_scale_time_total",
	  PROM_COUNTER, 1, "Records with an impossible date or time, kept with the edge's receive"
	  " time and flagged." SINCE("ingest") },
	{ "ingest", "connections", "carnitrack_scale_connections", PROM_GAUGE, 1,
	  "TCP connections from scales open now." },
	{ "ingest", "queued_unconfirmed", "carnitrack_ingest_unconfirmed_events", PROM_GAUGE, 1,
	  "Records received that the store has not yet confirmed (no OK for them yet)." },
	{ "ingest", "reading_paused", "carnitrack_ingest_reading_paused", PROM_GAUGE, 1,
	  "1 while ingest has stopped reading from scales until the store catches up." },
	{ "ingest", "counters.read_pauses", "carnitrack_ingest_read_pauses_total", PROM_COUNTER, 1,
	  "Times ingest stopped reading from scales until the store caught up." SINCE("ingest") },
	{ "store", "events_stored", "carnitrack_events_stored_total", PROM_COUNTER, 1,
	  "Events committed to the store." SINCE("store") },
	{ "store", "events_refused", "carnitrack_events_refused_total", PROM_COUNTER, 1,
	  "Events the store refused because it was full (no OK: the scale keeps them)."
	  SINCE("store") },
	{ "store", "events_duplicate", "carnitrack_store_duplicates_total", PROM_COUNTER, 1,
	  "Events sent to the store again that it already held (kept once)." SINCE("store") },
	{ "store", "commits", "carnitrack_store_commits_total", PROM_COUNTER, 1,
	  "Synced store commits (group commits)." SINCE("store") },
	{ "store", "commit_failures", "carnitrack_store_commit_failures_total", PROM_COUNTER, 1,
	  "Store commits that failed (nothing in them was confirmed)." SINCE("store") },
	{ "store", "pruned", "carnitrack_events_pruned_total", PROM_COUNTER, 1,
	  "Synced events removed by retention." SINCE("store") },
	{ "store", "last_commit_ms", "carnitrack_store_last_commit_duration_seconds", PROM_GAUGE,
	  1000, "Wall time of the last synced store commit." },
	{ "cloud", "connects", "carnitrack_cloud_connects_total", PROM_COUNTER, 1,
	  "Connections made to the cloud (the first one and every reconnect)." SINCE("cloud") },
	{ "cloud", "in_flight", "carnitrack_cloud_in_flight_events", PROM_GAUGE, 1,
	  "Events sent to the cloud and not yet acknowledged (the window)." },
	{ "cloud", "events_sent", "carnitrack_cloud_events_sent_total", PROM_COUNTER, 1,
	  "Events sent to the cloud for the first time." SINCE("cloud") },
	{ "cloud", "events_resent", "carnitrack_cloud_events_resent_total", PROM_COUNTER, 1,
	  "Events sent to the cloud again (no acknowledgement in time, or after a reconnect)."
	  SINCE("cloud") },
	{ "cloud", "acknowledged", "carnitrack_events_acknowledged_total", PROM_COUNTER, 1,
	  "Events the cloud acknowledged, accepted or duplicate." SINCE("cloud") },
	{ "cloud", "duplicates", "carnitrack_events_duplicate_total", PROM_COUNTER, 1,
	  "Events the cloud acknowledged as duplicate (it had them already)." SINCE("cloud") },
	{ "cloud", "rejected", "carnitrack_events_rejected_total", PROM_COUNTER, 1,
	  "Events the cloud rejected; final, the reason is in carnitrackctl events."
	  SINCE("cloud") },
	{ "cloud", "batches_reported", "carnitrack_offline_batches_reported_total", PROM_COUNTER, 1,
	  "Offline batch starts and ends reported to the cloud." SINCE("cloud") },
	{ "cloud", "last_ping_rtt_ms", "carnitrack_cloud_ping_rtt_seconds", PROM_GAUGE, 1000,
	  "Round trip of the last ping to the cloud." },
	{ "cloud", "messages_bad", "carnitrack_cloud_messages_bad_total", PROM_COUNTER, 1,
	  "Messages from the cloud that did not decode." SINCE("cloud") },
	{ "cloud", "messages_rate_limited", "carnitrack_cloud_messages_rate_limited_total",
	  PROM_COUNTER, 1, "Messages from the cloud dropped by the rate limit." SINCE("cloud") },
	{ "cloud", "ctrl_frames_limited", "carnitrack_cloud_control_frames_limited_total",
	  PROM_COUNTER, 1, "Times reading from the cloud paused for its rate of WebSocket control"
	  " frames (ping flood)." SINCE("cloud") },
	{ "cloud", "dropped_not_reading", "carnitrack_cloud_links_dropped_not_reading_total",
	  PROM_COUNTER, 1, "Cloud links dropped because the cloud did not read what the edge sent."
	  SINCE("cloud") },
	{ "store", "lines_quarantined", "carnitrack_store_lines_quarantined_total", PROM_COUNTER, 1,
	  "Quarantined lines committed to the store." SINCE("store") },
	{ "store", "state_bytes", "carnitrack_store_state_bytes", PROM_GAUGE, 1,
	  "Bytes of the store held by cloud-driven state (sessions, devices, PLU)." },
	{ "store", "state_quota_bytes", "carnitrack_store_state_quota_bytes", PROM_GAUGE, 1,
	  "The share of the map cloud-driven state may take ([store] state_quota)." },
	{ "store", "state_refused", "carnitrack_store_state_refused_total", PROM_COUNTER, 1,
	  "Session, device or PLU rows refused at the state quota (events never are)."
	  SINCE("store") },
	{ "store", "sessions_held", "carnitrack_store_sessions_held", PROM_GAUGE, 1,
	  "Sessions for scales not seen yet, held until the scale appears." },
	{ "store", "sessions_held_dropped", "carnitrack_store_sessions_held_dropped_total",
	  PROM_COUNTER, 1, "Held sessions pushed out by newer ones (the table is bounded)."
	  SINCE("store") },
	{ "web", "counters.requests", "carnitrack_http_requests_total", PROM_COUNTER, 1,
	  "HTTP requests to the web worker." SINCE("web") },
	{ "web", "connections", "carnitrack_http_connections", PROM_GAUGE, 1,
	  "HTTP connections open to the web worker." },
};

#define STR_(x) #x
#define STR(x) STR_(x)
#define CAP_TEXT STR(EDGE_METRICS_SCALES_MAX)

static const char *worker_states[] = { "starting", "running", "backoff", "failed", "stopped",
    "disabled" };
static const char *link_states[] = { "disabled", "retrying", "connecting", "registering", "up" };

static void
one(struct prom *p, const char *name, enum prom_type type, const char *help, bool have,
    double v)
{
	prom_family(p, name, type, help);
	if (have)
		prom_sample(p, NULL, 0, v);
}

static void
simple_figures(struct prom *p, json_t *status)
{
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		const struct fig *f = &figs[i];
		json_t *src = f->worker ? es_worker_status(status, f->worker) : status;
		double v;
		bool have = es_num(src, f->key, &v);

		one(p, f->name, f->type, f->help, have, v / f->div);
	}
}

static void
worker_families(struct prom *p, json_t *status)
{
	json_t *workers = json_object_get(status, "workers"), *w;
	size_t i;
	double v;

	prom_family(p, "carnitrack_worker_up", PROM_GAUGE,
	    "1 when the worker runs (state running), else 0 (disabled included).");
	json_array_foreach(workers, i, w) {
		struct prom_label l = { "worker", es_str(w, "name") };
		if (l.value != NULL)
			prom_sample(p, &l, 1, es_str(w, "state") &&
			    strcmp(es_str(w, "state"), "running") == 0);
	}
	prom_family(p, "carnitrack_worker_state", PROM_GAUGE,
	    "1 for the state each worker is in (starting, running, backoff, failed, stopped,"
	    " disabled by the config).");
	json_array_foreach(workers, i, w) {
		const char *st = es_str(w, "state");
		for (size_t k = 0; k < sizeof(worker_states) / sizeof(worker_states[0]); k++) {
			struct prom_label l[2] = { { "worker", es_str(w, "name") },
			    { "state", worker_states[k] } };
			if (l[0].value != NULL)
				prom_sample(p, l, 2, st && strcmp(st, worker_states[k]) == 0);
		}
	}
	prom_family(p, "carnitrack_worker_restarts_total", PROM_COUNTER,
	    "Times the supervisor started the worker again, since carnitrackd started.");
	json_array_foreach(workers, i, w) {
		struct prom_label l = { "worker", es_str(w, "name") };
		if (l.value != NULL && es_num(w, "restarts", &v))
			prom_sample(p, &l, 1, v);
	}
	prom_family(p, "carnitrack_worker_uptime_seconds", PROM_GAUGE,
	    "Seconds since the worker became ready (0 when it is not running).");
	json_array_foreach(workers, i, w) {
		struct prom_label l = { "worker", es_str(w, "name") };
		if (l.value != NULL && es_num(w, "uptime_s", &v))
			prom_sample(p, &l, 1, v);
	}
	prom_family(p, "carnitrack_worker_frames_dropped_total", PROM_COUNTER,
	    "Frames the worker could not hand to another worker (its hold for one that was "
	    "restarting full, or the channel full).");
	json_array_foreach(workers, i, w) {
		struct prom_label l = { "worker", es_str(w, "name") };
		if (l.value != NULL && es_num(es_get(w, "status"), "frames_dropped", &v))
			prom_sample(p, &l, 1, v);
	}
}

static void
health_families(struct prom *p, json_t *status)
{
	char why[8];
	struct prom_label l = { "version", es_str(status, "daemon_version") };

	one(p, "carnitrack_status_available", PROM_GAUGE,
	    "1 when the supervisor answered the status request behind this scrape.",
	    true, status != NULL);
	one(p, "carnitrack_healthy", PROM_GAUGE,
	    "1 when every worker runs and none reports a fault (what /healthz says).",
	    status != NULL, es_healthy(status, why, sizeof(why)));
	prom_family(p, "carnitrack_build_info", PROM_GAUGE, "The running carnitrackd version.");
	if (l.value != NULL)
		prom_sample(p, &l, 1, 1);
}

static void
cloud_link(struct prom *p, json_t *status)
{
	const char *state = es_str(es_worker_status(status, "cloud"), "link_state");

	one(p, "carnitrack_cloud_link_up", PROM_GAUGE,
	    "1 when the cloud link is up (registered, events flow).",
	    state != NULL, state && strcmp(state, "up") == 0);
	prom_family(p, "carnitrack_cloud_link_state", PROM_GAUGE,
	    "1 for the state the cloud link is in "
	    "(disabled, retrying, connecting, registering, up).");
	for (size_t k = 0; state && k < sizeof(link_states) / sizeof(link_states[0]); k++) {
		struct prom_label l = { "state", link_states[k] };
		prom_sample(p, &l, 1, strcmp(state, link_states[k]) == 0);
	}
}

/* Backlog and store use: from the store itself when it is open (right
 * while the store worker restarts), else as the store worker reported. */
static void
store_figures(struct prom *p, json_t *status, struct store *st, int64_t now_ms)
{
	json_t *sw = es_worker_status(status, "store");
	struct store_stats ss;
	bool direct = st != NULL && store_stats_get(st, &ss) == STORE_OK;
	double pending = 0, age = 0, open = 0, size = 0, pct = 0, used = 0, events = 0;
	const char *state = es_str(sw, "state");
	bool h_pending = es_num(sw, "pending", &pending),
	    h_age = es_num(sw, "oldest_pending_age_s", &age),
	    h_open = es_num(sw, "open_batches", &open),
	    h_size = es_num(sw, "map_size", &size),
	    h_used = h_size && es_num(sw, "map_use_pct", &pct),
	    h_events = es_num(sw, "events", &events);
	bool full = state != NULL && strcmp(state, "store_full") == 0, h_full = state != NULL;
	bool cannot = state != NULL && strcmp(state, "cannot_commit") == 0;
	double quar = 0;
	bool h_quar = es_num(sw, "quarantined", &quar);

	if (h_used)
		used = pct / 100 * size;
	if (direct) {
		h_pending = h_age = h_open = h_size = h_used = h_events = h_full = true;
		pending = (double)ss.pending;
		age = ss.oldest_pending_ms > 0 && now_ms > ss.oldest_pending_ms ?
		    (double)(now_ms - ss.oldest_pending_ms) / 1000 : 0;
		open = ss.open_batches;
		size = (double)ss.map_size;
		used = (double)ss.used_bytes;
		events = (double)ss.events;
		full = ss.full;
		quar = (double)ss.quarantined;
		h_quar = true;
	}
	one(p, "carnitrack_backlog_events", PROM_GAUGE,
	    "Events stored and not yet acknowledged by the cloud.", h_pending, pending);
	one(p, "carnitrack_backlog_oldest_age_seconds", PROM_GAUGE,
	    "Age of the oldest event not yet acknowledged by the cloud (0 when none).", h_age, age);
	one(p, "carnitrack_offline_batches_open", PROM_GAUGE,
	    "Offline batches open now (one per scale weighing while the cloud is away).",
	    h_open, open);
	one(p, "carnitrack_store_events", PROM_GAUGE,
	    "Events kept in the store (pending and synced, until retention).", h_events, events);
	one(p, "carnitrack_store_map_size_bytes", PROM_GAUGE,
	    "Size of the store's LMDB map ([store] map_size).", h_size, size);
	one(p, "carnitrack_store_map_used_bytes", PROM_GAUGE,
	    "Bytes of the LMDB map holding data; events are refused at 80% of the map.",
	    h_used, used);
	one(p, "carnitrack_store_full", PROM_GAUGE,
	    "1 while the store refuses new events because its map is at the high-water mark.",
	    h_full, full);
	one(p, "carnitrack_store_cannot_commit", PROM_GAUGE,
	    "1 while the store's commits fail (the disk is full or failing: ENOSPC, EIO); scales"
	    " get no OK.", state != NULL, cannot);
	one(p, "carnitrack_store_quarantined_lines", PROM_GAUGE,
	    "Quarantined lines kept in the store (until retention).", h_quar, quar);
}

/* The scales with series: configured ones first, then those connected. */
#define CANDIDATES (CT_CONF_MAX_SCALES + 2 * EDGE_METRICS_SCALES_MAX)
struct scale {
	const char *id;
	json_t     *row;       /* ingest's status row, NULL if ingest has none */
};

static json_t *
ingest_row(json_t *rows, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
		if (es_str(r, "id") != NULL && strcmp(es_str(r, "id"), id) == 0)
			return r;
	return NULL;
}

static bool
connected(json_t *row)
{
	const char *s = es_str(row, "status");

	return s != NULL && strcmp(s, "offline") != 0;
}

static size_t
scale_set(json_t *status, const struct ct_conf *conf, struct scale *out)
{
	json_t *rows = es_get(es_worker_status(status, "ingest"), "scales"), *r;
	size_t n = 0, i;

	for (int k = 0; conf != NULL && k < conf->nscales && n < CANDIDATES; k++) {
		out[n].id = conf->scales[k].id;
		out[n++].row = ingest_row(rows, conf->scales[k].id);
	}
	json_array_foreach(rows, i, r) {
		const char *id = es_str(r, "id");
		bool dup = false;

		if (id == NULL || !connected(r) || n >= CANDIDATES)
			continue;
		for (size_t k = 0; k < n && !dup; k++)
			dup = strcmp(out[k].id, id) == 0;
		if (!dup) {
			out[n].id = id;
			out[n++].row = r;
		}
	}
	return n;
}

static void
scale_families(struct prom *p, json_t *status, struct store *st, const struct ct_conf *conf,
    int64_t now_ms)
{
	struct scale set[CANDIDATES];
	size_t n = scale_set(status, conf, set);
	double v;

	prom_family(p, "carnitrack_scale_connected", PROM_GAUGE,
	    "1 when the scale has a connection open (online or stale), else 0.");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		prom_sample(p, &l, 1, connected(set[i].row));
	}
	prom_family(p, "carnitrack_scale_stale", PROM_GAUGE,
	    "1 when the scale is connected but has sent nothing for stale_after heartbeats.");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		const char *s = es_str(set[i].row, "status");
		prom_sample(p, &l, 1, s != NULL && strcmp(s, "stale") == 0);
	}
	prom_family(p, "carnitrack_scale_last_heartbeat_age_seconds", PROM_GAUGE,
	    "Seconds since the scale's last heartbeat (only scales that sent one).");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		long long ms = es_iso_ms(es_str(set[i].row, "last_heartbeat"));
		if (ms > 0)
			prom_sample(p, &l, 1, now_ms > ms ? (double)(now_ms - ms) / 1000 : 0);
	}
	prom_family(p, "carnitrack_scale_records_today", PROM_GAUGE,
	    "Records from the scale today (the site's day, [edge] timezone), "
	    "since ingest started.");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		if (es_num(set[i].row, "events_today", &v))
			prom_sample(p, &l, 1, v);
	}
	prom_family(p, "carnitrack_scale_records_total", PROM_COUNTER,
	    "Records stored from the scale, from the store's device registry.");
	for (size_t i = 0; st != NULL && i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		struct store_device d;
		if (store_device_get(st, set[i].id, &d) == STORE_OK)
			prom_sample(p, &l, 1, (double)d.events);
	}
	prom_family(p, "carnitrack_scale_last_weight_grams", PROM_GAUGE,
	    "Net weight of the scale's last record, since ingest started.");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		if (es_num(set[i].row, "last_weight_g", &v))
			prom_sample(p, &l, 1, v);
	}
	prom_family(p, "carnitrack_scale_last_record_age_seconds", PROM_GAUGE,
	    "Seconds since the scale's last record (only scales that sent one since ingest "
	    "started).");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		long long ms = es_iso_ms(es_str(set[i].row, "last_record"));
		if (ms > 0)
			prom_sample(p, &l, 1, now_ms > ms ? (double)(now_ms - ms) / 1000 : 0);
	}
	prom_family(p, "carnitrack_scale_rejected_lines_total", PROM_COUNTER,
	    "Lines from the scale that are not valid records, since ingest started.");
	for (size_t i = 0; i < n; i++) {
		struct prom_label l = { "device", set[i].id };
		if (es_num(set[i].row, "rejected_lines", &v))
			prom_sample(p, &l, 1, v);
	}
}

/* Histograms a worker keeps (metrics/hist.h) and puts in its status. */
static void
histogram(struct prom *p, json_t *status, const char *worker, const char *key,
    const char *name, const char *help)
{
	json_t *o = es_get(es_worker_status(status, worker), key);
	struct hist h;
	char err[128];

	prom_family(p, name, PROM_HISTOGRAM, help);
	if (o != NULL && hist_from_json(o, &h, err, sizeof(err)) == 0)
		prom_histogram(p, NULL, 0, &h);
}

int
edge_metrics_write(struct evbuffer *out, json_t *status, struct store *st,
    const struct ct_conf *conf, int64_t now_ms, char *err, size_t errlen)
{
	struct prom p;

	prom_init(&p, out, EDGE_METRICS_SCALES_MAX);
	health_families(&p, status);
	simple_figures(&p, status);
	worker_families(&p, status);
	cloud_link(&p, status);
	store_figures(&p, status, st, now_ms);
	histogram(&p, status, "store", "commit_seconds", "carnitrack_store_commit_duration_seconds",
	    "Wall time of synced store commits.");
	histogram(&p, status, "ingest", "ok_latency_seconds", "carnitrack_scale_ok_latency_seconds",
	    "From a scale's request for an OK to the OK sent (everything before it on disk).");
	scale_families(&p, status, st, conf, now_ms);
	/* Last, so it counts every family's omissions. */
	one(&p, "carnitrack_metrics_series_omitted", PROM_GAUGE,
	    "Series left out of this scrape past the cap of " CAP_TEXT " per family "
	    "(per-scale families: configured and connected scales only).",
	    true, (double)prom_omitted(&p));
	if (prom_error(&p) != NULL) {
		snprintf(err, errlen, "%s", prom_error(&p));
		return -1;
	}
	return 0;
}
