/*
 * carnitrack-cloudsim --rest, inside: the server (sim_rest.c: evhttp, TLS,
 * scripted failures, held requests, control commands) and the API it
 * serves (sim_rest_api.c: one function per endpoint of REST_API.md, but
 * the offline batch ACK: sim_rest_ack.c).
 */
#ifndef SIM_REST_H
#define SIM_REST_H

#include <event2/http.h>

#include "sim.h"

#define SIM_REST_SCRIPT_MAX 256          /* scripted failures queued */
#define SIM_REST_HELD_MAX   256          /* requests held unanswered */
#define SIM_REST_MAX_BODY   (16u << 20)  /* one request body */
#define SIM_REST_MAX_IDS    256          /* device_ids of one /sessions poll */
#define SIM_REST_ACKS_MAX   65536        /* offline batch ACKs remembered */

struct rest_script { int status, retry_after; };

struct sim_rest {
	struct evhttp *http;
	struct rest_script script[SIM_REST_SCRIPT_MAX];
	int nscript;
	int hang;                            /* the next N requests are never answered */
	bool frozen;                         /* hold everything until thaw */
	struct evhttp_request *held[SIM_REST_HELD_MAX];
	bool held_thaw[SIM_REST_HELD_MAX];   /* answered at thaw (else never) */
	int nheld;
	uint64_t nreq;
	struct {
		uint64_t requests, not_modified, scripted, hung, too_large, unknown_edge;
		uint64_t heartbeats, device_status, batch_acks, batch_acks_repeated, batches;
	} st;
};

/* sim_rest.c */
/* Answers with a JSON body (Content-Type application/json). */
void sim_rest_reply(struct evhttp_request *req, int code, const char *json, size_t len);
/* The same from a tree (stolen); 500 if it cannot be printed. */
void sim_rest_reply_json(struct evhttp_request *req, int code, json_t *o);
/* {"error": msg} */
void sim_rest_error(struct evhttp_request *req, int code, const char *msg);
/* Keeps req unanswered: at_thaw, routed again on `thaw`; else until its
 * connection goes (drop, stop, exit). */
void sim_rest_hold(struct sim *s, struct evhttp_request *req, bool at_thaw);

/* One request being answered (sim_rest_api.c, sim_rest_ack.c). */
struct sim_call {
	struct sim *s;
	struct evhttp_request *req;
	const char *body;        /* not NUL-terminated */
	size_t len;
	char edge[64];           /* the X-Edge-Id, once checked */
};

/* sim_rest_api.c */
/* The body as a JSON object; NULL after answering 400. */
json_t *sim_rest_load_object(struct sim_call *c);
/* Routes one request that passed the scripts: identity, then the endpoint. */
void sim_rest_route(struct sim *s, struct evhttp_request *req);

/* sim_rest_ack.c */
void sim_rest_ack(struct sim_call *c);

#endif
