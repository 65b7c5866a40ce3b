/*
 * The edge's read-only HTTP/1.1 server, on libevent's evhttp, for the web
 * worker: GET /metrics (Prometheus, lib/metrics), /healthz (200 ok, 503
 * with the reasons), /status.json (the status object of `carnitrackctl
 * status --json`) and / (the status page, embedded at build time). It only
 * reads: the status comes from a callback (the worker keeps the latest one
 * from the supervisor), the store is opened read-only by the caller.
 * A request that needs the status may wait for a fresher one: when the
 * source's refresh says one is on its way, the request is held (at most
 * WEB_WAIT_MAX of them, at most WEB_WAIT_MS, its connection not read
 * meanwhile) until web_status_ready, then answered from status().
 *
 * Bounds, so a flood on this port costs the edge nothing else:
 *  - `allow` CIDRs: anyone else is closed as it is accepted, before a byte
 *    is read;
 *  - at most max_per_ip connections from one address (more are closed the
 *    same way) and max_connections in all: at that cap nothing more is
 *    accepted until one ends (new ones wait in the kernel's backlog);
 *  - headers at most max_header_bytes (431/400 from evhttp past it), a
 *    request body at most WEB_BODY_MAX (413), only GET and HEAD;
 *  - a request must arrive in full within request_timeout_s of the
 *    connection (or of the previous request on it): a slow sender
 *    (slowloris) is shut down at that deadline, whatever it trickles;
 *  - evhttp's own inactivity timeout (the same seconds) for reads/writes.
 * With a token, everything but /healthz and the page (static, no data)
 * needs "Authorization: Bearer <token>", compared in constant time; the
 * page asks for the token and sends it with its own requests.
 */
#ifndef CT_WEB_H
#define CT_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf/conf.h"

struct event_base;
struct store;
struct web;

#define WEB_TOKEN_MAX   256
#define WEB_BODY_MAX    4096
#define WEB_CONNS_MAX   1024      /* ceiling for max_connections */
#define WEB_WAIT_MAX    64        /* requests held for a fresher status */
#define WEB_WAIT_MS     2000      /* longest such hold: then the older status */

struct web_conf {
	char           listen[CT_CONF_STR];      /* "127.0.0.1:9180", "[::1]:9180" */
	struct ct_cidr allow[CT_CONF_MAX_ALLOW];
	int            nallow;                   /* 0 = everyone */
	char           token[WEB_TOKEN_MAX];     /* "" = no token */
	int            max_connections;          /* 0 = 32 */
	int            max_per_ip;               /* 0 = 8 */
	int            max_header_bytes;         /* 0 = 8192 */
	int            request_timeout_s;        /* 0 = 10 */
};

/* Where the answers come from. status returns a new reference to the
 * latest status object, or NULL when there is none (the supervisor did not
 * answer). refresh (optional): a request needs the status; true when a
 * fresher one is on its way (web_status_ready follows), false to answer
 * from status() now. store (optional) returns the store open read-only,
 * or NULL. */
struct web_source {
	json_t               *(*status)(void *arg);
	bool                  (*refresh)(void *arg);
	struct store         *(*store)(void *arg);
	const struct ct_conf  *edge_conf;        /* configured scales, optional */
	void                  *arg;
};

/* Binds and starts serving on base. NULL with the reason in err. */
struct web *web_open(struct event_base *base, const struct web_conf *c,
    const struct web_source *src, char *err, size_t errlen);
void web_close(struct web *w);
/* A fresher status is there (or will not come): the held requests are
 * answered now. */
void web_status_ready(struct web *w);
/* The config whose [scale] sections give per-scale series (after a reload). */
void web_set_edge_conf(struct web *w, const struct ct_conf *edge_conf);
/* The port bound (listen with port 0 picks one). */
unsigned web_port(const struct web *w);
/* Counters for the worker's status: requests, refusals, timeouts. */
void web_status(const struct web *w, json_t *o);

#endif
