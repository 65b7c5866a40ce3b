/*
 * Events out of an edge's message without a JSON tree, for the receiving
 * side (carnitrack-cloudsim judges tens of thousands a second): a WebSocket
 * `event` / `event_batch` message, or a REST body (one event object for
 * POST /events, {"events":[...]} for POST /events/batch). cm_scan.c checks
 * the whole text against the JSON grammar and pulls out the fields an event
 * is judged by; whatever it is not sure of it leaves to jansson (-1), and
 * tests/unit/test_cm_scan.c holds it to jansson's reading.
 */
#ifndef CT_CM_SCAN_H
#define CT_CM_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One event as the cloud judges it. Pointers are NULL when the field is
 * absent, null or not a string; they point into the *_buf copies (scanner)
 * or into the JSON tree (the caller's jansson path). */
struct cm_scan_event {
	const char *lid, *dev, *plu, *sess, *bid;
	int64_t     weight;
	bool        weight_ok, offline;
	char        lid_buf[64], dev_buf[64], plu_buf[32], sess_buf[128], bid_buf[64];
};
#define CM_SCAN_MAX 8192       /* events per message the scanner takes */

/* The events of a plain `event` / `event_batch` message into out (*batch
 * says which it was); how many, or -1 to say "parse this one with
 * jansson". */
int cm_scan_events(const char *msg, size_t len, bool *batch, struct cm_scan_event *out,
    int max);
/* The same for a REST body: one event object (batch false) or
 * {"events":[...]} (batch true). */
int cm_scan_rest(const char *body, size_t len, bool batch, struct cm_scan_event *out, int max);

#endif
