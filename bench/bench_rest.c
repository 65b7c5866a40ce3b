/*
 * bench_rest: how fast lib/http + lib/rest drain a backlog to a REST cloud.
 * Sends N events as POST /events/batch of B events with K requests in
 * flight on K keep-alive connections, each body made by rest_event_body/rest_batch_wrap and
 * each answer read by rest_decode_batch, as the REST transport will; prints
 * events/s and requests/s. Every event must come back delivered.
 *
 *   bench_rest --url http://127.0.0.1:P/api/v1 [--events N] [--batch B]
 *              [--inflight K]
 *
 * It registers first (POST /register) to get an X-Edge-Id. The numbers
 * include the server's time: run it against carnitrack-cloudsim --rest
 * --quiet (bench/bench_rest.sh does) and read them with that in mind.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "http/http_client.h"
#include "rest/rest.h"

static struct event_base *base;
static struct http_client *cli;
static struct rest_base rb;
static struct ct_event *evs;
static uint8_t (*ids)[CT_UUID_LEN];
static struct rest_event_result *res;
static int nev, batch, next, outstanding, delivered, failed_req;
static char path[REST_PATH_MAX];
static struct cm_buf body;

static void send_next(void);

struct slot { int from, n; };

static void
done(const struct http_result *r, void *arg)
{
	struct slot *s = arg;
	struct rest_batch_note note;
	char err[REST_ERR_MAX];

	outstanding--;
	if (!http_result_ok(r) || rest_decode_batch(r->body, r->body_len,
	    (const uint8_t (*)[CT_UUID_LEN])(ids + s->from), (size_t)s->n, res + s->from, &note,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "batch at %d: %s %s\n", s->from, r->error_text, err);
		failed_req++;
	} else {
		delivered += (int)note.delivered;
	}
	free(s);
	send_next();
	if (outstanding == 0)
		event_base_loopbreak(base);
}

static void
send_next(void)
{
	struct slot *s;
	struct http_req rq = { .method = HTTP_POST, .path = path };

	if (next >= nev || (s = malloc(sizeof(*s))) == NULL)
		return;
	s->from = next;
	s->n = nev - next < batch ? nev - next : batch;
	next += s->n;
	rest_batch_of(&body, evs + s->from, (size_t)s->n);
	rq.body = body.p;
	rq.body_len = body.len;
	if (body.oom || http_request(cli, &rq, done, s) != 0) {
		fprintf(stderr, "cannot queue a request\n");
		free(s);
		failed_req++;
		return;
	}
	outstanding++;
}

static void
reg_done(const struct http_result *r, void *arg)
{
	struct rest_identity *id = arg;
	char err[REST_ERR_MAX];

	if (!http_result_ok(r) || rest_decode_identity(r->body, r->body_len, id, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "register: %s %s\n", r->error_text, err);
		id->edge_id[0] = '\0';
	}
	event_base_loopbreak(base);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", 1, NULL, 'u' }, { "events", 1, NULL, 'n' }, { "batch", 1, NULL, 'b' },
		{ "inflight", 1, NULL, 'k' }, { NULL, 0, NULL, 0 },
	};
	struct http_client_opts o = { .client_version = REST_VERSION, .max_attempts = 1 };
	struct rest_identity id;
	char err[HTTP_ERR_MAX], p[REST_PATH_MAX];
	size_t n;
	char *reg;
	int ch, k = 4;
	int64_t t0, t1;

	nev = 200000;
	batch = 500;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 'n': nev = atoi(optarg); break;
		case 'b': batch = atoi(optarg); break;
		case 'k': k = atoi(optarg); break;
		default: return 2;
		}
	}
	if (o.url == NULL || nev < 1 || batch < 1 || batch > REST_MAX_BATCH || k < 1 || k > 64) {
		fprintf(stderr, "usage: bench_rest --url URL [--events N] [--batch B (<= %d)] "
		    "[--inflight K (<= 64)]\n", REST_MAX_BATCH);
		return 2;
	}
	o.max_conns = k;
	o.max_requests = k;
	evs = calloc((size_t)nev, sizeof(*evs));
	ids = calloc((size_t)nev, sizeof(*ids));
	res = calloc((size_t)nev, sizeof(*res));
	if (evs == NULL || ids == NULL || res == NULL ||
	    rest_base_parse(o.url, &rb, err, sizeof(err)) != 0 ||
	    (base = event_base_new()) == NULL ||
	    (cli = http_client_new(base, NULL, &o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_rest: %s\n", err);
		return 1;
	}
	for (int i = 0; i < nev; i++) {
		struct ct_event *e = &evs[i];
		ct_uuid_new(e->local_id);
		memcpy(ids[i], e->local_id, CT_UUID_LEN);
		snprintf(e->device_id, sizeof(e->device_id), "SCALE-%02d", 1 + i % 8);
		snprintf(e->plu, sizeof(e->plu), "%05d", 1 + i % 999);
		snprintf(e->product, sizeof(e->product), "KIYMA %d", i % 100);
		snprintf(e->barcode, sizeof(e->barcode), "%012d", i);
		e->received_at_ms = ct_now_ms() + i;
		e->scale_ts = e->received_at_ms / 1000;
		e->net_g = e->gross_g = 1000 + i % 5000;
	}

	reg = rest_register_body(NULL, "bench", "bench", &n);
	rest_path(&rb, REST_REGISTER, p, sizeof(p));
	{
		struct http_req rq = { .method = HTTP_POST, .path = p, .body = reg, .body_len = n,
			.flags = HTTP_NO_EDGE_ID };
		if (reg == NULL || http_request(cli, &rq, reg_done, &id) != 0)
			return 1;
	}
	event_base_dispatch(base);
	free(reg);
	if (id.edge_id[0] == '\0' ||
	    http_client_set_identity(cli, id.edge_id, id.site_id, err, sizeof(err)) != 0)
		return 1;

	rest_path(&rb, REST_EVENTS_BATCH, path, sizeof(path));
	t0 = ct_now_ms_mono();
	for (int i = 0; i < k; i++)
		send_next();
	event_base_dispatch(base);
	t1 = ct_now_ms_mono();
	printf("rest drain: %d events in %d-event batches, %d in flight: %lld ms, %.0f events/s, "
	    "%.0f requests/s; delivered %d, failed requests %d\n", nev, batch, k,
	    (long long)(t1 - t0), nev * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1),
	    (nev + batch - 1) / batch * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1), delivered,
	    failed_req);
	http_client_free(cli);
	event_base_free(base);
	cm_buf_free(&body);
	free(evs);
	free(ids);
	free(res);
	return delivered == nev && failed_req == 0 ? 0 : 1;
}
