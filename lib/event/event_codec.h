/*
 * The one encoding of a ct_event: used in EVENT frames (ingest -> store) and
 * as the LMDB value in `events` and `quarantine`. Versioned: the first byte is
 * the format version; decode refuses versions it does not know and any field
 * that does not fit its ct_event buffer. Version 2 appends the kind, the edge
 * flags, the scale's raw time/date text, the quarantine reason and the line
 * length to version 1; a version 1 record (a store written before) decodes
 * with those zero: a weighing with a valid timestamp.
 */
#ifndef CT_EVENT_CODEC_H
#define CT_EVENT_CODEC_H

#include "event/event.h"

#define CT_EVENT_CODEC_V1   1
#define CT_EVENT_CODEC_V2   2
/* Upper bound of one encoded event (all strings at their maximum: ~1.55 KB). */
#define CT_EVENT_ENC_MAX    2048

/* Returns the encoded length, or 0 if it does not fit cap. */
size_t event_encode(const struct ct_event *ev, uint8_t *buf, size_t cap);
/* 0 on success, -1 on a bad or truncated record. */
int event_decode(const uint8_t *buf, size_t len, struct ct_event *ev);

#endif
