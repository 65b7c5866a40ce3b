/*
 * The CarniTrack cloud's REST API for edges (shared/protocol/REST_API.md) as
 * data, no I/O: URLs (rest_url.c), request bodies (rest_encode.c), response
 * decoders (rest_decode.c, rest_results.c, on rest_json.c's bounded parse)
 * and the identity recovery rules (rest_policy.c).
 * lib/http carries the bytes; the cloud worker decides when to send what.
 *
 * Bodies reuse lib/cloudmsg wherever the two contracts agree: the event
 * object is cm_buf_event's (the WebSocket event payload: the twelve keys of
 * REST_API.md section 5 plus grossGrams, tareGrams and operator, which a REST
 * cloud ignores), the register body is cm_register_payload's, and the device
 * and batch builders extend cm_device_* and cm_offline_batch_end_payload.
 *
 * Decoders are bounded and strict like cm_decode: input size and nesting are
 * checked before jansson sees the text, every copied field is type- and
 * length-checked, and errors name the field ("results[3].localEventId: not a
 * UUID"). Where REST_API.md section 8 lists a bug of the previous client,
 * the decoder does not repeat it: a short /events/batch answer keeps the
 * results it has (item 7), a 200 without "sessions" is an error and not
 * "every session ended" (item 10).
 */
#ifndef CT_REST_H
#define CT_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloudmsg/cloudmsg.h"
#include "event/event.h"

#define REST_PATH_MAX       2048
#define REST_MAX_RESPONSE   (1024 * 1024)  /* largest body a decoder parses */
#define REST_MAX_SESSIONS   1024           /* entries in one /sessions answer */
#define REST_MAX_BATCH      1000           /* events in one /events/batch */
#define REST_ERR_MAX        200
#define REST_VERSION        "0.3.0"        /* X-Client-Version, "version" in bodies:
                                              the API version the cloud knows */

/* ------------------------------------------------------------ URLs (section 1) */

enum rest_endpoint {
	REST_REGISTER, REST_ACTIVATE, REST_CONFIG, REST_SESSIONS, REST_EVENTS,
	REST_EVENTS_BATCH, REST_BATCH_ACK, REST_HEARTBEAT, REST_DEVICE_STATUS,
};

struct rest_base {
	char api[REST_PATH_MAX];        /* "/api/v1": the URL's path, trailing '/'s and
	                                   one trailing "/edge" removed ("" for the root) */
	char edge[REST_PATH_MAX];       /* "/api/v1/edge" */
};

/* url: http(s)://host[:port]/path as [cloud] url gives it. Every edge path
 * goes under <api>/edge; /activate goes to <api>/activate (the old client
 * sent it under the configured path unnormalised, REST_API.md section 8
 * item 2, so a URL ending in /edge put it at .../edge/activate). A query or
 * fragment in the base URL is refused. */
int rest_base_parse(const char *url, struct rest_base *b, char *err, size_t errlen);

/* The absolute path of an endpoint ("/api/v1/edge/events/batch"). */
int rest_path(const struct rest_base *b, enum rest_endpoint e, char *out, size_t cap);

/* "/api/v1/edge/sessions?device_ids=SCALE-01,SCALE-02"; ids joined with ','
 * and bytes outside [A-Za-z0-9._~-] percent-encoded (a SCALE-NN id needs
 * none). -1 when n is 0 (no request at all then) or it does not fit. */
int rest_sessions_path(const struct rest_base *b, const char *const *ids, size_t n, char *out,
    size_t cap);

/* ------------------------------------------------------------ request bodies */

/* Every builder returns malloc'd compact JSON (free()) and its length, NULL
 * only when out of memory. */

/* POST /register: edgeId (null when NULL/""), siteId, siteName, version,
 * capabilities ["rest","tcp"]. */
char *rest_register_body(const char *edge_id, const char *site_id, const char *site_name,
    size_t *len);

/* POST /activate: {"code", "version", "capabilities":["weighing"]}; the code
 * is sent trimmed, as typed. */
char *rest_activate_body(const char *code, size_t *len);

/* POST /events: one event object appended to b (gid NULL: the device id);
 * b->oom says whether it failed. POST /events/batch: into out (reset
 * first), {"events":[ ... ]} around len bytes of event objects as
 * rest_event_body appends them, comma-separated (the transport encodes
 * each event once, as it is read, and sends them in batches). */
void rest_event_body(struct cm_buf *b, const struct ct_event *ev, const char *gid);
void rest_batch_wrap(struct cm_buf *out, const char *events, size_t len);
/* The whole POST /events/batch body of n events in one call (into out, reset
 * first), for programs that send a batch once: tests, probes, benchmarks. */
void rest_batch_of(struct cm_buf *out, const struct ct_event *ev, size_t n);

