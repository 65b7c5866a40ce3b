/*
 * rest_probe: drives lib/http and lib/rest against a REST cloud the way the
 * edge will, and checks every answer against REST_API.md. Integration tests
 * run it against carnitrack-cloudsim --rest and against the independent
 * tests/cloud_py/rest_cloud.py, so both servers (and our client) are held to
 * the same API. It steers the server through the control port commands the
 * two share (start, end, fail, forget, stats).
 *
 *   rest_probe --url http://127.0.0.1:P/api/v1 --control CP [--ca-file F]
 *              [--events N] [--disruptions]
 *
 * --disruptions adds what only carnitrack-cloudsim scripts: a request left
 * unanswered (hang), every request held (freeze, then thaw from a timer),
 * the listener gone (stop, listen), connections dropped, events stored but
 * not answered (ack off) and then answered as duplicates.
 *
 * One line per check, "ok <what>" or "FAIL <what>: <why>", then
 * "accepted=N" (the server's count by localEventId). Exit 0 when every check
 * passed, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "http/http_client.h"
#include "rest/rest.h"

static struct event_base *base;
static struct http_client *cli;
static struct rest_base rb;
static int ctl_fd = -1, failures;
static char edge_id[CM_ID_MAX], site_id[CM_ID_MAX];

/* ---- the last answer, copied out of the callback ---- */

struct answer {
	bool done, ok;
	int status, attempts;
	enum http_verdict verdict;
	bool offline;
	char *body;
	size_t len;
	char etag[HTTP_ETAG_MAX + 1];
	char text[HTTP_ERR_MAX];
	char edge[CM_ID_MAX];           /* the X-Edge-Id the request carried */
	int64_t ms;
};
static struct answer A;

static void
check(bool cond, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		printf("ok %s\n", what);
	} else {
		printf("FAIL %s: ", what);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failures++;
	}
	fflush(stdout);
}

static void
done(const struct http_result *r, void *arg)
{
	A.done = true;
	A.ok = http_result_ok(r);
	A.status = r->status;
	A.attempts = r->attempts;
	A.verdict = r->verdict;
	A.offline = r->offline;
	A.len = r->body_len;
	A.body = malloc(r->body_len + 1);
	if (A.body != NULL)
		memcpy(A.body, r->body, r->body_len + 1);
	snprintf(A.etag, sizeof(A.etag), "%s", r->etag ? r->etag : "");
	snprintf(A.text, sizeof(A.text), "%s", r->error_text);
	snprintf(A.edge, sizeof(A.edge), "%s", r->edge_id ? r->edge_id : "");
	A.ms = ct_now_ms_mono() - A.ms;
	event_base_loopbreak(base);
}

/* One request, waited for; attempts and timeout_ms 0: the client's. */
static void
call_with(enum http_method m, enum rest_endpoint e, const char *path, const char *body,
    size_t len, unsigned flags, const char *inm, int attempts, int timeout_ms)
{
	char p[REST_PATH_MAX];
	struct http_req rq = { .method = m, .path = p, .body = body, .body_len = len,
		.flags = flags, .if_none_match = inm, .max_attempts = attempts,
		.timeout_ms = timeout_ms };

	free(A.body);
	memset(&A, 0, sizeof(A));
	if (path != NULL)
		snprintf(p, sizeof(p), "%s", path);
	else
		rest_path(&rb, e, p, sizeof(p));
	A.ms = ct_now_ms_mono();
	if (http_request(cli, &rq, done, NULL) != 0) {
		snprintf(A.text, sizeof(A.text), "http_request: %s", strerror(errno));
		return;
	}
	while (!A.done)
		event_base_dispatch(base);
}

static void
call(enum http_method m, enum rest_endpoint e, const char *path, const char *body, size_t len,
    unsigned flags, const char *inm)
{
	call_with(m, e, path, body, len, flags, inm, 0, 0);
}

/* ---- the control port ---- */

