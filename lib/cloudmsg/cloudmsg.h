/*
 * The JSON messages between edge and cloud (shared/protocol/
 * CLOUD_INTEGRATION_QUICKREF.md): the envelope {type, payload, timestamp,
 * messageId, edgeId?}, one builder per edge -> cloud payload, and a strict
 * decoder for cloud -> edge messages.
 *
 * Builders return a new jansson payload object (NULL only on allocation
 * failure); cm_encode() wraps a payload in the envelope and serialises it.
 * The decoder bounds the input (size, nesting) before jansson sees it, then
 * checks every field it copies: a message that passes cm_decode() has every
 * required field present, of the right type, and fitting its buffer. On
 * failure the error text names the field at fault ("payload.status: ...").
 *
 * Files: cm_build.c (the envelope and the payload builders, cm_jstr),
 * cm_fast.c (events straight into text), cm_decode.c (the decoder),
 * cm_ack_fast.c (the plain event_ack without a tree), cm_field.c and
 * cm_reply.c (field readers, the registration reply; cm_int.h), cm_scan.c
 * (the receiving side's event scanner, cm_scan.h).
 */
#ifndef CT_CLOUDMSG_H
#define CT_CLOUDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "event/event.h"
#include "ipc_proto.h"

/* Largest cloud -> edge message we parse; a real one is < 4 KiB (plu_updated
 * is the biggest). Larger ones are refused unparsed. */
#define CM_MAX_MSG        (256 * 1024)
/* Deepest nesting of arrays/objects we accept. jansson's own bound is 2048
 * (JSON_PARSER_MAX_DEPTH) and it recurses to get there; no message we know
 * nests deeper than 3, so refuse early and cheaply. */
#define CM_MAX_DEPTH      32
#define CM_ERR_MAX        160

#define CM_ID_MAX         128   /* edgeId, cloudEventId, animalId, ... */
#define CM_NAME_MAX       256   /* siteName, reason */
#define CM_TYPE_MAX       48

/* ------------------------------------------------------------ encoding */

/* Envelope: {"type", "payload", "timestamp", "messageId"[, "edgeId"]}.
 * Steals payload (even on failure). edge_id NULL or "" omits "edgeId".
 * Returns malloc'd compact JSON (free()), length in *len; NULL on failure. */
char *cm_encode(const char *type, json_t *payload, const char *edge_id, size_t *len);

struct cm_register {
	const char *edge_id;            /* NULL or "" -> null (first registration) */
	const char *site_id;            /* NULL or "" -> null */
	const char *site_name;
	const char *version;
	const char *const *capabilities;
	size_t      ncapabilities;
};
json_t *cm_register_payload(const struct cm_register *r);

/* A JSON string from text that should be UTF-8 (store text was converted
 * from cp1254, config text was checked): should a byte still be invalid,
 * the text goes with every non-ASCII byte as '?' rather than not at all.
 * NULL -> null; NULL only when out of memory. cm_jstr_or_null: "" -> null. */
json_t *cm_jstr(const char *s);
json_t *cm_jstr_or_null(const char *s);

/* "SITE01-SCALE-01": the site-wide name of a scale. site_id "" -> device id. */
void cm_global_device_id(const char *site_id, const char *device_id, char *out, size_t cap);

struct cm_device {
	const char *device_id;
	const char *global_device_id;   /* device_connected, device_heartbeat */
	const char *source_ip;          /* device_connected */
	const char *device_type;        /* device_connected */
	const char *reason;             /* device_disconnected */
	const char *status;             /* device_heartbeat: "online", "stale" */
	uint32_t    heartbeat_count;    /* device_heartbeat */
	int64_t     at_ms;              /* device_disconnected, device_heartbeat */
};
json_t *cm_device_connected_payload(const struct cm_device *d);
json_t *cm_device_disconnected_payload(const struct cm_device *d);
json_t *cm_device_heartbeat_payload(const struct cm_device *d);


struct cm_batch {
	uint8_t     batch_id[CT_UUID_LEN];
	const char *device_id;
	int64_t     started_at_ms;
	int64_t     ended_at_ms;        /* offline_batch_end */
	uint64_t    event_count;        /* offline_batch_end */
	int64_t     total_weight_g;     /* offline_batch_end */
	bool        clock_adjusted;     /* offline_batch_end: wall stamps clamped to the
	                                   monotonic clock (an extra field) */
};
json_t *cm_offline_batch_start_payload(const struct cm_batch *b);
json_t *cm_offline_batch_end_payload(const struct cm_batch *b);

