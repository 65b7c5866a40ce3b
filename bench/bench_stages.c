/*
 * The per-stage breakdown of the latency figures: joins the stage stamps
 * that the daemon's processes and bench_probe wrote with
 * CARNITRACKD_TRACE=DIR (lib/util/trace.h) and prints, for each stage of a
 * record's way, the p50 and p99 of its duration over the records that have
 * both ends stamped.
 *
 * Records are joined by localEventId; the probe's stamps carry the scale
 * and barcode instead, which ingest.read ties to the id. Only records the
 * probe stamped count: it stamps those sent after its warm-up, and a probe
 * run without CARNITRACKD_TRACE adds nothing. Every clock is
 * CLOCK_MONOTONIC of one host. A stage stamped twice (a resend) keeps its
 * first stamp.
 *
 * Usage: bench_stages DIR
 * Prints one line per stage: "stage NAME n=N p50_us=X p99_us=Y".
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/trace.h"

#include "bench_stats.h"

#define MAX_RECS   (1u << 16)          /* records joined; more are left out */
#define KEY_MAX    64

struct rec {
	char    id[33];                    /* hex; "" for probe-only (not joined yet) */
	char    key[KEY_MAX];              /* "DEVICE BARCODE", "" when not known */
	int64_t at[CT_ST_COUNT];           /* 0 = not stamped */
};

static struct rec *recs;
static unsigned nrecs, dropped;
static unsigned *by_id, *by_key;       /* open addressing, 0 = empty, else index + 1 */
#define HASH_CAP (MAX_RECS * 2)

static const char *const stage_names[CT_ST_COUNT] = {
#define CT_STAGE_NAME(name, text) [CT_ST_##name] = text,
	CT_STAGES(CT_STAGE_NAME)
#undef CT_STAGE_NAME
};

