/* Internals shared by the web server's files (web_server.c, web_routes.c). */
#ifndef CT_WEB_INT_H
#define CT_WEB_INT_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/sha.h>

#include "web/web.h"

/* One connection. evhttp (libevent 2.1) accepts by itself and owns the
 * connection; it asks us for the bufferevent (evhttp_set_bevcb), and we
 * keep a reference to it: that is how we see the connection arrive, find
 * its socket, and learn that evhttp let go of it (its callbacks are gone). */
struct web_conn {
	struct bufferevent     *bev;         /* NULL: free slot */
	bool                    settled;     /* address checked */
	struct sockaddr_storage sa;
	struct event           *deadline;    /* a full request by then */
	struct web             *w;
};

struct web_counters {
	uint64_t accepted, requests, refused_allow, at_cap, refused_per_ip;
	uint64_t timed_out, unauthorized, not_found, failed, held, held_expired;
};

/* The routes that answer from the status object (and may wait for it). */
enum web_route { WEB_R_METRICS, WEB_R_HEALTHZ, WEB_R_STATUS };

/* A request held until a fresher status arrives. */
struct web_wait {
	struct evhttp_request *req;
	enum web_route         route;
};

struct web {
	struct event_base     *base;
	struct evhttp         *http;
	struct evconnlistener *listener;     /* owned by http once bound */
	bool                   paused;       /* listener off: at the cap */
	struct event          *accept_retry, *settle, *sweep;
	int64_t                sweep_due;     /* monotonic ms, while sweep is pending */
	struct web_conf        conf;
	struct web_source      src;
	uint8_t                token_sha[SHA256_DIGEST_LENGTH];
	struct web_conn       *conns;        /* conf.max_connections + 1 slots */
	int                    nconns;
	unsigned               port;
	struct web_counters    c;
	bool                   logged_refusal[3];
	struct web_wait        waiting[WEB_WAIT_MAX];
	int                    nwaiting;
	struct event          *wait_timer;   /* WEB_WAIT_MS after the first held */
};

/* web_server.c: a request arrived on its connection (the deadline starts
 * again, its close frees the record). */
void web_conn_request(struct web *w, struct evhttp_request *req);
/* web_routes.c: the evhttp callback for every request. */
void web_route(struct evhttp_request *req, void *arg);
/* web_routes.c: answers every held request from the status there is now;
 * with closing, 503 instead (the server is going away). */
void web_answer_held(struct web *w, bool closing);

#endif
