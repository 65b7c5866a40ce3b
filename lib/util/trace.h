/*
 * Stage stamps for the benchmark's per-stage breakdown (bench/README.md):
 * where one record's time goes between the scale's write and its OK, and
 * on to the cloud's ack. With CARNITRACKD_TRACE=DIR in the environment
 * every process that calls ct_trace_open() writes one text line per stamp
 * to DIR/NAME.PID.trace:
 *   NS STAGE ID [DEVICE BARCODE]
 * NS is CLOCK_MONOTONIC in ns (one clock for every process of the host),
 * STAGE a name from the list below, ID the event's localEventId in hex;
 * the scale and barcode ride on the stamps that tie a record the scale
 * sent to its id (ingest.read, and the probe's own stamps).
 * bench/bench_stages.c joins the files. Without the variable nothing is
 * opened and a stamp costs one test of a pointer. Lines are buffered
 * (stdio) and written out at ct_trace_close() or when the buffer fills: a
 * process killed with -9 loses its last stamps, which only costs samples.
 */
#ifndef CT_TRACE_H
#define CT_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#define CT_TRACE_ENV "CARNITRACKD_TRACE"

enum ct_stage {
	CT_ST_INGEST_READ,          /* ingest: record parsed, event queued */
	CT_ST_INGEST_SENT,          /* ingest: EVENT frame handed to its channel */
	CT_ST_STORE_RECV,           /* store: EVENT frame read and decoded */
	CT_ST_STORE_BEGIN,          /* store: the write transaction holding it begins */
	CT_ST_STORE_COMMITTED,      /* store: that commit returned (on disk) */
	CT_ST_INGEST_STORED,        /* ingest: EVENT_STORED read */
	CT_ST_INGEST_OK,            /* ingest: the OK covering it written to the scale */
	CT_ST_CLOUD_SENT,           /* cloud: event handed to the transport */
	CT_ST_CLOUD_ACKED,          /* cloud: the cloud's answer read */
	CT_ST_STORE_ACK_RECV,       /* store: ACKED read and decoded */
	CT_ST_STORE_ACK_BEGIN,      /* store: the transaction holding the ack begins */
	CT_ST_STORE_ACK_COMMITTED,  /* store: that commit returned */
	CT_ST_PROBE_SEND,           /* bench_probe: just before write() of the record */
	CT_ST_PROBE_COMMITTED,      /* bench_probe: saw the record in the store */
	CT_ST_PROBE_ACKED,          /* bench_probe: saw its ack committed */
	CT_ST_PROBE_OK,             /* bench_probe: read the OK for it */
	CT_ST_COUNT
};

/* "ingest.read", ...; NULL for a number out of range. */
const char *ct_stage_name(enum ct_stage st);
/* -1 for an unknown name. */
int ct_stage_parse(const char *name);

/* Opens DIR/NAME.PID.trace when CARNITRACKD_TRACE is set; logs and carries
 * on without stamps when it cannot. */
void ct_trace_open(const char *name);
bool ct_trace_on(void);
/* One stamp now / at ns; dev and barcode may be NULL. */
void ct_trace(enum ct_stage st, const uint8_t id[16]);
void ct_trace_at(int64_t ns, enum ct_stage st, const uint8_t id[16], const char *dev,
    const char *barcode);
void ct_trace_close(void);

#endif
