/*
 * The ingest worker's insides, shared by its files:
 *   ingest_worker.c  worker ops, IPC with store (EVENT out, EVENT_STORED /
 *                    EVENT_REFUSED in, DEVICE out), status, shutdown
 *   ingest_conn.c    the scale port: listener, connections, parsing,
 *                    identity, liveness
 *   ingest_queue.c   events not yet confirmed by store, by id
 *   ingest_device.c  the per-scale table shown by status / devices
 */
#ifndef CT_INGEST_H
#define CT_INGEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dp401/dp401.h"
#include "dp401/dp401_ack.h"
#include "event/event.h"
#include "log/log_flap.h"
#include "worker.h"

/* Unconfirmed events: at this many, scale sockets stop being read (TCP
 * back-pressure, nothing dropped); reading resumes below the low mark. Each
 * connection may still finish the one read in hand (at most
 * INGEST_READ_MAX bytes, ~24 records), so the true bound is
 * QUEUE_HIGH + connections * 24. */
#define INGEST_QUEUE_HIGH   10000
#define INGEST_QUEUE_LOW    9000
#define INGEST_READ_MAX     4096
#define INGEST_OUT_MAX      (64 * 1024)   /* OKs the scale does not read: close */
#define INGEST_RESEND_MS    5000          /* unconfirmed this long: send again */
#define INGEST_REFUSED_MS   1000          /* wait after EVENT_REFUSED store_full */
#define INGEST_BLOCKED_MS   50            /* retry after the IPC queue was full */
#define INGEST_MAX_DEVICES  1024

struct conn;
struct ingest;

struct qev {
	TAILQ_ENTRY(qev) all;        /* arrival order */
	TAILQ_ENTRY(qev) of_conn;
	struct conn     *conn;       /* NULL once that connection is gone */
	uint64_t         rec_no;     /* number in conn's ack ledger */
	int64_t          sent_ms;    /* monotonic; 0 = (re)send at the next flush */
	uint32_t         sends;
	uint8_t          id[CT_UUID_LEN];
	uint16_t         enc_len;
	uint8_t          enc[];      /* event_codec record */
};
TAILQ_HEAD(qev_list, qev);

struct ingest_queue {
	struct qev_list all;
	size_t          n;
	struct qev    **slots;       /* open addressing by id, linear probing */
	size_t          cap;         /* power of two, > 2 n */
};

int  queue_init(struct ingest_queue *q);
void queue_free(struct ingest_queue *q);
/* Appends; NULL on allocation failure. */
struct qev *queue_add(struct ingest_queue *q, const struct ct_event *ev);
struct qev *queue_find(struct ingest_queue *q, const uint8_t id[CT_UUID_LEN]);
void queue_remove(struct ingest_queue *q, struct qev *e);

enum dev_status { DEV_OFFLINE = 0, DEV_ONLINE, DEV_STALE };

struct device {
	char     id[CT_DEVICE_ID_MAX];
	char     address[CT_IP_MAX + 8];   /* "ip:port" of the latest connection */
	enum dev_status status;
	int64_t  connected_since_ms;       /* wall clock */
	int64_t  last_heartbeat_ms;
	int64_t  last_seen_ms;
	uint32_t heartbeats;
	uint64_t events_today;
	int      today;                    /* yyyymmdd (site zone) of events_today */
	uint64_t rejected_lines;
	uint64_t supersedes;
	int64_t  last_supersede_ms;
	bool     duplicate;                /* two scales keep taking this id */
	char     moved_from[CT_IP_MAX + 8];/* the id last moved from this address */
	int64_t  moved_at_ms;              /* wall clock; 0 = never moved */
	uint64_t refused_registrations;    /* from an address [scale] does not give */
	char     refused_from[CT_IP_MAX + 8];
	int64_t  refused_at_ms;
	int      nconns;                   /* live connections under this id */
	bool     unreported;               /* last change not delivered to store */
	struct conn *conn;                 /* current connection, NULL if none */
};

