/*
 * The ingest worker's insides, shared by its files:
 *   ingest_worker.c  worker ops, IPC with store (EVENT out, EVENT_STORED /
 *                    EVENT_REFUSED in, DEVICE out), status, shutdown
 *   ingest_listen.c  the scale port: listening, accepting, the bounds on who
 *                    may connect
 *   ingest_conn.c    one scale connection: reading, OKs out, liveness,
 *                    closing
 *   ingest_scale.c   what each parsed packet means: the scale's identity,
 *                    records and quarantined lines
 *   ingest_queue.c   events not yet confirmed by store, by id
 *   ingest_device.c  the per-scale table shown by status / devices (last
 *                    weighing included), records per minute for the last hour
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
#include "metrics/hist.h"
#include "worker.h"

/* Unconfirmed events: at this many, scale sockets stop being read (TCP
 * back-pressure, nothing dropped); reading resumes below the low mark. Each
 * connection may still finish the one read in hand (at most
 * IW_READ_MAX bytes, ~24 records), so the true bound is
 * QUEUE_HIGH + connections * 24. A commit group holds a few hundred events
 * at 100,000 records/s, and each unconfirmed one costs its encoding here and
 * in the channel to store: 10,000 made ingest 10 MiB at peak, 2,000 3 MiB,
 * at the same throughput (make bench). */
#define IW_QUEUE_HIGH   2000
#define IW_QUEUE_LOW    1800
#define IW_READ_MAX     4096
#define IW_OUT_MAX      (64 * 1024)   /* OKs the scale does not read: close */
#define IW_OK_NOW_MAX   64            /* OKs written straight to the socket at once */
#define IW_RESEND_MS    5000          /* unconfirmed this long: send again */
#define IW_REFUSED_MS   1000          /* wait after EVENT_REFUSED store_full */
#define IW_BLOCKED_MS   50            /* retry after the IPC queue was full */
#define IW_MAX_DEVICES  1024
#define IW_REJECT_LOG_BUDGET 10       /* rejected-line log lines per conn per minute */

struct iw_conn;
struct iw;

struct iw_qev {
	TAILQ_ENTRY(iw_qev) all;        /* arrival order */
	TAILQ_ENTRY(iw_qev) of_conn;
	struct iw_conn     *conn;       /* NULL once that connection is gone */
	uint64_t         rec_no;     /* number in conn's ack ledger */
	int64_t          sent_ms;    /* monotonic; 0 = (re)send at the next flush */
	uint32_t         sends;
	uint8_t          id[CT_UUID_LEN];
	uint16_t         enc_len;
	uint8_t          enc[];      /* event_codec record */
};
TAILQ_HEAD(iw_qev_list, iw_qev);

struct iw_queue {
	struct iw_qev_list all;
	size_t          n;
	struct iw_qev    **slots;       /* open addressing by id, linear probing */
	size_t          cap;         /* power of two, > 2 n */
};

int  iw_queue_init(struct iw_queue *q);
void iw_queue_free(struct iw_queue *q);
/* Appends; NULL on allocation failure. */
struct iw_qev *iw_queue_add(struct iw_queue *q, const struct ct_event *ev);
struct iw_qev *iw_queue_find(struct iw_queue *q, const uint8_t id[CT_UUID_LEN]);
void iw_queue_remove(struct iw_queue *q, struct iw_qev *e);

enum iw_dev_status { IW_DEV_OFFLINE = 0, IW_DEV_ONLINE, IW_DEV_STALE };

struct iw_device {
	char     id[CT_DEVICE_ID_MAX];
	char     address[CT_IP_MAX + 8];   /* "ip:port" of the latest connection */
	enum iw_dev_status status;
	int64_t  connected_since_ms;       /* wall clock */
	int64_t  last_heartbeat_ms;
	int64_t  last_seen_ms;
	uint32_t heartbeats;
	uint64_t events_today;
	int      today;                    /* yyyymmdd (site zone) of events_today */
	/* the last record: net weight, product and PLU as the scale sent them */
	int64_t  last_record_ms;           /* wall clock; 0 = none yet */
	int64_t  last_net_g;
	char     last_product[CT_PRODUCT_MAX];
	char     last_plu[CT_PLU_MAX];
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
	struct iw_conn *conn;                 /* current connection, NULL if none */
};

enum iw_id_kind { IW_ID_NONE = 0, IW_ID_REGISTERED, IW_ID_MAPPED, IW_ID_PROVISIONAL };

struct iw_conn {
	TAILQ_ENTRY(iw_conn)   link;
	struct iw      *in;
	struct bufferevent *bev;
	struct sockaddr_storage sa;
	char                ip[CT_IP_MAX];
	char                addr[CT_IP_MAX + 8];
	enum iw_id_kind        id_kind;
	char                device_id[CT_DEVICE_ID_MAX];
	struct iw_device      *dev;
	int64_t             since_ms;        /* wall clock */
	int64_t             last_rx_mono;
	bool                stale;
	uint32_t            heartbeats;
	uint64_t            records, rejected, confirmations_skipped;
	struct dp401_parser parser;
	struct dp401_ack    ack;
	struct ct_event     last;            /* previous record (P" rule) */
	bool                have_last;
	bool                ok_since_last;   /* an OK went out after `last` */
	struct iw_qev_list     evs;             /* its unconfirmed events */
	/* closing from inside its own read callback is deferred to its end */
	bool                in_callback;
	bool                close_pending, close_announce;
	char                close_reason[128];
	int                 reject_budget;   /* log lines left this minute */
	bool                refusal_logged;  /* a refused registration, once per connection */
	/* Any byte keeps a scale alive (DP401.md), but a peer that trickles
	 * bytes forming no packet would hold its slot forever: it must send
	 * one valid packet per close_after heartbeat periods. */
	int64_t             last_valid_mono;
};
TAILQ_HEAD(iw_conn_list, iw_conn);

