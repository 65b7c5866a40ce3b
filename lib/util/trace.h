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

/* The stages, in the order of a record's way: X(NAME, "text"). */
#define CT_STAGES(X) \
	X(INGEST_READ, "ingest.read")       /* ingest: record parsed, event queued */ \
	X(INGEST_SENT, "ingest.sent")       /* ingest: EVENT frame handed to its channel */ \
	X(STORE_RECV, "store.recv")         /* store: EVENT frame read and decoded */ \
	X(STORE_BEGIN, "store.begin")       /* store: the transaction holding it begins */ \
	X(STORE_COMMITTED, "store.committed")   /* store: that commit returned (on disk) */ \
	X(INGEST_STORED, "ingest.stored")   /* ingest: EVENT_STORED read */ \
	X(INGEST_OK, "ingest.ok")           /* ingest: the OK covering it written */ \
	X(CLOUD_SENT, "cloud.sent")         /* cloud: event handed to the transport */ \
	X(CLOUD_ACKED, "cloud.acked")       /* cloud: the cloud's answer read */ \
	X(STORE_ACK_RECV, "store.ack_recv") /* store: ACKED read and decoded */ \
	X(STORE_ACK_BEGIN, "store.ack_begin")   /* store: its transaction begins */ \
	X(STORE_ACK_COMMITTED, "store.ack_committed")   /* store: that commit returned */ \
	X(PROBE_SEND, "probe.send")         /* bench_probe: just before write() */ \
	X(PROBE_COMMITTED, "probe.committed")   /* bench_probe: saw it in the store */ \
	X(PROBE_ACKED, "probe.acked")       /* bench_probe: saw its ack committed */ \
	X(PROBE_OK, "probe.ok")             /* bench_probe: read the OK for it */

enum ct_stage {
#define CT_STAGE_ENUM(name, text) CT_ST_##name,
	CT_STAGES(CT_STAGE_ENUM)
#undef CT_STAGE_ENUM
	CT_ST_COUNT
};

void ct_trace_open(const char *name);
bool ct_trace_on(void);
/* One stamp now / at ns; dev and barcode may be NULL. */
void ct_trace(enum ct_stage st, const uint8_t id[16]);
void ct_trace_at(int64_t ns, enum ct_stage st, const uint8_t id[16], const char *dev,
    const char *barcode);
void ct_trace_close(void);

#endif
