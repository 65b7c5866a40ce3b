/*
 * carnitrack-cloudsim: a reference cloud for the edge's WebSocket protocol
 * (shared/protocol/CLOUD_INTEGRATION_QUICKREF.md). One process, one libevent
 * loop: a WebSocket server (hand-written upgrade, wslay framing, optional
 * TLS), the cloud's side of the protocol kept in memory, and a line command
 * interface on stdin and an optional loopback control port. With --rest the
 * server is evhttp serving the REST API (shared/protocol/REST_API.md,
 * sim_rest*.c) on the same state: one judgement of events, one session
 * table, one set of edge ids, one stats line.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "cloudmsg/cm_scan.h"

#define SIM_MAX_CONNS       64
#define SIM_MAX_SESSIONS    1024
#define SIM_MAX_BATCHES     65536
#define SIM_MAX_REJECT_PLU  64
#define SIM_HTTP_MAX        8192            /* request head */
#define SIM_WS_MAX_MSG      (16u << 20)     /* one event_batch of 500 is ~250 KiB */
#define SIM_OUT_HIGH        (32u << 20)     /* stop reading an edge that does not read acks */
#define SIM_CTL_LINE_MAX    (1u << 20)
#define SIM_MAX_EDGES       256             /* edge ids issued and remembered */
#define SIM_POST_MAX        (64u << 10)     /* HTTP registration body */

/* How this cloud answers `register` (--register-reply). */
enum sim_reply { REPLY_EDGE_REGISTERED = 0, REPLY_CONFIG_UPDATE, REPLY_NONE, REPLY_HTTP };

struct sim_opts {
	char        listen[128];        /* "127.0.0.1:8080" */
	const char *cert, *key;
	const char *token;              /* required Bearer token, NULL = none */
	char        reject_plu[SIM_MAX_REJECT_PLU][16];
	int         nreject_plu;
	bool        auto_session;
	bool        quiet;
	bool        no_ack;
	int         control_port;       /* 0 = none */
	const char *event_log;
	/* dialects: the clouds that exist (sim_dialect.c) */
	enum sim_reply register_reply;
	bool        numeric_ids;        /* ids as JSON integers */
	bool        binary_frames;      /* every message in a binary frame */
	bool        epoch_timestamps;   /* envelope timestamp as epoch ms */
	bool        session_id_alias;   /* sessionId, no deviceId on end/pause/resume, status */
	bool        no_dedupe;          /* a re-sent event: event_rejected "duplicate" */
	/* --rest: the REST API instead of WebSocket (sim_rest.c, sim_rest_api.c) */
	bool        rest;
	char        rest_base[128];     /* "/api/v1": edge paths under <base>/edge */
	char        rest_listen[128];   /* --rest-listen: REST here too, beside the
	                                   WebSocket on listen ("": none) */
	int         batch_limit;        /* events per POST /events/batch (maxBatchSize) */
	int64_t     rest_intervals[4];  /* /config: idle, waiting, active, heartbeat ms */
	bool        accept_any_edge;    /* any well-formed X-Edge-Id, as the old mock */
	char        activation_codes[8][64];
	bool        activation_used[8];
	int         nactivation;
};

/* One set of 16-byte ids (open addressing, grows by doubling). */
enum { ID_ACCEPTED = 1, ID_REJECTED = 2 };
struct idset {
	uint8_t *keys;                  /* cap x 16 */
	uint8_t *state;                 /* cap; 0 = empty */
	size_t   cap, n;
};
int  idset_init(struct idset *s);
void idset_free(struct idset *s);
/* 0 if absent, else the stored state. */
int  idset_get(const struct idset *s, const uint8_t id[16]);
/* -1 only on allocation failure. */
int  idset_put(struct idset *s, const uint8_t id[16], int state);

enum conn_state { CONN_HTTP, CONN_WS, CONN_CLOSING };

struct conn {
	struct sim         *sim;
	struct bufferevent *bev;
	wslay_event_context_ptr ws;
	enum conn_state     state;
	bool                registered;
	bool                read_paused;
	bool                frozen;         /* "freeze": neither read nor written */
	uint64_t            id;
	char                peer[64];
	char                edge_id[64];
	char                site_id[64];
};

struct session {
	char device_id[64];
	char id[40];
	char animal_id[40], operator_id[40];
	char animal_tag[64];
	bool paused;
};