/* POST /offline-batches/ack. A batch with more events than one request
 * should carry is acknowledged in parts (the edge's REST_ACK_PART events
 * each): every part is a whole ACK body with the same batch fields, its
 * slice of eventIds, and "part"/"parts" (1-based; left out when parts is 1,
 * REST_API.md's shape). A cloud that dedupes by batchId alone answers the
 * later parts already_received: the batch is acknowledged either way. */
struct rest_batch_ack {
	struct cm_batch batch;          /* id, deviceId, startedAt, endedAt, eventCount,
	                                   totalWeightGrams */
	const uint8_t (*event_ids)[CT_UUID_LEN];   /* this part's events, oldest first */
	size_t nevents;
	unsigned part, parts;           /* 0 / 0 or 1 / 1: one ACK for all */
};
char *rest_batch_ack_body(const struct rest_batch_ack *a, size_t *len);

/* POST /heartbeat. */
struct rest_hb_device {
	const char *device_id;
	const char *global_device_id;   /* NULL/"": omitted */
	const char *device_type;        /* disassembly | retail | receiving */
	const char *status;             /* online | idle | stale | disconnected | unknown */
	int64_t     last_heartbeat_ms;  /* 0: never (sent as 1970-01-01T00:00:00.000Z) */
	int64_t     last_event_ms;      /* 0: omitted */
};
struct rest_heartbeat {
	const char *version;            /* NULL: REST_VERSION */
	int64_t     uptime_s;
	const char *health;             /* rest_health() */
	const struct rest_hb_device *devices;
	size_t      ndevices;
};
char *rest_heartbeat_body(const struct rest_heartbeat *h, size_t *len);
/* Section 4.8: "error" if offline or every (>= 1) scale is disconnected,
 * "degraded" if any is stale or disconnected, else "ok". */
const char *rest_health(bool online, size_t scales, size_t disconnected, size_t stale);

/* POST /devices/status, one of the three shapes of section 4.9. */
enum rest_dev_kind { REST_DEV_ONLINE, REST_DEV_HEARTBEAT, REST_DEV_DISCONNECTED };
struct rest_device_status {
	enum rest_dev_kind kind;
	struct cm_device   dev;         /* device_id, global_device_id, source_ip (ONLINE),
	                                   device_type (ONLINE), status (HEARTBEAT), reason
	                                   (DISCONNECTED), at_ms (HEARTBEAT, DISCONNECTED),
	                                   heartbeat_count */
	uint32_t           event_count;
};
char *rest_device_status_body(const struct rest_device_status *d, size_t *len);

/* ------------------------------------------------------------ response decoders */

/* GET /config, and the "config" object of /register and /activate. Values
 * that are not numbers, not > 0, or outside [REST_INTERVAL_MIN_MS,
 * REST_INTERVAL_MAX_MS] are skipped and counted (the first one named in
 * note) so that a wrong cloud value cannot make the edge poll in a loop. */
#define REST_INTERVAL_MIN_MS 1000
#define REST_INTERVAL_MAX_MS (24 * 3600 * 1000)
#define REST_CFG_IDLE      0x01
#define REST_CFG_WAITING   0x02
#define REST_CFG_ACTIVE    0x04
#define REST_CFG_HEARTBEAT 0x08
#define REST_CFG_BATCH     0x10
struct rest_config {
	unsigned set;                   /* REST_CFG_* present and valid */
	int64_t  idle_ms;               /* sessionPollIntervalIdleMs */
	int64_t  waiting_ms;            /* sessionPollIntervalWaitingMs */
	int64_t  active_ms;             /* sessionPollIntervalActiveMs */
	int64_t  heartbeat_ms;          /* heartbeatIntervalMs */
	int      max_batch;             /* maxBatchSize: ours (carnitrack-cloudsim's), 1..
	                                   REST_MAX_BATCH; the old cloud sends none */
	int      skipped;
	char     note[REST_ERR_MAX];    /* the first value skipped, and why */
};
int rest_decode_config(const char *buf, size_t len, struct rest_config *c, char *err,
    size_t errlen);

/* POST /register and /activate, 2xx: edgeId (a UUID of versions 1-5, nil
 * refused, blanks trimmed) and siteId (non-empty) required, camelCase or
 * snake_case (camelCase wins when both are present), siteName defaulting to
 * siteId, an optional config object. */
struct rest_identity {
	char edge_id[CM_ID_MAX];
	char site_id[CM_ID_MAX];
	char site_name[CM_NAME_MAX];
	bool has_config;
	struct rest_config config;
};
int rest_decode_identity(const char *buf, size_t len, struct rest_identity *id, char *err,
    size_t errlen);
/* REST_API.md section 2's edge id rule; out gets the trimmed id. */
bool rest_edge_id_valid(const char *s, char out[CM_ID_MAX]);

