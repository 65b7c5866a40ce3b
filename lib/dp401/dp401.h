/*
 * DP-401 scale link parser (see shared/protocol/DP401.md). One parser per TCP
 * connection, independent of sockets: feed it whatever bytes a read returned
 * and it calls back once per packet found, in stream order. What it finds
 * does not depend on how TCP cut the stream.
 *
 * Framing rules (the first edge got these wrong; so did our first try):
 * - Control tokens (`SCALE-dd`, `HB`, `KONTROLLU AKTAR OK?`) have no
 *   terminator and are recognised wherever they start between lines, so one
 *   stray byte cannot wedge heartbeat detection.
 * - A line that starts like a record (`[P["]]` then 1-9 digits then `,`) is
 *   a record line. It ends at a line end (CR, LF or CRLF), at an ack request
 *   (the scale sends one only after a whole record: its line end was lost),
 *   or where the fixed head of another record (`ddddd,HH:MM:SS,DD.MM.YYYY,`)
 *   begins inside it (the same). A `SCALE-12` inside the operator text stays
 *   part of the record.
 * - The bridge's `HB` can land anywhere, inside tokens and records too: it
 *   is taken out (and counted as a heartbeat) where the record's shape says
 *   it cannot be text (dp401_hb.c).
 * - A record line that decodes is a RECORD; one with an impossible date or
 *   time is still a RECORD, flagged (CT_EVF_SCALE_TS_INVALID). A record line
 *   that does not decode is REJECTED: the caller keeps it as a quarantined
 *   line, since the scale deletes what it is told OK for. Only bytes that
 *   form no packet (garbage) are skipped and counted, never fatal.
 * - The buffer has a hard cap (DP401_BUF_MAX). A line that passes it is
 *   REJECTED with what was kept (overflow) and the rest is skipped up to a
 *   line end, an ack request or the next record head.
 */
#ifndef CT_DP401_H
#define CT_DP401_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define DP401_BUF_MAX        4096
#define DP401_SCALE_ID_LEN   8        /* "SCALE-07" */
#define DP401_REASON_MAX     160
#define DP401_CONFIRM_SKEW_S 5        /* P" copy: at most this much later */

#define DP401_ACK_TOKEN      "KONTROLLU AKTAR OK?"
#define DP401_OK_REPLY       "OK\n"

enum dp401_kind {
	DP401_REGISTER = 1,   /* scale_id */
	DP401_HEARTBEAT,
	DP401_ACK_REQUEST,
	DP401_RECORD,         /* ev, line (the record, heartbeats taken out) */
	DP401_REJECTED,       /* reason, line (as received), overflow: quarantine it */
};

struct dp401_item {
	enum dp401_kind        kind;
	char                   scale_id[DP401_SCALE_ID_LEN + 1];
	/* Parsed fields only: local_id, device_id, source_ip, received_at_ms
	 * and the store tags are left zero for the caller to fill in. */
	const struct ct_event *ev;
	const char            *reason;
	const uint8_t         *line;      /* without its terminator */
	size_t                 line_len;  /* for an overflow: the part kept */
	bool                   overflow;  /* rejected for passing DP401_BUF_MAX */
};

/* Called synchronously from dp401_feed/dp401_finish. The item and everything
 * it points to are valid during the call only. The callback may change the
 * parser's weight unit (e.g. on REGISTER) but must not feed or free it. */
typedef void (*dp401_cb)(void *arg, const struct dp401_item *item);

struct dp401_counters {
	uint64_t garbage_bytes;    /* bytes that formed no packet */
	uint64_t rejected_lines;   /* record-like lines that failed validation */
	uint64_t overflow_lines;   /* lines cut for passing the cap */
	uint64_t discarded_bytes;  /* the rest of those lines, skipped */
	uint64_t records;
	uint64_t invalid_times;    /* records with an impossible date/time */
	uint64_t split_lines;      /* lines ended by a record head or ack request */
	uint64_t heartbeats;       /* all of them, those inside packets included */
	uint64_t inner_heartbeats; /* taken out of records and tokens */
	uint64_t registrations;
	uint64_t ack_requests;
	uint64_t bytes;            /* everything fed */
};

