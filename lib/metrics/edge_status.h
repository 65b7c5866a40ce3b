/*
 * Reading the edge's status object, the one `carnitrackctl status --json`
 * prints and /status.json serves: the supervisor's fields, a `workers`
 * array, and in each worker item the worker's own figures under `status`.
 * Used by the metric set and by the web routes (health).
 *
 * Keys are snake_case, every worker's own figures included.
 */
#ifndef CT_EDGE_STATUS_H
#define CT_EDGE_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The item of worker `name` in status.workers, NULL if absent. */
/* Its own figures (item.status), NULL if it sent none. */
json_t *es_worker_status(json_t *status, const char *name);
/* o[key], where key may be a dotted path ("counters.oks_sent"). */
json_t *es_get(json_t *o, const char *key);
/* A number (integer, real or boolean as 0/1) at key: false if absent. */
bool es_num(json_t *o, const char *key, double *out);
/* A string at key, NULL if absent. */
const char *es_str(json_t *o, const char *key);
/* "2026-01-30T10:00:00.123Z" -> Unix ms; -1 if it is not one. */
long long es_iso_ms(const char *s);

/* true when the edge is healthy (status.health is "ok"). Otherwise why
 * says what is wrong, one reason per fault separated by "; ", e.g.
 * "cloud link retrying: connect refused; store full". */
bool es_healthy(json_t *status, char *why, size_t whylen);

#endif