struct batch {
	uint8_t id[16];
	char    device_id[64];
	bool    start_seen, end_seen;
	int64_t event_count, total_weight;     /* as the edge reported */
	int64_t recv_events, recv_weight;      /* accepted events carrying this id */
	int64_t acked_at_ms;                   /* REST offline-batches/ack, 0: none */
	/* REST: eventIds of the ACK (of all its parts, each part once) */
	int64_t ack_ids, ack_ids_unknown;      /* listed; not events it accepted */
	int     ack_parts, ack_parts_seen;     /* announced (1: one ACK); received */
	uint8_t parts_seen[32];                /* parts 1..256 received, a bit each */
};

struct sim_stats {
	uint64_t accepted, duplicates, rejected, rejected_again;
	uint64_t batches, batch_events, batch_events_received;
	uint64_t events, tagged, offline_events, malformed, messages;
	uint64_t connects, registers, unauthorized, pings;
	uint64_t http_registers, unknown_edge_refusals;
};

struct sim {
	struct event_base     *base;
	struct sim_opts        o;
	struct evconnlistener *lis;
	struct evconnlistener *ctl_lis;
	SSL_CTX               *ssl;
	struct conn           *conns[SIM_MAX_CONNS];
	uint64_t               next_conn_id;
	struct idset           ids;
	uint8_t                cloud_key[16];   /* cloudEventId = localEventId ^ key */
	struct session         sessions[SIM_MAX_SESSIONS];
	int                    nsessions;
	struct batch          *batches;
	int                    nbatches;
	struct sim_stats       st;
	FILE                  *event_log;
	struct cm_scan_event      *scan;            /* CM_SCAN_MAX */
	bool                   acking;
	uint64_t               msg_seq;
	uint8_t                msg_base[8];
	int                    exit_code;
	struct sim_rest       *rest;            /* --rest; NULL otherwise */
	uint64_t               next_numeric_id;   /* --numeric-ids: sessions, animals, ... */
	/* edge ids issued; after `forget` only these are known (strict) */
	char                   edges[SIM_MAX_EDGES][64];
	int                    nedges;
	bool                   strict_edges;      /* register: unknown edgeId -> new id */
	bool                   strict_upgrade;    /* upgrade: unknown X-Edge-Id -> 401 */
};

/* sim_server.c */
int  sim_listen(struct sim *s);
void sim_unlisten(struct sim *s);
void sim_drop_all(struct sim *s);
int  sim_conn_send(struct conn *c, const char *text, size_t len);   /* text or binary frame */
int  sim_conn_send_op(struct conn *c, int opcode, const char *text, size_t len);
int  sim_nconns(const struct sim *s);
/* --require-token: auth ("Bearer TOK", NULL for none) is what it asks. */
bool sim_token_ok(const struct sim *s, const char *auth);
/* freeze: stop all I/O on the open links (a hung peer); thaw: resume.
 * Returns how many links changed. */
int  sim_freeze(struct sim *s, bool on);
/* Hands everything queued on every link to libevent. */
void sim_pump_all(struct sim *s);

/* sim_upgrade.c: parses the request head; on success fills key and returns
 * 0; otherwise returns the HTTP status to answer with (405 for a method
 * other than GET: the caller may take a POST for registration). */
struct upgrade_req {
	char path[256];
	char key[64];
	char auth[256];
	char edge_id[64], site_id[64], client_type[64], client_version[64];
};
int  sim_parse_upgrade(const char *head, size_t len, struct upgrade_req *r);
void sim_accept_key(const char *key, char out[64]);



/* sim_dialect.c: envelopes and ids as the chosen dialect spells them. */
/* {type, payload, timestamp, messageId}; steals payload. malloc'd, NULL on failure. */
void    sim_send(struct conn *c, const char *type, json_t *payload);
void    sim_broadcast(struct sim *s, const char *type, json_t *payload);
/* An id the cloud makes: its text, or the integer it spells (--numeric-ids). */
json_t *sim_id(const struct sim *s, const char *text);
/* A fresh id: a UUID, or the next integer (--numeric-ids). */
void    sim_new_id(struct sim *s, char out[40]);
/* The cloudEventId of an event: the same every time for the same
 * localEventId (as a database's existing row would give), not stored. */
void    sim_cloud_event_id(const struct sim *s, const uint8_t id[16], char out[37]);
/* event_ack (or event_rejected "duplicate" under --no-dedupe). */
void    sim_send_ack(struct conn *c, const uint8_t local_id[16], bool dup);
const char *sim_reply_name(enum sim_reply r);
int     sim_reply_parse(const char *s, enum sim_reply *out);

