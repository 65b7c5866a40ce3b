/*
 * lib/metrics: the Prometheus text writer (format, escaping, naming rules,
 * series cap), the fixed-bucket histogram and its JSON form, the status
 * getters and health verdict, and the edge's metric set from a status
 * object. Real parsers read the same output in test_metrics_parse.sh.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf/conf.h"
#include "metrics/edge_metrics.h"
#include "metrics/edge_status.h"
#include "metrics/prom.h"

static struct evbuffer *out;
static char text[256 * 1024];

static void
setup(void)
{
	out = evbuffer_new();
	ck_assert_ptr_nonnull(out);
}

static void
teardown(void)
{
	evbuffer_free(out);
}

static const char *
written(void)
{
	size_t n = evbuffer_get_length(out);

	ck_assert_uint_lt(n, sizeof(text));
	evbuffer_copyout(out, text, n);
	text[n] = '\0';
	return text;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ---- writer ---- */

START_TEST(test_counter_and_gauge_lines)
{
	struct prom p;
	struct prom_label l[2] = { { "worker", "ingest" }, { "state", "running" } };

	prom_init(&p, out, 10);
	prom_family(&p, "x_records_received_total", PROM_COUNTER, "Records received.");
	prom_sample(&p, NULL, 0, 60);
	prom_family(&p, "x_worker_state", PROM_GAUGE, "State.");
	prom_sample(&p, l, 2, 1);
	ck_assert_ptr_null(prom_error(&p));
	ck_assert_str_eq(written(),
	    "# HELP x_records_received_total Records received.\n"
	    "# TYPE x_records_received_total counter\n"
	    "x_records_received_total 60\n"
	    "# HELP x_worker_state State.\n"
	    "# TYPE x_worker_state gauge\n"
	    "x_worker_state{worker=\"ingest\",state=\"running\"} 1\n");
}
END_TEST

START_TEST(test_values)
{
	struct prom p;
	double v[] = { 0, -3, 0.5, 1e-6, 123456789012.0, 0.1, INFINITY, -INFINITY, NAN, 1e300 };
	const char *want =
	    "x_v 0\nx_v -3\nx_v 0.5\nx_v 1e-06\nx_v 123456789012\nx_v 0.1\n"
	    "x_v +Inf\nx_v -Inf\nx_v NaN\nx_v 1e+300\n";

	prom_init(&p, out, 100);
	prom_family(&p, "x_v", PROM_GAUGE, "v");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		prom_sample(&p, NULL, 0, v[i]);
	ck_assert_ptr_null(prom_error(&p));
	ck_assert_ptr_nonnull(strstr(written(), want));
}
END_TEST