/* GET /sessions, 200: the complete current set. An entry the edge cannot use
 * (missing id, device or a value too long) is skipped and counted in
 * note/skipped; an entry whose status says it is over (ended, completed,
 * closed, cancelled, finished) is not current and left out; a status word
 * we do not know is taken as active (note says so). One session per device:
 * active beats pending beats paused, then the first listed wins. A missing
 * or non-array "sessions" is an error (the cache stays as it is). */
enum rest_session_status { REST_SESS_ACTIVE = 1, REST_SESS_PENDING, REST_SESS_PAUSED };
struct rest_session {
	enum rest_session_status status;
	char cloud_session_id[CT_SESSION_ID_MAX];
	char device_id[CT_DEVICE_ID_MAX];
	char animal_id[CM_ID_MAX];      /* "" if absent or null */
	char animal_tag[CM_ID_MAX];
	char animal_species[CM_ID_MAX];
	char operator_id[CM_ID_MAX];
};
struct rest_sessions {
	struct rest_session *s;         /* caller's array of cap entries */
	size_t cap, n;
	int    skipped, unknown_status, duplicates;
	char   note[REST_ERR_MAX];      /* the first oddity, for the log */
};
int rest_decode_sessions(const char *buf, size_t len, struct rest_sessions *out, char *err,
    size_t errlen);

/* What became of one event. */
enum rest_outcome {
	REST_RETRY = 0,                 /* no usable answer: send it again later */
	REST_DELIVERED,                 /* accepted or duplicate: stored in the cloud */
	REST_REJECTED,                  /* failed: a final reject, with a reason */
};
struct rest_event_result {
	enum rest_outcome outcome;
	bool duplicate;
	char cloud_event_id[CM_ID_MAX];
	char error[CM_NAME_MAX];        /* REJECTED: the cloud's reason; RETRY: ours */
};

/* POST /events, 2xx: a JSON object; status accepted/duplicate/absent ->
 * delivered, failed/rejected -> rejected (delivered if the reason says
 * duplicate). An empty or non-object body is an error: the event is sent
 * again rather than taken as stored on the word of a page we cannot read. */
int rest_decode_event(const char *buf, size_t len, struct rest_event_result *r, char *err,
    size_t errlen);

/* POST /events/batch, 2xx: results matched to ids[0..n) by localEventId,
 * order free. out[i] is the outcome of ids[i]; an id without a result is
 * RETRY (and only that one: REST_API.md section 8 item 7 failed the whole
 * batch). An entry twice: delivered beats rejected beats retry. */
struct rest_batch_note {
	size_t delivered, rejected, missing;   /* over the n sent */
	int    unknown_ids;             /* results for ids not sent */
	int    bad_entries;             /* not an object, no or bad localEventId */
	int    unknown_status;          /* counted as retry */
	char   note[REST_ERR_MAX];
};
int rest_decode_batch(const char *buf, size_t len, const uint8_t (*ids)[CT_UUID_LEN], size_t n,
    struct rest_event_result *out, struct rest_batch_note *note, char *err, size_t errlen);

/* The cloud's message in an error body ({"error":"..."} or {"message":
 * "..."}, or {"error":{"message":...}}), else a printable excerpt of the
 * body; for the log and for `carnitrackctl activate` (the old wizard never
 * showed it, section 8 item 2). */
void rest_error_message(const char *buf, size_t len, char *out, size_t cap);

/* ------------------------------------------------------------ identity (section 3.2) */

#define REST_REGISTER_MAX_ATTEMPTS   2
#define REST_REGISTER_RETRY_DELAY_MS 2000

/* An authenticated call answered 401 or 404 with a body that, lower-cased,
 * contains "missing", "invalid edge", "unknown edge", "invalid_edge",
 * "unknown_edge" or "x-edge-id": the cloud does not know this edge. */
bool rest_auth_rejected(int status, const char *body, size_t len);

/* /register failed with 400 whose body contains "edge", "uuid" or
 * "invalid", with 404, or with any failure status whose body contains "not
 * found": forget the identity, wait REST_REGISTER_RETRY_DELAY_MS, register
 * again with edgeId null (at most REST_REGISTER_MAX_ATTEMPTS in all). Any
 * other failure ends the attempt. */
bool rest_register_retry_fresh(int status, const char *body, size_t len);

/* What the caller does with an authenticated request's answer. Single-flight
 * stays the caller's: it passes whether a registration is running. */
enum rest_auth_action {
	REST_AUTH_NONE,      /* not an identity refusal: the ordinary outcome */
	REST_AUTH_START,     /* drop the identity, register with edgeId null, park this
	                        request and send it once more with the new id */
	REST_AUTH_WAIT,      /* a registration is running: park it, send it once more after */
	REST_AUTH_REPEAT,    /* the identity changed since it was sent: send it once more now */
	REST_AUTH_GIVE_UP,   /* it was already the repeat: an ordinary 4xx failure */
};
enum rest_auth_action rest_auth_action(int status, const char *body, size_t len,
    const char *sent_edge_id, const char *current_edge_id, bool registering, bool repeated);

#endif
