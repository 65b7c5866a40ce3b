/*
 * The edge's metric set for GET /metrics: the carnitrack_* families, made
 * from the status object the supervisor aggregates (edge_status.h) and, when
 * the caller has the store open read-only, the store's own figures (backlog,
 * map use, per-scale record totals), which stay right while the store
 * worker restarts. Nothing is invented: a figure no worker reports is left
 * out (its family has HELP and TYPE and no sample), never written as 0.
 * The families and their sources are listed in README ("Metrics").
 *
 * Cardinality: per-scale series (label device) exist only for scales in
 * the config ([scale SCALE-nn] sections) and scales connected now, at most
 * EDGE_METRICS_SCALES_MAX per family, configured ones first; the rest are
 * left out and counted in carnitrack_metrics_series_omitted. Every other
 * label has a fixed set of values (worker, state, reason).
 */
#ifndef CT_EDGE_METRICS_H
#define CT_EDGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct evbuffer;
struct store;
struct ct_conf;

#define EDGE_METRICS_SCALES_MAX 128

/* status: NULL when the supervisor did not answer (the worker families are
 * then empty and carnitrack_status_available is 0). st, conf: optional.
 * now_ms: wall clock, for ages. Appends to out; -1 with err on a mistake
 * (out then holds a partial exposition the caller must not serve). */
int edge_metrics_write(struct evbuffer *out, json_t *status, struct store *st,
    const struct ct_conf *conf, int64_t now_ms, char *err, size_t errlen);

#endif