START_TEST(test_escaping)
{
	struct prom p;
	struct prom_label l = { "device", "a\\b\"c\nd" };
	struct prom_label tr = { "product", "KUŞBAŞI İÇ YAĞ ÖĞÜ" };
	struct prom_label bad = { "device", "x\xff\xc3(y\xe2\x82" };

	prom_init(&p, out, 10);
	prom_family(&p, "x_g", PROM_GAUGE, "back\\slash\nnew line \"quotes\" stay");
	prom_sample(&p, &l, 1, 1);
	prom_sample(&p, &tr, 1, 2);
	prom_sample(&p, &bad, 1, 3);
	ck_assert_ptr_null(prom_error(&p));
	ck_assert_ptr_nonnull(strstr(written(),
	    "# HELP x_g back\\\\slash\\nnew line \"quotes\" stay\n"));
	ck_assert_ptr_nonnull(strstr(written(), "x_g{device=\"a\\\\b\\\"c\\nd\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(written(), "x_g{product=\"KUŞBAŞI İÇ YAĞ ÖĞÜ\"} 2\n"));
	/* invalid UTF-8 bytes become '?', the rest stays */
	ck_assert_ptr_nonnull(strstr(written(), "x_g{device=\"x?" "?(y?" "?\"} 3\n"));
}
END_TEST

START_TEST(test_naming_rules)
{
	static const struct { const char *name; enum prom_type t; } bad[] = {
		{ "x_records", PROM_COUNTER },          /* counter without _total */
		{ "x_backlog_total", PROM_GAUGE },      /* gauge with _total */
		{ "x_lat_seconds_bucket", PROM_HISTOGRAM },
		{ "9x", PROM_GAUGE }, { "x-y", PROM_GAUGE }, { "", PROM_GAUGE },
		{ "x y", PROM_GAUGE }, { "x\n", PROM_GAUGE },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct prom p;
		prom_init(&p, out, 10);
		prom_family(&p, bad[i].name, bad[i].t, "h");
		ck_assert_msg(prom_error(&p) != NULL, "'%s' accepted", bad[i].name);
	}
	ck_assert(prom_valid_name("carnitrack:x_y9"));
	ck_assert(!prom_valid_label_name("__name__"));
	ck_assert(!prom_valid_label_name("a:b"));
	ck_assert(prom_valid_label_name("device"));
}
END_TEST

START_TEST(test_mistakes_are_sticky)
{
	struct prom p;
	struct prom_label l = { "__x", "1" }, le = { "le", "1" };
	struct hist h;
	size_t len;

	/* a sample before any family */
	prom_init(&p, out, 10);
	prom_sample(&p, NULL, 0, 1);
	ck_assert_ptr_nonnull(prom_error(&p));
	/* once wrong, nothing more is written */
	len = evbuffer_get_length(out);
	prom_family(&p, "x_ok", PROM_GAUGE, "h");
	ck_assert_uint_eq(evbuffer_get_length(out), len);

	prom_init(&p, out, 10);
	prom_family(&p, "x_g", PROM_GAUGE, "h");
	prom_sample(&p, &l, 1, 1);
	ck_assert_ptr_nonnull(prom_error(&p));

	prom_init(&p, out, 10);
	prom_family(&p, "x_c_total", PROM_COUNTER, "h");
	prom_sample(&p, NULL, 0, -1);
	ck_assert_ptr_nonnull(strstr(prom_error(&p), "counter value"));

	/* a family twice, even with another between */
	prom_init(&p, out, 10);
	prom_family(&p, "x_a", PROM_GAUGE, "h");
	prom_family(&p, "x_b", PROM_GAUGE, "h");
	prom_family(&p, "x_a", PROM_GAUGE, "h");
	ck_assert_ptr_nonnull(strstr(prom_error(&p), "twice"));

	/* le is the histogram's own label; a gauge sample in a histogram */
	hist_init(&h, hist_latency_bounds, hist_latency_nbounds);
	prom_init(&p, out, 10);
	prom_family(&p, "x_h_seconds", PROM_HISTOGRAM, "h");
	prom_histogram(&p, &le, 1, &h);
	ck_assert_ptr_nonnull(prom_error(&p));
	prom_init(&p, out, 10);
	prom_family(&p, "x_h_seconds", PROM_HISTOGRAM, "h");
	prom_sample(&p, NULL, 0, 1);
	ck_assert_ptr_nonnull(prom_error(&p));
}
END_TEST

START_TEST(test_series_cap)
{
	struct prom p;
	char id[8][16];

	prom_init(&p, out, 3);
	prom_family(&p, "x_scale_connected", PROM_GAUGE, "h");
	for (int i = 0; i < 8; i++) {
		struct prom_label l = { "device", id[i] };
		snprintf(id[i], sizeof(id[i]), "SCALE-%02d", i);
		prom_sample(&p, &l, 1, 1);
	}
	prom_family(&p, "x_other", PROM_GAUGE, "h");   /* the cap is per family */
	prom_sample(&p, NULL, 0, 1);
	ck_assert_ptr_null(prom_error(&p));
	ck_assert_int_eq(count(written(), "x_scale_connected{"), 3);
	ck_assert_ptr_nonnull(strstr(written(), "SCALE-02"));
	ck_assert_ptr_null(strstr(written(), "SCALE-03"));
	ck_assert_uint_eq(prom_omitted(&p), 5);
	ck_assert_ptr_nonnull(strstr(written(), "x_other 1\n"));
}
END_TEST

START_TEST(test_histogram_lines)
{
	static const double b[] = { 0.001, 0.01, 0.1 };
	struct prom p;
	struct hist h;
	struct prom_label l = { "worker", "store" };

	ck_assert_int_eq(hist_init(&h, b, 3), 0);
	hist_observe(&h, 0.0005);
	hist_observe(&h, 0.001);     /* le is "less than or equal" */
	hist_observe(&h, 0.05);
	hist_observe(&h, 3);
	hist_observe(&h, NAN);       /* no measurement: ignored */
	prom_init(&p, out, 10);
	prom_family(&p, "x_commit_duration_seconds", PROM_HISTOGRAM, "h");
	prom_histogram(&p, &l, 1, &h);
	ck_assert_ptr_null(prom_error(&p));
	ck_assert_ptr_nonnull(strstr(written(),
	    "x_commit_duration_seconds_bucket{worker=\"store\",le=\"0.001\"} 2\n"
	    "x_commit_duration_seconds_bucket{worker=\"store\",le=\"0.01\"} 2\n"
	    "x_commit_duration_seconds_bucket{worker=\"store\",le=\"0.1\"} 3\n"
	    "x_commit_duration_seconds_bucket{worker=\"store\",le=\"+Inf\"} 4\n"
	    "x_commit_duration_seconds_sum{worker=\"store\"} 3.0515\n"
	    "x_commit_duration_seconds_count{worker=\"store\"} 4\n"));
}
END_TEST

START_TEST(test_output_cap)
{
	struct prom p;
	char big[300];
	int i;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	prom_init(&p, out, 100000);
	prom_family(&p, "x_g", PROM_GAUGE, "h");
	for (i = 0; i < 10000 && prom_error(&p) == NULL; i++) {
		char v[16];
		struct prom_label l[2] = { { "a", big }, { "b", v } };
		snprintf(v, sizeof(v), "%d", i);
		prom_sample(&p, l, 2, i);
	}
	ck_assert_ptr_nonnull(prom_error(&p));
	ck_assert_uint_le(evbuffer_get_length(out), PROM_OUT_MAX);
}
END_TEST

/* ---- histogram ---- */

START_TEST(test_hist_json_round_trip)
{
	struct hist h, back;
	json_t *j;
	char err[128];

	hist_init(&h, hist_latency_bounds, hist_latency_nbounds);
	for (int i = 0; i < 1000; i++)
		hist_observe(&h, i * 0.0001);
	ck_assert_ptr_nonnull(j = hist_to_json(&h));
	ck_assert_int_eq(hist_from_json(j, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.nbounds, h.nbounds);
	ck_assert_uint_eq(back.count, 1000);
	ck_assert_mem_eq(back.buckets, h.buckets, sizeof(h.buckets));
	ck_assert_double_eq_tol(back.sum, h.sum, 1e-9);
	json_decref(j);
}
END_TEST

START_TEST(test_hist_json_bad)
{
	static const char *bad[] = {
		"[]",
		"{\"bounds\":[1,2],\"buckets\":[1,1],\"sum\":1,\"count\":2}",        /* one short */
		"{\"bounds\":[2,1],\"buckets\":[1,1,0],\"sum\":1,\"count\":2}",      /* order */
		"{\"bounds\":[1,2],\"buckets\":[1,1,0],\"sum\":1,\"count\":3}",      /* count */
		"{\"bounds\":[1,2],\"buckets\":[1,-1,0],\"sum\":1,\"count\":0}",
		"{\"bounds\":[1,\"2\"],\"buckets\":[1,1,0],\"sum\":1,\"count\":2}",
		"{\"bounds\":[1,2],\"buckets\":[1,1,0],\"count\":2}",                /* no sum */
		"{\"bounds\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25],"
		    "\"buckets\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
		    "\"sum\":0,\"count\":0}",                                         /* too many */
	};
	struct hist h;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_msg(hist_from_json(j, &h, err, sizeof(err)) != 0, "accepted %s", bad[i]);
		json_decref(j);
	}
}
END_TEST

/* ---- status getters and health ---- */

START_TEST(test_status_getters)
{
	json_t *s = json_loads("{\"workers\":[{\"name\":\"ingest\",\"status\":"
	    "{\"counters\":{\"oks_sent\":7,\"readPauses\":4},\"reading_paused\":true,"
	    "\"queued_unconfirmed\":3}}]}", 0, NULL);
	double v;

	ck_assert_ptr_nonnull(s);
	/* snake_case only: a camelCase spelling is not read (issue 17) */
	ck_assert(!es_num(es_worker_status(s, "ingest"), "counters.read_pauses", &v));
	ck_assert(es_num(es_worker_status(s, "ingest"), "counters.oks_sent", &v));
	ck_assert_double_eq(v, 7);
	ck_assert(es_num(es_worker_status(s, "ingest"), "reading_paused", &v));
	ck_assert_double_eq(v, 1);
	ck_assert(es_num(es_worker_status(s, "ingest"), "queued_unconfirmed", &v));
	ck_assert(!es_num(es_worker_status(s, "ingest"), "counters.nothing", &v));
	ck_assert(!es_num(es_worker_status(s, "store"), "pending", &v));
	json_decref(s);
	ck_assert_int_eq(es_iso_ms("1970-01-01T00:00:01.5Z"), 1500);
	ck_assert_int_eq(es_iso_ms("2026-01-30T10:00:00Z"), 1769767200000LL);
	ck_assert_int_eq(es_iso_ms("2026-01-30T10:00:00"), -1);
	ck_assert_int_eq(es_iso_ms("yesterday"), -1);
}
END_TEST

START_TEST(test_health_reasons)
{
	char why[256];
	json_t *ok = json_loads("{\"health\":\"ok\",\"workers\":[]}", 0, NULL);
	json_t *bad = json_loads("{\"health\":\"degraded\",\"workers\":["
	    "{\"name\":\"ingest\",\"state\":\"backoff\",\"why\":\"port 8899 in use\"},"
	    "{\"name\":\"store\",\"state\":\"running\",\"status\":{\"health\":\"degraded\","
	    "\"state\":\"store_full\"}},"
	    "{\"name\":\"cloud\",\"state\":\"running\",\"status\":{\"health\":\"degraded\","
	    "\"link_state\":\"retrying\",\"last_error\":\"connection refused\"}}]}", 0, NULL);

	ck_assert(es_healthy(ok, why, sizeof(why)));
	ck_assert_str_eq(why, "ok");
	ck_assert(!es_healthy(bad, why, sizeof(why)));
	ck_assert_str_eq(why, "ingest worker backoff: port 8899 in use; store store_full; "
	    "cloud link retrying: connection refused");
	ck_assert(!es_healthy(NULL, why, sizeof(why)));
	ck_assert_str_eq(why, "carnitrackd did not answer");
	/* a short buffer is cut, never overrun */
	ck_assert(!es_healthy(bad, why, 10));
	ck_assert_uint_eq(strlen(why), 9);
	json_decref(ok);
	json_decref(bad);
}
END_TEST

/* ---- the edge's metric set ---- */

static const char *fixture =
"{\"ok\":true,\"daemon_version\":\"0.1.0\",\"pid\":1,\"uptime_s\":40,\"health\":\"degraded\","
" \"workers\":["
"  {\"name\":\"ingest\",\"pid\":2,\"state\":\"running\",\"uptime_s\":40,\"restarts\":1,"
"   \"status\":{\"frames_dropped\":3,"
"    \"scales\":[{\"id\":\"SCALE-01\",\"status\":\"online\",\"events_today\":30,"
"      \"last_heartbeat\":\"2026-01-30T10:00:00.000Z\",\"rejected_lines\":2},"
"     {\"id\":\"SCALE-09\",\"status\":\"offline\",\"events_today\":5,\"rejected_lines\":0},"
"     {\"id\":\"UNREGISTERED-10.0.0.7\",\"status\":\"stale\",\"events_today\":0}],"
"    \"counters\":{\"records\":60,\"oks_sent\":58,\"ack_requests\":59,\"rejected_lines\":2,"
"      \"read_pauses\":0},"
"    \"connections\":2,\"queued_unconfirmed\":1,\"reading_paused\":false,"
"    \"ok_latency_seconds\":{\"bounds\":[0.001,0.01],\"buckets\":[50,8,0],\"sum\":0.1,"
"      \"count\":58}}},"
"  {\"name\":\"store\",\"pid\":3,\"state\":\"running\",\"uptime_s\":40,\"restarts\":0,"
"   \"status\":{\"state\":\"ok\",\"health\":\"ok\",\"pending\":12,\"oldest_pending_age_s\":9,"
"    \"open_batches\":1,\"map_use_pct\":25,\"map_size\":1048576,\"events\":60,"
"    \"last_commit_ms\":2.5,\"events_stored\":60,\"events_refused\":0,\"commits\":44}},"
"  {\"name\":\"cloud\",\"pid\":null,\"state\":\"backoff\",\"uptime_s\":0,\"restarts\":3,"
"   \"why\":\"exit 1\"}]}";

static json_t *
load(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);

	ck_assert_msg(j != NULL, "fixture: %s", je.text);
	return j;
}