static void
ctl(const char *cmd, char *answer, size_t cap)
{
	size_t n = 0;
	char c;

	if (dprintf(ctl_fd, "%s\n", cmd) < 0) {
		snprintf(answer, cap, "error: control port: %s", strerror(errno));
		return;
	}
	while (n + 1 < cap && read(ctl_fd, &c, 1) == 1 && c != '\n')
		answer[n++] = c;
	answer[n] = '\0';
}

static long
stat_value(const char *key)
{
	char line[4096], k[64];
	const char *p;

	ctl("stats", line, sizeof(line));
	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(line, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static void
ctl_ok(const char *cmd)
{
	char a[256];

	ctl(cmd, a, sizeof(a));
	check(strncmp(a, "ok", 2) == 0, cmd, "control answered \"%s\"", a);
}

/* ---- events ---- */

#define MAXEV 1100
static struct ct_event evs[MAXEV];
static uint8_t ids[MAXEV][CT_UUID_LEN];

static void
make_events(int n)
{
	int64_t now = ct_now_ms();

	for (int i = 0; i < n; i++) {
		struct ct_event *e = &evs[i];
		memset(e, 0, sizeof(*e));
		ct_uuid_new(e->local_id);
		memcpy(ids[i], e->local_id, CT_UUID_LEN);
		snprintf(e->device_id, sizeof(e->device_id), "SCALE-0%d", 1 + i % 2);
		e->received_at_ms = now + i;
		e->scale_ts = now / 1000;
		snprintf(e->plu, sizeof(e->plu), "%05d", 1 + i % 90);
		snprintf(e->product, sizeof(e->product), "KIYMA %d", i);
		snprintf(e->barcode, sizeof(e->barcode), "%012d", i);
		e->net_g = e->gross_g = 1000 + i;
	}
}

static void
post_batch(int from, int n, struct rest_event_result *res, struct rest_batch_note *note, int *rc)
{
	struct cm_buf b = { 0 };
	char err[REST_ERR_MAX];

	rest_batch_of(&b, evs + from, (size_t)n);
	call(HTTP_POST, REST_EVENTS_BATCH, NULL, b.p, b.len, 0, NULL);
	cm_buf_free(&b);
	*rc = A.ok ? rest_decode_batch(A.body, A.len, (const uint8_t (*)[CT_UUID_LEN])(ids + from),
	    (size_t)n, res, note, err, sizeof(err)) : -1;
}

/* ---- the checks ---- */

static void
registration(void)
{
	struct rest_identity id;
	char err[REST_ERR_MAX], first[CM_ID_MAX];
	size_t n;
	char *b = rest_register_body(NULL, "site-probe", "Probe Site", &n);

	call(HTTP_POST, REST_REGISTER, NULL, b, n, HTTP_NO_EDGE_ID, NULL);
	free(b);
	check(A.ok && rest_decode_identity(A.body, A.len, &id, err, sizeof(err)) == 0,
	    "register with edgeId null", "%s %s", A.text, err);
	snprintf(edge_id, sizeof(edge_id), "%s", id.edge_id);
	snprintf(site_id, sizeof(site_id), "%s", id.site_id);
	snprintf(first, sizeof(first), "%s", id.edge_id);
	http_client_set_identity(cli, edge_id, site_id, err, sizeof(err));

	b = rest_register_body(edge_id, site_id, NULL, &n);
	call(HTTP_POST, REST_REGISTER, NULL, b, n, HTTP_NO_EDGE_ID, NULL);
	free(b);
	check(A.ok && rest_decode_identity(A.body, A.len, &id, err, sizeof(err)) == 0 &&
	    strcmp(id.edge_id, first) == 0, "register again keeps the identity", "%s", A.text);

	b = rest_register_body("not-a-uuid", site_id, NULL, &n);
	call(HTTP_POST, REST_REGISTER, NULL, b, n, HTTP_NO_EDGE_ID, NULL);
	free(b);
	check(A.status == 400 && A.attempts == 1 && rest_register_retry_fresh(A.status, A.body,
	    A.len), "register with a malformed edgeId: 400, retried fresh (3.2)", "%s", A.text);

	b = rest_register_body("0f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d", site_id, NULL, &n);
	call(HTTP_POST, REST_REGISTER, NULL, b, n, HTTP_NO_EDGE_ID, NULL);
	free(b);
	check(A.status == 404 && rest_register_retry_fresh(A.status, A.body, A.len) && !A.offline,
	    "register with an unknown edgeId: 404, retried fresh", "%s", A.text);
}

static int max_batch;

static void
config(void)
{
	struct rest_config c;
	char err[REST_ERR_MAX];

	call(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL);
	check(A.ok && rest_decode_config(A.body, A.len, &c, err, sizeof(err)) == 0 &&
	    (c.set & (REST_CFG_IDLE | REST_CFG_WAITING | REST_CFG_ACTIVE | REST_CFG_HEARTBEAT)) ==
	    (REST_CFG_IDLE | REST_CFG_WAITING | REST_CFG_ACTIVE | REST_CFG_HEARTBEAT),
	    "config has the four intervals", "%s %s", A.text, err);
	max_batch = (c.set & REST_CFG_BATCH) ? c.max_batch : 0;
	printf("config idle=%lld waiting=%lld active=%lld heartbeat=%lld max_batch=%d\n",
	    (long long)c.idle_ms, (long long)c.waiting_ms, (long long)c.active_ms,
	    (long long)c.heartbeat_ms, max_batch);
}

static void
sessions(void)
{
	static struct rest_session s[8];
	struct rest_sessions ss = { .s = s, .cap = 8 };
	const char *devs[] = { "SCALE-01", "SCALE-02" };
	char p[REST_PATH_MAX], err[REST_ERR_MAX], etag[HTTP_ETAG_MAX + 1];

	ctl_ok("start SCALE-01 A-7");
	rest_sessions_path(&rb, devs, 2, p, sizeof(p));
	call(HTTP_GET, REST_SESSIONS, p, NULL, 0, 0, NULL);
	check(A.status == 200 && rest_decode_sessions(A.body, A.len, &ss, err, sizeof(err)) == 0 &&
	    ss.n == 1 && strcmp(s[0].device_id, "SCALE-01") == 0 &&
	    s[0].status == REST_SESS_ACTIVE &&
	    strcmp(s[0].animal_tag, "A-7") == 0, "sessions lists the started session",
	    "%s %s n=%zu", A.text, err, ss.n);
	check(A.etag[0] != '\0', "sessions has an ETag", "none");
	snprintf(etag, sizeof(etag), "%s", A.etag);
	call(HTTP_GET, REST_SESSIONS, p, NULL, 0, 0, etag);
	check(A.ok && A.status == 304 && A.len == 0, "If-None-Match gives 304", "%d %s",
	    A.status, A.text);
	ctl_ok("end SCALE-01");
	call(HTTP_GET, REST_SESSIONS, p, NULL, 0, 0, etag);
	check(A.status == 200 && rest_decode_sessions(A.body, A.len, &ss, err, sizeof(err)) == 0 &&
	    ss.n == 0 && strcmp(A.etag, etag) != 0, "an ended session leaves the full state",
	    "%d n=%zu %s", A.status, ss.n, A.text);
}

static int unique_sent;

static void
events(int n)
{
	struct rest_event_result r, *res = calloc((size_t)n, sizeof(*res));
	struct rest_batch_note note;
	struct cm_buf b = { 0 };
	char err[REST_ERR_MAX], cid[CM_ID_MAX];
	int rc, dup = 0, acc = 0;

	rest_event_body(&b, &evs[0], NULL);
	call(HTTP_POST, REST_EVENTS, NULL, b.p, b.len, 0, NULL);
	check(A.ok && rest_decode_event(A.body, A.len, &r, err, sizeof(err)) == 0 &&
	    r.outcome == REST_DELIVERED && !r.duplicate, "one event accepted", "%s %s", A.text,
	    err);
	snprintf(cid, sizeof(cid), "%s", r.cloud_event_id);
	call(HTTP_POST, REST_EVENTS, NULL, b.p, b.len, 0, NULL);
	check(A.ok && rest_decode_event(A.body, A.len, &r, err, sizeof(err)) == 0 &&
	    r.outcome == REST_DELIVERED && r.duplicate && strcmp(cid, r.cloud_event_id) == 0,
	    "the same event again: duplicate, same cloudEventId", "%s %s", A.text,
	    r.cloud_event_id);
	cm_buf_free(&b);
	unique_sent = 1;

	/* events 0..n-1: the first is the one already stored */
	post_batch(0, n, res, &note, &rc);
	for (int i = 0; i < n; i++) {
		dup += res[i].outcome == REST_DELIVERED && res[i].duplicate;
		acc += res[i].outcome == REST_DELIVERED && !res[i].duplicate;
	}
	check(rc == 0 && acc == n - 1 && dup == 1 && note.missing == 0,
	    "batch: one result per event, by localEventId", "rc=%d accepted=%d duplicate=%d "
	    "missing=%zu %s", rc, acc, dup, note.missing, A.text);
	unique_sent = n;
	post_batch(0, n, res, &note, &rc);
	dup = 0;
	for (int i = 0; i < n; i++)
		dup += res[i].outcome == REST_DELIVERED && res[i].duplicate;
	check(rc == 0 && dup == n, "the batch again: all duplicate", "%d of %d", dup, n);
	free(res);
}

static void
batch_limit(void)
{
	struct rest_event_result *res;
	struct rest_batch_note note;
	int rc;

	if (max_batch <= 0 || max_batch + 1 > MAXEV) {
		printf("skip batch limit (max_batch %d)\n", max_batch);
		return;
	}
	res = calloc((size_t)max_batch + 1, sizeof(*res));
	make_events(max_batch + 1);
	post_batch(0, max_batch + 1, res, &note, &rc);
	check(A.status == 413 && A.verdict == HTTP_FINAL && A.attempts == 1 && !A.offline,
	    "a batch over maxBatchSize: 413, final, cloud not offline", "%d %s", A.status, A.text);
	free(res);
}

static void
ack_heartbeat_devices(void)
{
	struct rest_batch_ack a = { .event_ids = (const uint8_t (*)[CT_UUID_LEN])ids,
		.nevents = 3 };
	struct rest_hb_device d = { "SCALE-01", "site-probe-SCALE-01", "disassembly", "online",
		ct_now_ms(), 0 };
	struct rest_heartbeat h = { NULL, 12, rest_health(true, 1, 0, 0), &d, 1 };
	struct rest_device_status ds = { .kind = REST_DEV_ONLINE };
	size_t n;
	char *b;

	ct_uuid_new(a.batch.batch_id);
	a.batch.device_id = "SCALE-01";
	a.batch.started_at_ms = ct_now_ms() - 60000;
	a.batch.ended_at_ms = ct_now_ms();
	a.batch.event_count = 3;
	a.batch.total_weight_g = 3003;
	b = rest_batch_ack_body(&a, &n);
	call(HTTP_POST, REST_BATCH_ACK, NULL, b, n, 0, NULL);
	check(A.ok, "offline batch ack", "%s", A.text);
	call(HTTP_POST, REST_BATCH_ACK, NULL, b, n, 0, NULL);
	check(A.ok, "the same ack again (idempotent)", "%s", A.text);
	free(b);

	b = rest_heartbeat_body(&h, &n);
	call(HTTP_POST, REST_HEARTBEAT, NULL, b, n, 0, NULL);
	check(A.ok, "heartbeat", "%s", A.text);
	free(b);

	ds.dev.device_id = "SCALE-01";
	ds.dev.global_device_id = "site-probe-SCALE-01";
	ds.dev.source_ip = "127.0.0.1";
	ds.dev.device_type = "disassembly";
	for (int k = REST_DEV_ONLINE; k <= REST_DEV_DISCONNECTED; k++) {
		ds.kind = (enum rest_dev_kind)k;
		ds.dev.status = "online";
		ds.dev.reason = "Socket closed";
		ds.dev.at_ms = ct_now_ms();
		b = rest_device_status_body(&ds, &n);
		call(HTTP_POST, REST_DEVICE_STATUS, NULL, b, n, 0, NULL);
		check(A.ok, "devices/status", "%s", A.text);
		free(b);
	}
}

static void
scripted_failures(void)
{
	ctl_ok("fail 503 1 1");
	call(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL);
	check(A.ok && A.attempts == 2 && A.ms >= 900, "503 with Retry-After: 1 retried after it",
	    "attempts=%d %lld ms %s", A.attempts, (long long)A.ms, A.text);
	ctl_ok("fail 429 1");
	call(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL);
	check(A.ok && A.attempts == 2, "429 retried", "attempts=%d %s", A.attempts, A.text);
	ctl_ok("fail 500 4");
	call(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL);
	check(!A.ok && A.status == 500 && A.attempts == 4 && A.verdict == HTTP_RETRY,
	    "500 four times: given up after 4 attempts", "%d attempts=%d", A.status, A.attempts);
}

static void
identity_recovery(void)
{
	struct rest_identity id;
	char err[REST_ERR_MAX], old[CM_ID_MAX];
	enum rest_auth_action act;
	struct rest_hb_device d = { "SCALE-01", NULL, "disassembly", "online", 0, 0 };
	struct rest_heartbeat h = { NULL, 13, "ok", &d, 1 };
	size_t n, hn;
	char *b, *hb = rest_heartbeat_body(&h, &hn);

	ctl_ok("forget");
	call(HTTP_POST, REST_HEARTBEAT, NULL, hb, hn, 0, NULL);
	act = rest_auth_action(A.status, A.body, A.len, A.edge, edge_id, false, false);
	check(A.status == 401 && act == REST_AUTH_START && !A.offline && A.attempts == 1,
	    "a forgotten edge gets 401 that starts recovery (3.2)", "%d action=%d %s", A.status,
	    act, A.text);
	snprintf(old, sizeof(old), "%s", edge_id);
	b = rest_register_body(NULL, site_id, NULL, &n);
	call(HTTP_POST, REST_REGISTER, NULL, b, n, HTTP_NO_EDGE_ID, NULL);
	free(b);
	check(A.ok && rest_decode_identity(A.body, A.len, &id, err, sizeof(err)) == 0 &&
	    strcmp(id.edge_id, old) != 0, "registered afresh with a new edge id", "%s", A.text);
	snprintf(edge_id, sizeof(edge_id), "%s", id.edge_id);
	http_client_set_identity(cli, edge_id, id.site_id, err, sizeof(err));
	call(HTTP_POST, REST_HEARTBEAT, NULL, hb, hn, 0, NULL);
	check(A.ok, "the refused request repeated once with the new id", "%s", A.text);
	free(hb);
}

static void
thaw_cb(evutil_socket_t fd, short what, void *arg)
{
	char a[64];

	ctl("thaw", a, sizeof(a));
	printf("thaw: %s\n", a);
}

static void
disruptions(void)
{
	struct http_stats st0, st1;
	struct rest_event_result r;
	struct cm_buf b = { 0 };
	struct timeval tv = { 0, 300000 };
	struct event *t = evtimer_new(base, thaw_cb, NULL);
	char err[REST_ERR_MAX];

	ctl_ok("hang 1");
	call_with(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL, 2, 400);
	check(A.ok && A.attempts == 2 && A.ms >= 380, "an unanswered request times out, the "
	    "retry gets its own deadline", "attempts=%d %lld ms %s", A.attempts, (long long)A.ms,
	    A.text);

	ctl_ok("freeze");
	evtimer_add(t, &tv);
	call_with(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL, 1, 3000);
	check(A.ok && A.ms >= 280, "held while frozen, answered at thaw", "%lld ms %s",
	    (long long)A.ms, A.text);
	event_free(t);

	ctl_ok("stop");
	call_with(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL, 1, 1000);
	check(!A.ok && A.status == 0 && A.offline, "no listener: a connect failure, offline",
	    "%s", A.text);
	ctl_ok("listen");
	call(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL);
	check(A.ok, "listening again", "%s", A.text);

	http_client_stats(cli, &st0);
	ctl_ok("drop");
	call(HTTP_GET, REST_CONFIG, NULL, NULL, 0, 0, NULL);
	http_client_stats(cli, &st1);
	check(A.ok && A.attempts == 1 && st1.connects > st0.connects,
	    "after drop: a new connection, the request unharmed", "%s", A.text);

	make_events(1);
	rest_event_body(&b, &evs[0], NULL);
	ctl_ok("ack off");
	call_with(HTTP_POST, REST_EVENTS, NULL, b.p, b.len, 0, NULL, 1, 400);
	check(!A.ok && A.attempts == 1, "ack off: stored but unanswered, the edge times out",
	    "%s", A.text);
	ctl_ok("ack on");
	call(HTTP_POST, REST_EVENTS, NULL, b.p, b.len, 0, NULL);
	check(A.ok && rest_decode_event(A.body, A.len, &r, err, sizeof(err)) == 0 &&
	    r.outcome == REST_DELIVERED && r.duplicate, "its resend: duplicate (it was stored)",
	    "%s %s", A.text, err);
	unique_sent++;
	cm_buf_free(&b);
}

static void
usage(void)
{
	fprintf(stderr, "usage: rest_probe --url URL --control PORT [--ca-file F] [--events N] "
	    "[--disruptions]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", 1, NULL, 'u' }, { "control", 1, NULL, 'c' }, { "ca-file", 1, NULL, 'f' },
		{ "events", 1, NULL, 'n' }, { "disruptions", 0, NULL, 'd' }, { NULL, 0, NULL, 0 },
	};
	struct http_client_opts o = { .client_version = REST_VERSION, .retry_base_ms = 100,
		.timeout_ms = 5000, .max_conns = 2 };
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char err[HTTP_ERR_MAX];
	int ch, port = 0, nev = 20;
	bool disrupt = false;
	long accepted;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 'c': port = atoi(optarg); break;
		case 'f': o.ca_file = optarg; break;
		case 'n': nev = atoi(optarg); break;
		case 'd': disrupt = true; break;
		default: usage();
		}
	}
	if (o.url == NULL || port <= 0 || nev < 2 || nev > MAXEV || optind != argc)
		usage();
	sin.sin_port = htons((uint16_t)port);
	if ((ctl_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(ctl_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		printf("FAIL control port %d: %s\n", port, strerror(errno));
		return 1;
	}
	if (rest_base_parse(o.url, &rb, err, sizeof(err)) != 0 ||
	    (base = event_base_new()) == NULL ||
	    (cli = http_client_new(base, NULL, &o, err, sizeof(err))) == NULL) {
		printf("FAIL setup: %s\n", err);
		return 1;
	}
	make_events(nev);
	registration();
	config();
	sessions();
	events(nev);
	ack_heartbeat_devices();
	scripted_failures();
	identity_recovery();
	if (disrupt)
		disruptions();
	batch_limit();
	accepted = stat_value("accepted");
	check(accepted == unique_sent, "the server counted each event once", "accepted=%ld of %d",
	    accepted, unique_sent);
	printf("accepted=%ld\n", accepted);
	http_client_free(cli);
	event_base_free(base);
	free(A.body);
	close(ctl_fd);
	printf("%s: %d failed\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