static int
stage_parse(const char *name)
{
	for (int i = 0; i < CT_ST_COUNT; i++)
		if (strcmp(stage_names[i], name) == 0)
			return i;
	return -1;
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The record under key in table t (id or key field), made when absent. */
static struct rec *
find(unsigned *t, bool by_key_field, const char *k, bool create)
{
	uint64_t i = hash(k) & (HASH_CAP - 1);

	for (;; i = (i + 1) & (HASH_CAP - 1)) {
		if (t[i] == 0)
			break;
		struct rec *r = &recs[t[i] - 1];
		if (strcmp(by_key_field ? r->key : r->id, k) == 0)
			return r;
	}
	if (!create)
		return NULL;
	if (nrecs == MAX_RECS) {
		dropped++;
		return NULL;
	}
	struct rec *r = &recs[nrecs];
	memset(r, 0, sizeof(*r));
	snprintf(by_key_field ? r->key : r->id, by_key_field ? KEY_MAX : 33, "%s", k);
	t[i] = ++nrecs;
	return r;
}

static void
put(struct rec *r, int st, int64_t ns)
{
	if (r != NULL && (r->at[st] == 0 || ns < r->at[st]))
		r->at[st] = ns;
}

/* Probe lines wait until every file is read (ingest.read ties them). */
struct pline {
	int64_t ns;
	int     st;
	char    key[KEY_MAX];
};
static struct pline *plines;
static size_t nplines, capplines;

static void
read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[256], stage[32], id[40], dev[24], bc[32];
	long long ns;

	if (f == NULL) {
		perror(path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		int k = sscanf(line, "%lld %31s %39s %23s %31s", &ns, stage, id, dev, bc);
		int st = k >= 3 ? stage_parse(stage) : -1;
		char key[KEY_MAX];

		if (st < 0 || strlen(id) != 32)
			continue;
		key[0] = '\0';
		if (k == 5)
			snprintf(key, sizeof(key), "%s %s", dev, bc);
		if (strncmp(stage, "probe.", 6) == 0) {
			if (key[0] == '\0')
				continue;
			if (nplines == capplines) {
				size_t nc = capplines ? capplines * 2 : 4096;
				struct pline *np = realloc(plines, nc * sizeof(*np));
				if (np == NULL)
					break;
				plines = np;
				capplines = nc;
			}
			plines[nplines].ns = ns;
			plines[nplines].st = st;
			snprintf(plines[nplines].key, KEY_MAX, "%s", key);
			nplines++;
			continue;
		}
		struct rec *r = find(by_id, false, id, true);
		put(r, st, ns);
		if (r != NULL && key[0] != '\0' && r->key[0] == '\0') {
			/* index it by scale and barcode too */
			uint64_t i = hash(key) & (HASH_CAP - 1);
			snprintf(r->key, KEY_MAX, "%s", key);
			while (by_key[i] != 0)
				i = (i + 1) & (HASH_CAP - 1);
			by_key[i] = (unsigned)(r - recs) + 1;
		}
	}
	fclose(f);
}

struct stage_def {
	const char *name;
	enum ct_stage from, to;
};

/* The way of one record, in order; then the totals. */
static const struct stage_def stages[] = {
	{ "scale_to_ingest", CT_ST_PROBE_SEND, CT_ST_INGEST_READ },
	{ "ingest_turn", CT_ST_INGEST_READ, CT_ST_INGEST_SENT },
	{ "ingest_to_store", CT_ST_INGEST_SENT, CT_ST_STORE_RECV },
	{ "store_wait", CT_ST_STORE_RECV, CT_ST_STORE_BEGIN },
	{ "store_commit", CT_ST_STORE_BEGIN, CT_ST_STORE_COMMITTED },
	{ "probe_sees_commit", CT_ST_STORE_COMMITTED, CT_ST_PROBE_COMMITTED },
	{ "store_to_ingest", CT_ST_STORE_COMMITTED, CT_ST_INGEST_STORED },
	{ "ingest_ok", CT_ST_INGEST_STORED, CT_ST_INGEST_OK },
	{ "ok_to_scale", CT_ST_INGEST_OK, CT_ST_PROBE_OK },
	{ "store_to_cloud_sent", CT_ST_STORE_COMMITTED, CT_ST_CLOUD_SENT },
	{ "cloud_round_trip", CT_ST_CLOUD_SENT, CT_ST_CLOUD_ACKED },
	{ "cloud_to_store", CT_ST_CLOUD_ACKED, CT_ST_STORE_ACK_RECV },
	{ "store_ack_wait", CT_ST_STORE_ACK_RECV, CT_ST_STORE_ACK_BEGIN },
	{ "store_ack_commit", CT_ST_STORE_ACK_BEGIN, CT_ST_STORE_ACK_COMMITTED },
	{ "probe_sees_ack", CT_ST_STORE_ACK_COMMITTED, CT_ST_PROBE_ACKED },
	{ "total_committed", CT_ST_PROBE_SEND, CT_ST_PROBE_COMMITTED },
	{ "total_acked", CT_ST_PROBE_SEND, CT_ST_PROBE_ACKED },
	{ "total_ok", CT_ST_PROBE_SEND, CT_ST_PROBE_OK },
};

int
main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	double *v;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_stages DIR\n");
		return 2;
	}
	recs = calloc(MAX_RECS, sizeof(*recs));
	by_id = calloc(HASH_CAP, sizeof(*by_id));
	by_key = calloc(HASH_CAP, sizeof(*by_key));
	v = calloc(MAX_RECS, sizeof(*v));
	if (recs == NULL || by_id == NULL || by_key == NULL || v == NULL) {
		fprintf(stderr, "bench_stages: out of memory\n");
		return 1;
	}
	if ((d = opendir(argv[1])) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char path[4096];

		if (n < 6 || strcmp(de->d_name + n - 6, ".trace") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		read_file(path);
	}
	closedir(d);
	for (size_t i = 0; i < nplines; i++)
		put(find(by_key, true, plines[i].key, false), plines[i].st, plines[i].ns);
	for (size_t s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
		size_t n = 0;

		for (unsigned i = 0; i < nrecs; i++) {
			const struct rec *r = &recs[i];
			if (r->at[CT_ST_PROBE_SEND] == 0 || r->at[stages[s].from] == 0 ||
			    r->at[stages[s].to] == 0)
				continue;
			v[n++] = (double)(r->at[stages[s].to] - r->at[stages[s].from]) / 1e3;
		}
		if (n == 0)
			continue;
		qsort(v, n, sizeof(v[0]), bench_cmp_double);
		printf("stage %s n=%zu p50_us=%.0f p99_us=%.0f\n", stages[s].name, n,
		    bench_pct(v, n, 0.5), bench_pct(v, n, 0.99));
	}
	if (dropped > 0)
		fprintf(stderr, "bench_stages: %u records beyond %u left out\n", dropped, MAX_RECS);
	free(v);
	free(plines);
	free(by_key);
	free(by_id);
	free(recs);
	return 0;
}