START_TEST(test_edge_metrics_from_status)
{
	json_t *s = load(fixture);
	struct ct_conf *c = calloc(1, sizeof(*c));
	char err[256];
	const char *t;
	int64_t now = es_iso_ms("2026-01-30T10:00:07.000Z");

	ck_assert_ptr_nonnull(c);
	conf_defaults(c);
	c->nscales = 1;
	snprintf(c->scales[0].id, sizeof(c->scales[0].id), "SCALE-09");
	ck_assert_int_eq(edge_metrics_write(out, s, NULL, c, now, err, sizeof(err)), 0);
	t = written();
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_status_available 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_healthy 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_records_received_total 60\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_oks_sent_total 58\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_backlog_events 12\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_backlog_oldest_age_seconds 9\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_store_map_used_bytes 262144\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_store_last_commit_duration_seconds 0.0025\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_worker_restarts_total{worker=\"cloud\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_worker_state{worker=\"cloud\",state=\"backoff\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_worker_up{worker=\"cloud\"} 0\n"));
	/* kept by each worker in its own status (the frames it could not hand over) */
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_worker_frames_dropped_total{worker=\"ingest\"} 3\n"));
	/* the cloud worker is down: no link figures rather than made-up ones */
	ck_assert_ptr_null(strstr(t, "\ncarnitrack_cloud_link_up "));
	ck_assert_ptr_null(strstr(t, "\ncarnitrack_events_acknowledged_total "));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE carnitrack_events_acknowledged_total counter\n"));
	/* per scale: the configured one (offline) and the connected ones */
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_scale_connected{device=\"SCALE-09\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_scale_connected{device=\"SCALE-01\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_scale_stale{device=\"UNREGISTERED-10.0.0.7\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_scale_last_heartbeat_age_seconds{device=\"SCALE-01\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_scale_records_today{device=\"SCALE-01\"} 30\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_scale_rejected_lines_total{device=\"SCALE-01\"} 2\n"));
	/* the configured one comes first */
	ck_assert(strstr(t, "connected{device=\"SCALE-09\"}") <
	    strstr(t, "connected{device=\"SCALE-01\"}"));
	/* the worker's histogram, cumulative */
	ck_assert_ptr_nonnull(strstr(t,
	    "\ncarnitrack_scale_ok_latency_seconds_bucket{le=\"0.001\"} 50\n"
	    "carnitrack_scale_ok_latency_seconds_bucket{le=\"0.01\"} 58\n"
	    "carnitrack_scale_ok_latency_seconds_bucket{le=\"+Inf\"} 58\n"));
	/* no store worker histogram in the status: family without samples */
	ck_assert_ptr_null(strstr(t, "carnitrack_store_commit_duration_seconds_bucket"));
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_metrics_series_omitted 0\n"));
	json_decref(s);
	free(c);
}
END_TEST

