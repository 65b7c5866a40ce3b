/*
 * One weighing as the edge keeps it: what the DP-401 parser found, what ingest
 * added (identity, time of arrival), and what store added (sequence, tags).
 * Beside it: event_util.c (UUIDs, ISO times), event_codec.c (the record's
 * binary form, event_codec.h), event_window.c (events sent and not yet
 * answered, event_window.h).
 * Fixed-size fields keep every copy bounded; the sizes are the largest a valid
 * record can produce after Windows-1254 -> UTF-8 conversion (at most 3 bytes
 * per input byte for this code page).
 */
#ifndef CT_EVENT_H
#define CT_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "util/clock.h"

#define CT_UUID_LEN        16
#define CT_UUID_STR        37   /* 36 chars + NUL */
#define CT_DEVICE_ID_MAX   64   /* "SCALE-07", "UNREGISTERED-<ipv6>" */
#define CT_IP_MAX          48
#define CT_PLU_MAX         8    /* 5 digits + NUL */
#define CT_PRODUCT_MAX     64   /* 16 cp1254 bytes -> <= 48 UTF-8 bytes */
#define CT_BARCODE_MAX     16
#define CT_CODE_MAX        8
#define CT_OPERATOR_MAX    160  /* 48 cp1254 bytes -> <= 144 UTF-8 bytes */
#define CT_COMPANY_MAX     256
#define CT_FLAGS_MAX       8
#define CT_RAW_MAX         512  /* a real record is ~170 bytes */
#define CT_SESSION_ID_MAX  64
#define CT_TS_RAW_MAX      16   /* the scale's time or date text as sent ("24:00:00") */
#define CT_REASON_MAX      160  /* why a line was quarantined */

enum ct_plu_prefix { CT_PLU_PLAIN = 0, CT_PLU_PQUOTE = 1, CT_PLU_P = 2 };

/*
 * What a kept line is. A weighing goes to the cloud. A quarantined line is
 * record-shaped bytes the parser could not decode (wrong field count, a bad
 * number, longer than a record can be): it is stored, counted and covered by
 * the OK like a weighing, because the scale deletes what it was told OK for,
 * but it never goes to the cloud. Only the identity, receivedAt, raw, line_len
 * and reason of a quarantined line are meaningful.
 */
enum ct_event_kind { CT_EV_WEIGHING = 0, CT_EV_QUARANTINED = 1 };

/* edge_flags: what the edge knows about the record beyond its fields. */
#define CT_EVF_SCALE_TS_INVALID 0x01   /* impossible date/time: scale_ts is receivedAt;
                                        * the scale's text is in scale_*_raw */

struct ct_event {
	/* identity, set by ingest */
	uint8_t  local_id[CT_UUID_LEN];       /* UUIDv4, localEventId */
	char     device_id[CT_DEVICE_ID_MAX];
	char     source_ip[CT_IP_MAX];
	int64_t  received_at_ms;              /* Unix ms, UTC */

	/* parsed record, set by the DP-401 parser */
	int64_t  scale_ts;                    /* Unix seconds, UTC */
	char     plu[CT_PLU_MAX];
	uint8_t  plu_prefix;                  /* enum ct_plu_prefix */
	char     product[CT_PRODUCT_MAX];     /* UTF-8, trimmed */
	char     barcode[CT_BARCODE_MAX];
	char     code[CT_CODE_MAX];
	char     operator_name[CT_OPERATOR_MAX];
	char     company[CT_COMPANY_MAX];
	int64_t  gross_raw, tare_raw, net_raw;   /* as the scale sent them */
	int64_t  gross_g, tare_g, net_g;         /* raw * weight_unit_grams */
	char     flags[CT_FLAGS_MAX];            /* the 1-char flag fields, "" if none */
	uint16_t raw_len;
	uint8_t  raw[CT_RAW_MAX];                /* the record line, no terminator; of a
	                                          * quarantined line its first CT_RAW_MAX bytes */
	uint8_t  kind;                           /* enum ct_event_kind */
	uint8_t  edge_flags;                     /* CT_EVF_* */
	char     scale_time_raw[CT_TS_RAW_MAX];  /* set with CT_EVF_SCALE_TS_INVALID, */
	char     scale_date_raw[CT_TS_RAW_MAX];  /* printable ASCII, cut to fit */
	char     reason[CT_REASON_MAX];          /* quarantined: why */
	uint32_t line_len;                       /* quarantined: the whole line's length */

	/* tags, set by store */
	uint64_t seq;
	bool     offline;
	char     cloud_session_id[CT_SESSION_ID_MAX];   /* "" = null */
	uint8_t  offline_batch_id[CT_UUID_LEN];         /* all zero = null */
};

/* UUID helpers (OpenSSL RAND_bytes); text form is lower-case 8-4-4-4-12. */
int  ct_uuid_new(uint8_t out[CT_UUID_LEN]);
void ct_uuid_fmt(const uint8_t id[CT_UUID_LEN], char out[CT_UUID_STR]);
int  ct_uuid_parse(const char *s, uint8_t out[CT_UUID_LEN]);
bool ct_uuid_is_nil(const uint8_t id[CT_UUID_LEN]);

/* ISO 8601 UTC, "2026-01-30T10:00:00Z" or with ".123Z" for ms. */
#define CT_ISO_MAX 32
void ct_iso_from_sec(int64_t sec, char out[CT_ISO_MAX]);
void ct_iso_from_ms(int64_t ms, char out[CT_ISO_MAX]);
/* The clocks (ct_now_ms, ct_now_ms_mono, ct_now_ns_mono) are util/clock.h's. */

#endif