struct iw_counters {
	uint64_t accepted, refused_allow, refused_full, refused_per_ip;
	uint64_t closed_idle, superseded, duplicates, id_moves, registrations_refused;
	uint64_t records, rejected_lines, overflow_lines, garbage_bytes;
	uint64_t quarantined, invalid_times, split_lines, discarded_bytes, inner_heartbeats;
	uint64_t heartbeats, registrations, ack_requests, oks_sent;
	uint64_t confirmations_skipped;
	uint64_t events_sent, events_resent, events_stored, events_refused, frames_sent;
	uint64_t send_blocked, paused_times;
};

/* A few log lines per reason and window, then silence. */
struct log_limit {
	int64_t window_ms;
	int     n;
};

/* Records per minute over the last hour: one slot per minute of the
 * monotonic clock, the oldest overwritten. */
#define IW_RATE_MINUTES 60
struct iw_rate {
	uint32_t per_min[IW_RATE_MINUTES];
	int64_t  minute;                   /* monotonic minute of the newest slot */
};

struct iw {
	struct worker         *w;
	struct event_base     *base;
	struct evconnlistener *listener;
	char                   listen[256];
	struct iw_conn_list    conns;
	int                    nconns;
	struct iw_queue        q;
	struct iw_device       devs[IW_MAX_DEVICES];
	int                    ndevs;
	struct event          *flush_ev, *tick_ev, *accept_retry_ev, *flush_retry_ev;
	struct event          *shutdown_ev;
	int64_t                shutdown_deadline;  /* monotonic */
	bool                   flush_pending;
	bool                   paused;         /* reading stopped: queue full */
	struct log_flap        pause_log;      /* paused/resumed flaps under load */
	struct log_limit       ll_refused, ll_accept_err;   /* connections refused, accept errors */
	int64_t                refused_until;  /* monotonic: store said full */
	bool                   store_full;
	bool                   stopping;
	char                   site_id[64];
	int64_t                budget_reset_ms;
	struct iw_counters     c;
	struct hist            ok_latency;     /* prompt read -> its OK written, seconds */
	struct iw_rate         rate;
	uint8_t                frame_buf[CT_FRAME_MAX_PAYLOAD];   /* EVENT frames are packed here */
};

/* ingest_worker.c */
void iw_event(struct iw *in, struct iw_conn *c, struct ct_event *ev);
void iw_device_frame(struct iw *in, enum ct_device_change kind, const char *device_id,
    const struct iw_conn *c, const char *reason);
const struct ct_conf *iw_conf(struct iw *in);

/* ingest_listen.c */
int  iw_listen(struct iw *in, const char *listen, char *err, size_t errlen);
void iw_listen_close(struct iw *in);

/* ingest_conn.c */
/* dp401_ack's observer: a group of prompts answered (ok_latency). */
void iw_conn_answered(void *arg, int64_t asked_ns, uint32_t count);
void iw_conn_read_cb(struct bufferevent *bev, void *arg);
void iw_conn_event_cb(struct bufferevent *bev, short what, void *arg);
void iw_conn_close(struct iw_conn *c, const char *reason, bool announce);
void iw_conn_send_oks(struct iw_conn *c, unsigned n);
void iw_set_paused(struct iw *in, bool paused);
void iw_liveness(struct iw *in);   /* once a second */
void iw_conn_apply_config(struct iw *in, const struct ct_conf *conf);
void iw_conn_close_all(struct iw *in, const char *reason);
/* Parser counters of the live connections (closed ones are in in->c). */
void iw_conn_counters(struct iw *in, struct dp401_counters *sum);

/* ingest_scale.c */
/* The parser's callback: one packet of a connection. */
void iw_scale_item(void *arg, const struct dp401_item *it);
void iw_dev_detach(struct iw_conn *c, const char *reason, bool announce);

/* ingest_device.c */
struct iw_device *iw_device_get(struct iw *in, const char *id, bool create);
/* A record from the scale: today's count, its last weighing. */
void iw_device_count_event(struct iw_device *d, const struct ct_event *ev);
/* A record counted in the per-minute ring; the ring as a JSON array of
 * IW_RATE_MINUTES counts, oldest first, this minute last. */
void iw_rate_count(struct iw_rate *r, int64_t now_mono_ms);
void *iw_rate_json(struct iw_rate *r, int64_t now_mono_ms);
/* Fills the array; returns how many rows did not fit. */
int  iw_device_status_json(struct iw *in, void *json_array);

#endif