START_TEST(test_edge_metrics_without_status)
{
	char err[256];
	const char *t;

	ck_assert_int_eq(edge_metrics_write(out, NULL, NULL, NULL, 0, err, sizeof(err)), 0);
	t = written();
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_status_available 0\n"));
	ck_assert_ptr_null(strstr(t, "\ncarnitrack_healthy "));
	ck_assert_int_eq(count(t, "# TYPE "), count(t, "# HELP "));
}
END_TEST

/* 300 connected scales: 128 series per per-scale family, the rest counted. */
START_TEST(test_edge_metrics_scale_cap)
{
	json_t *s = load("{\"health\":\"ok\",\"workers\":[{\"name\":\"ingest\","
	    "\"state\":\"running\",\"status\":{\"scales\":[]}}]}");
	json_t *rows = es_get(es_worker_status(s, "ingest"), "scales");
	char err[256], id[32];
	const char *t;

	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "SCALE-%03d", i);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:i}", "id", id,
		    "status", "online", "events_today", i));
	}
	ck_assert_int_eq(edge_metrics_write(out, s, NULL, NULL, 0, err, sizeof(err)), 0);
	t = written();
	ck_assert_int_eq(count(t, "\ncarnitrack_scale_connected{"), EDGE_METRICS_SCALES_MAX);
	ck_assert_int_eq(count(t, "\ncarnitrack_scale_records_today{"), EDGE_METRICS_SCALES_MAX);
	/* connected, stale, records today: three families of 300 - 128 each */
	ck_assert_ptr_nonnull(strstr(t, "\ncarnitrack_metrics_series_omitted 516\n"));
	json_decref(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_counter_and_gauge_lines);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_naming_rules);
	tcase_add_test(tc, test_mistakes_are_sticky);
	tcase_add_test(tc, test_series_cap);
	tcase_add_test(tc, test_histogram_lines);
	tcase_add_test(tc, test_output_cap);
	tcase_add_test(tc, test_hist_json_round_trip);
	tcase_add_test(tc, test_hist_json_bad);
	tcase_add_test(tc, test_status_getters);
	tcase_add_test(tc, test_health_reasons);
	tcase_add_test(tc, test_edge_metrics_from_status);
	tcase_add_test(tc, test_edge_metrics_without_status);
	tcase_add_test(tc, test_edge_metrics_scale_cap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