enum dp401_state { DP401_ST_IDLE = 0, DP401_ST_LINE, DP401_ST_DISCARD };

struct dp401_parser {
	dp401_cb              cb;
	void                 *arg;
	int64_t               unit_grams;
	enum dp401_state      state;
	size_t                scanned;    /* ST_LINE: bytes of the line searched for its end */
	size_t                head;       /* ST_LINE: where another record may begin in it */
	size_t                len;
	struct dp401_counters cnt;
	uint16_t              prev_len;      /* the previous record line (dp401_hb.c) */
	uint8_t               prev[CT_RAW_MAX];
	uint8_t               buf[DP401_BUF_MAX];
};

/* weight_unit_grams < 1 is treated as 1. */
void dp401_init(struct dp401_parser *p, int64_t weight_unit_grams, dp401_cb cb, void *arg);
void dp401_set_unit(struct dp401_parser *p, int64_t weight_unit_grams);
void dp401_feed(struct dp401_parser *p, const void *data, size_t n);
/* End of stream: a record still missing its line end is parsed as if it had
 * one (the data is never dropped for that alone); a partial control token
 * counts as garbage. The parser is then empty and may be fed again. */
void dp401_finish(struct dp401_parser *p);
/* Bytes held waiting for the rest of a packet. */
static inline size_t dp401_pending(const struct dp401_parser *p) { return p->len; }

/* Parses one record line (no terminator, no heartbeats) into ev's parsed
 * fields. Returns 0, or -1 with a reason naming the field at fault. A date or
 * time that is malformed or impossible is not a failure: the weighing is
 * real. ev->edge_flags gets CT_EVF_SCALE_TS_INVALID, scale_ts 0 (the caller
 * puts its receive time there) and scale_time_raw/scale_date_raw the text. */
int dp401_parse_record(const uint8_t *line, size_t len, int64_t weight_unit_grams,
    struct ct_event *ev, char *reason, size_t reason_len);

/* The site's time zone for scale wall-clock times: sets the process TZ (the
 * worker owns its process) and calls tzset. -1 if tz is not a zoneinfo name
 * that exists on this host ("Europe/Istanbul", "UTC"). */
int dp401_set_timezone(const char *tz);
/* Scale wall clock (site zone) -> Unix seconds UTC; -1 for an impossible
 * date or time. A time inside a DST gap is taken as mktime normalises it
 * (one hour later); an ambiguous time at the fall-back hour is taken as
 * mktime chooses. Neither is rejected: the weighing itself is real. */
int dp401_local_to_utc(int year, int mon, int day, int hh, int mm, int ss, int64_t *out);

/* Is cur the P" confirmation copy of prev (the previous record of the same
 * connection)? Same PLU digits, barcode, gross, tare and net; cur's time not
 * before prev's and at most max_skew_s later (with an invalid scale time on
 * both: the same date text and time digits that far apart). */
bool dp401_is_confirmation(const struct ct_event *prev, const struct ct_event *cur,
    int max_skew_s);

/* Windows-1254 -> UTF-8 with glibc iconv; bytes iconv cannot map and
 * control bytes become U+FFFD. Trims spaces and tabs at both ends. -1 if
 * the result does not fit cap (NUL included). */
int dp401_text_to_utf8(const uint8_t *in, size_t n, char *out, size_t cap);

/* A record in the real 170-byte layout, for the simulator, tests and
 * benchmarks. Text arguments are raw Windows-1254 bytes; flags is 5 chars
 * or NULL/"" for a 10-field record; company NULL for none. Writes no line
 * end. Returns the length, or 0 if it does not fit cap. */
struct dp401_fmt {
	const char *plu_prefix;       /* "", "P\"" or "P" */
	unsigned    plu;              /* 0..99999 */
	int         hh, mi, ss, dd, mo, yyyy;
	const char *product, *barcode, *code, *operator_name;
	int64_t     gross, tare, net;
	const char *flags;
	const char *company;
};
size_t dp401_format_record(const struct dp401_fmt *f, char *out, size_t cap);

#endif