json_t *cm_ping_payload(void);
/* ping_id: the messageId of the ping answered, NULL if unknown. */
json_t *cm_pong_payload(const char *ping_id);

struct cm_status {
	const char *version;
	int64_t     uptime_s;
	const char *health;             /* "ok", "degraded" */
	uint64_t    backlog;            /* events not yet acknowledged */
	uint32_t    scales;             /* connected scales */
	uint32_t    in_flight;
	uint64_t    acked_today;
};
json_t *cm_status_payload(const struct cm_status *s);

/* ------------------------------------------------------------ decoding */

/*
 * Liberal where the contract leaves room, strict where a value is acted on
 * (shared/protocol/CLOUD_INTEGRATION_QUICKREF.md and issue 12):
 *   - ids the cloud makes (cloudEventId, cloudSessionId, messageId,
 *     animalId, operatorId, edgeId, siteId, pingId) may be JSON strings or
 *     integers; localEventId is ours and must be our UUID;
 *   - the envelope timestamp may be ISO 8601 text, epoch milliseconds, or
 *     absent; an unreadable one is not an error (sent_at_ms -1,
 *     timestamp_unreadable set, for the caller to log once);
 *   - sessionId is an alias of cloudSessionId; session_ended/paused/resumed
 *     may come without deviceId (the store finds the session by its id);
 *     session_started may carry a status (active, pending, paused);
 *   - event_ack without status means accepted; status and event_rejected's
 *     "duplicate" are matched without regard to case;
 *   - unknown fields are ignored, unknown types come back as CM_UNKNOWN.
 */
enum cm_type {
	CM_UNKNOWN = 0,          /* valid envelope, type we do not handle */
	CM_EDGE_REGISTERED,
	CM_CONFIG_UPDATE,
	CM_SESSION_STARTED,
	CM_SESSION_ENDED,
	CM_SESSION_PAUSED,
	CM_SESSION_RESUMED,
	CM_EVENT_ACK,
	CM_EVENT_REJECTED,
	CM_PLU_UPDATED,
	CM_PING,
	CM_PONG,
	CM_ERROR,
};

struct cm_identity {             /* edge_registered, config_update, HTTP reply */
	bool has_edge_id;        /* config_update may carry none */
	char edge_id[CM_ID_MAX];
	char site_id[CM_ID_MAX];        /* "" if absent or null */
	char site_name[CM_NAME_MAX];
};

/* session_started's optional status; a paused session does not tag. */
enum cm_session_status {
	CM_SESS_STATUS_NONE = 0,        /* not given: active */
	CM_SESS_STATUS_ACTIVE,
	CM_SESS_STATUS_PENDING,         /* tags like active: the scale is on it */
	CM_SESS_STATUS_PAUSED,
	CM_SESS_STATUS_OTHER,           /* a word we do not know: taken as active */
};

struct cm_session {              /* session_started/ended/paused/resumed */
	enum ct_session_change change;
	enum cm_session_status status;  /* started only */
	char status_text[24];           /* as sent (cut to fit), for logging OTHER */
	char cloud_session_id[CT_SESSION_ID_MAX];
	char device_id[CT_DEVICE_ID_MAX];  /* "" only for ended/paused/resumed */
	char animal_id[CM_ID_MAX];      /* started only; "" if absent or null */
	char animal_tag[CM_ID_MAX];
	char animal_species[CM_ID_MAX];
	char operator_id[CM_ID_MAX];
	char reason[CM_NAME_MAX];       /* ended only */
};

struct cm_ack {                  /* event_ack */
	uint8_t     local_id[CT_UUID_LEN];
	enum ct_ack status;
	char        cloud_event_id[CM_ID_MAX];   /* "" if absent or null */
};

struct cm_reject {               /* event_rejected */
	uint8_t local_id[CT_UUID_LEN];
	char    reason[CM_NAME_MAX];
	bool    duplicate;       /* reason (or code/status) says duplicate: delivered */
};

struct cm_plu {                  /* plu_updated */
	char  plu_code[32];
	char *payload_json;      /* the payload as sent, compact; malloc'd */
	size_t payload_len;
};