/* sim_register.c: registration over WebSocket and HTTP POST, edge ids. */
void sim_on_register(struct conn *c, json_t *payload);
/* Edge ids this cloud issued or accepted (the oldest go past SIM_MAX_EDGES). */
bool sim_edge_known(const struct sim *s, const char *id);
void sim_edge_remember(struct sim *s, const char *id);
/* An upgrade naming an edge this cloud does not know (after `forget`). */
bool sim_edge_refused(struct sim *s, const char *edge_id);
/* at_upgrade: also refuse upgrades naming a forgotten id (else only
 * registrations get new ids). */
void sim_edges_forget(struct sim *s, bool at_upgrade);
/* The head of a POST is in the input: answers it when the body is there.
 * Returns -1 when c was answered (closing), 0 to wait for more input. */
int  sim_http_post(struct conn *c, size_t head_len);
/* HTTP answer and close; sim_server.c */
void sim_http_respond(struct conn *c, int status, const char *ctype, const char *body);

/* sim_cloud.c: the cloud side of the protocol. */
/* How this cloud judged one event, whatever carried it (WebSocket or REST). */
enum sim_verdict {
	SIM_ACCEPTED,           /* first time: stored */
	SIM_DUPLICATE,          /* localEventId seen and accepted before */
	SIM_REJECTED,           /* --reject-plu (now or the first time); why says so */
	SIM_MALFORMED,          /* a required field missing or bad; why names it */
	SIM_LOST,               /* out of memory: no answer at all */
};
/* Dedupe by localEventId, PLU rejection, batch accounting, stats, the event
 * line and log, --auto-session. id gets the parsed localEventId (not for
 * MALFORMED); conn_id only labels the printed line. */
enum sim_verdict sim_judge_event(struct sim *s, uint64_t conn_id, const struct cm_scan_event *e,
    uint8_t id[16], const char **why);
/* The fields of one event object into ev (the scanner's slower twin). */
void sim_event_from_json(json_t *j, struct cm_scan_event *ev);
void sim_on_text(struct conn *c, const char *msg, size_t len);
void sim_on_open(struct conn *c);
int  sim_session_start(struct sim *s, const char *device, const char *tag, char *err,
    size_t errlen);
int  sim_session_end(struct sim *s, const char *device, const char *reason, char *err,
    size_t errlen);
int  sim_session_pause(struct sim *s, const char *device, bool pause, char *err, size_t errlen);
void sim_stats_json(struct sim *s, struct evbuffer *out);
void sim_batches_json(struct sim *s, struct evbuffer *out);
void sim_sessions_json(struct sim *s, struct evbuffer *out);
void sim_summary(struct sim *s);
json_t *sim_session_started_payload(struct sim *s, const struct session *se);
json_t *sim_session_ref_payload(struct sim *s, const struct session *se, const char *reason);
void sim_new_message_id(struct sim *s, char out[40]);

/* The batch record for id (made on first sight); NULL when the table is full. */
struct batch *sim_batch_get(struct sim *s, const uint8_t id[16], const char *device);

/* sim_rest.c: --rest, the REST API of shared/protocol/REST_API.md. */
enum {                          /* its long options (getopt values past any char) */
	SIM_OPT_REST = 0x100, SIM_OPT_REST_BASE, SIM_OPT_REST_LISTEN, SIM_OPT_BATCH_LIMIT,
	SIM_OPT_INTERVALS, SIM_OPT_ANY_EDGE, SIM_OPT_ACTIVATION,
};
void sim_rest_defaults(struct sim_opts *o);
/* One of the options above; -1 (logged) on a bad value. */
int  sim_rest_option(struct sim_opts *o, int opt, const char *arg);
int  sim_rest_listen(struct sim *s);
bool sim_rest_listening(const struct sim *s);
void sim_rest_free(struct sim *s);
/* REST's own commands (fail, hang) and its drop, stop, listen, freeze, thaw,
 * send; 1 if cmd was one of them. args: the rest of the line. */
int  sim_rest_command(struct sim *s, const char *cmd, const char *args, struct evbuffer *out);
/* ,"rest_...":N fields for the stats line */
void sim_rest_stats_json(const struct sim *s, struct evbuffer *out);

/* sim_control.c */
int  sim_control_init(struct sim *s);
void sim_control_free(struct sim *s);
/* Runs one command line; the answer goes to out. Returns 1 for quit. */

#endif
