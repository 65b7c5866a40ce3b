/*
 * Writer of the Prometheus text exposition format (version 0.0.4, served as
 * "text/plain; version=0.0.4; charset=utf-8"): for each metric family one
 * HELP and one TYPE line, then its samples; counters end in _total, gauges
 * and histograms must not; histograms as cumulative _bucket{le="..."} lines
 * ending with le="+Inf", then _sum and _count. Names and label names are
 * checked against the format's grammar, label values escaped (\\, \", \n)
 * and made valid UTF-8, HELP text escaped (\\, \n).
 *
 * Bounds: each family holds at most series_max series (label sets); the
 * ones past it are not written, only counted (prom_omitted), so the caller
 * can expose how many were left out. The whole exposition is capped at
 * PROM_OUT_MAX bytes. A mistake (bad name, a sample before its family, out
 * of memory, over the cap) is sticky: later calls do nothing and
 * prom_error() returns the first reason; the caller answers 500 rather than
 * serve half a page.
 */
#ifndef CT_PROM_H
#define CT_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"

struct evbuffer;

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_NAME_MAX     128
#define PROM_LABELS_MAX   8          /* per sample, `le` of histograms excluded */
#define PROM_OUT_MAX      (1024 * 1024)
#define PROM_FAMILIES_MAX 128

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_label {
	const char *name;
	const char *value;
};

struct prom {
	struct evbuffer *out;
	size_t           start;          /* out's length when we began */
	unsigned         series_max;
	char             family[PROM_NAME_MAX];
	enum prom_type   type;
	unsigned         series;         /* written in the current family */
	unsigned long    omitted;        /* over series_max, all families */
	uint64_t         seen[PROM_FAMILIES_MAX];   /* hashes of family names */
	unsigned         nseen;
	char             error[160];     /* first mistake, "" = none */
};

void prom_init(struct prom *p, struct evbuffer *out, unsigned series_max);
/* Starts a family: HELP and TYPE lines. */
void prom_family(struct prom *p, const char *name, enum prom_type type, const char *help);
/* One counter or gauge sample of the current family. */
void prom_sample(struct prom *p, const struct prom_label *labels, size_t nlabels, double value);
/* One histogram series of the current (histogram) family. */
void prom_histogram(struct prom *p, const struct prom_label *labels, size_t nlabels,
    const struct hist *h);
unsigned long prom_omitted(const struct prom *p);
/* NULL when everything was written, else the first mistake. */
const char *prom_error(const struct prom *p);

/* Grammar of the format (exported for tests and callers building names). */
bool prom_valid_name(const char *s);
bool prom_valid_label_name(const char *s);

#endif