enum id_kind { ID_NONE = 0, ID_REGISTERED, ID_MAPPED, ID_PROVISIONAL };

struct conn {
	TAILQ_ENTRY(conn)   link;
	struct ingest      *in;
	struct bufferevent *bev;
	struct sockaddr_storage sa;
	char                ip[CT_IP_MAX];
	char                addr[CT_IP_MAX + 8];
	enum id_kind        id_kind;
	char                device_id[CT_DEVICE_ID_MAX];
	struct device      *dev;
	int64_t             since_ms;        /* wall clock */
	int64_t             last_rx_mono;
	bool                stale;
	bool                closing;
	uint32_t            heartbeats;
	uint64_t            records, rejected, confirmations_skipped;
	struct dp401_parser parser;
	struct dp401_ack    ack;
	struct ct_event     last;            /* previous record (P" rule) */
	bool                have_last;
	bool                ok_since_last;   /* an OK went out after `last` */
	struct qev_list     evs;             /* its unconfirmed events */
};
TAILQ_HEAD(conn_list, conn);

struct ingest_counters {
	uint64_t accepted, refused_allow, refused_full, refused_per_ip;
	uint64_t closed_idle, superseded, duplicates, id_moves, registrations_refused;
	uint64_t records, rejected_lines, overflow_lines, garbage_bytes;
	uint64_t quarantined, invalid_times, split_lines, discarded_bytes, inner_heartbeats;
	uint64_t heartbeats, registrations, ack_requests, oks_sent;
	uint64_t confirmations_skipped;
	uint64_t events_sent, events_resent, events_stored, events_refused, frames_sent;
	uint64_t send_blocked, paused_times;
};

struct ingest {
	struct worker         *w;
	struct event_base     *base;
	struct evconnlistener *listener;
	char                   listen[256];
	struct conn_list       conns;
	int                    nconns;
	struct ingest_queue    q;
	struct device          devs[INGEST_MAX_DEVICES];
	int                    ndevs;
	struct event          *flush_ev, *tick_ev, *accept_retry_ev, *flush_retry_ev;
	bool                   flush_pending;
	bool                   paused;         /* reading stopped: queue full */
	struct log_flap        pause_log;      /* paused/resumed flaps under load */
	int64_t                refused_until;  /* monotonic: store said full */
	bool                   store_full;
	bool                   stopping;
	char                   site_id[64];
	int64_t                budget_reset_ms;
	struct ingest_counters c;
};

/* ingest_worker.c */
void ingest_event(struct ingest *in, struct conn *c, struct ct_event *ev);
void ingest_device_frame(struct ingest *in, enum ct_device_change kind, const char *device_id,
    const struct conn *c, const char *reason);
void ingest_schedule_flush(struct ingest *in);
const struct ct_conf *ingest_conf(struct ingest *in);
int64_t ingest_mono_ms(void);

/* ingest_conn.c */
int  conn_listen(struct ingest *in, const char *listen, char *err, size_t errlen);
void conn_close_listener(struct ingest *in);
void conn_close(struct conn *c, const char *reason, bool announce);
void conn_send_oks(struct conn *c, unsigned n);
void conn_set_paused(struct ingest *in, bool paused);
void conn_liveness(struct ingest *in);   /* once a second */
void conn_apply_config(struct ingest *in, const struct ct_conf *conf);
void conn_close_all(struct ingest *in, const char *reason);
/* Parser counters of the live connections (closed ones are in ingest.c). */
void conn_counters(struct ingest *in, struct dp401_counters *sum);

/* ingest_device.c */
struct device *device_get(struct ingest *in, const char *id, bool create);
void device_count_event(struct device *d, int64_t scale_ts);
/* Fills the array; returns how many rows did not fit. */
int  device_status_json(struct ingest *in, void *json_array);

#endif