struct cm_error {                /* error: {code?, message?} in payload or envelope */
	char code[CM_ID_MAX];
	char message[CM_NAME_MAX];      /* message, error or reason; cut to fit */
	bool unknown_edge;              /* it says the cloud does not know this edge */
};

struct cm_msg {
	enum cm_type type;
	char type_name[CM_TYPE_MAX];    /* as sent (cut to fit), for logging */
	char message_id[CM_ID_MAX];     /* "" if absent */
	char ping_id[CM_ID_MAX];        /* pong: payload.pingId if present */
	int64_t sent_at_ms;             /* envelope timestamp; -1 absent or unreadable */
	bool timestamp_unreadable;      /* present but neither ISO 8601 nor a number */
	union {
		struct cm_identity identity;
		struct cm_session  session;
		struct cm_ack      ack;
		struct cm_reject   reject;
		struct cm_plu      plu;
		struct cm_error    error;
	} u;
};

/* 0 on success (m->type may be CM_UNKNOWN: the caller logs and ignores it).
 * -1 on anything else with err naming the fault; m is then empty. Call
 * cm_msg_clear() after a successful decode. */
int  cm_decode(const char *buf, size_t len, struct cm_msg *m, char *err, size_t errlen);
void cm_msg_clear(struct cm_msg *m);
/* cm_decode answers the commonest message, a plain event_ack, without
 * building a JSON tree (cm_ack_fast.c) and hands everything else, and
 * anything unusual in an ack, to jansson. These are the two halves, for
 * tests that hold them to the same answers: the fast one returns 1 when it
 * decoded, 0 when the message is not for it (m untouched then). */
int  cm_decode_tree(const char *buf, size_t len, struct cm_msg *m, char *err, size_t errlen);
int  cm_decode_ack_fast(const char *buf, size_t len, struct cm_msg *m);

/* The body of an HTTP registration reply: {edgeId, siteId, siteName} in
 * camelCase or snake_case (camelCase wins), possibly wrapped in "data" or
 * "edge". edgeId is required. Same bounds as cm_decode. */
int  cm_decode_registration(const char *buf, size_t len, struct cm_identity *id,
    char *err, size_t errlen);

/* "2026-01-30T10:00:00Z", with optional fraction, "+03:00"/"+0300" zone,
 * ' ' for 'T', or no zone (UTC) -> epoch ms. 0 or -1. */
int  cm_iso_parse(const char *s, int64_t *ms);
/* A JSON time: ISO 8601 text or epoch milliseconds; -1 for anything else. */
int64_t cm_time_ms(const json_t *v);
/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), len bytes. */
bool cm_utf8_valid(const char *s, size_t len);

/* 0 if buf nests arrays/objects no deeper than max (strings skipped). */
int  cm_check_depth(const char *buf, size_t len, int max);


/* ------------------------------------------------------------ fast path */

/*
 * The stream's encoder: events written straight into text, no JSON tree,
 * several times cheaper than a JSON tree with cm_encode (the edge sends
 * tens of thousands a second). Same fields, same values: the unit tests
 * hold it to a tree builder (tests/unit/cm_event_tree.h), json_equal.
 * Strings are escaped; one that is not valid UTF-8 has its non-ASCII bytes
 * replaced by '?', as cm_jstr does.
 *
 *   cm_buf_open(b, "event_batch", edge_id); cm_buf_raw(b, "{\"events\":[");
 *   cm_buf_event(b, ev, gid) ... (cm_buf_raw(b, ",") between)
 *   cm_buf_raw(b, "]}"); cm_buf_close(b);
 */
struct cm_buf {
	char  *p;
	size_t len, cap;
	bool   oom;              /* an append failed: the text is unusable */
};
void cm_buf_reset(struct cm_buf *b);      /* len = 0, oom cleared; keeps memory */
void cm_buf_free(struct cm_buf *b);
void cm_buf_raw(struct cm_buf *b, const char *s);
void cm_buf_rawn(struct cm_buf *b, const char *s, size_t n);
/* Envelope up to the payload: {"type":..,"timestamp":..,"messageId":..[,"edgeId":..],"payload": */
void cm_buf_open(struct cm_buf *b, const char *type, const char *edge_id);
void cm_buf_close(struct cm_buf *b);      /* the envelope's closing brace */
void cm_buf_event(struct cm_buf *b, const struct ct_event *ev, const char *global_device_id);

#endif
