/*
 * dp401-sim: N simulated DP-401 scales (WiFi bridge in TCP-client mode) in
 * one libevent process. main.c parses options and reports; scale.c is one
 * scale's connection and its state machine.
 */
#ifndef DP401_SIM_H
#define DP401_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <event2/event.h>

struct sim_opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int     scales;
	int     first_id;
	double  hb_s;          /* 0 = no heartbeats */
	double  rate;          /* records/s per scale, 0 = as fast as the socket takes */
	long    records;       /* per scale, 0 = until stopped */
	double  duration;      /* 0 = none */
	double  timeout;       /* 0 = none */
	int64_t unit;          /* grams per raw unit, only for the net_total_g figure */
	bool    controlled, turkish, garbage, wait_ok, no_register, idle, reconnect;
	int     verbose;
	FILE   *ok_log;        /* "SCALE-07 <barcode>" per record an OK confirmed */
};

struct sim_totals {
	uint64_t sent;         /* records written (P" copies and resends not counted) */
	uint64_t resent;       /* records written again after a reconnect */
	uint64_t oks;          /* OK\n received */
	uint64_t confirmed;    /* records an OK covered (controlled / wait-ok) */
	uint64_t errors;       /* connection failures and drops */
	uint64_t reconnects;
	uint64_t unexpected;   /* bytes from the edge other than OK\n */
	int64_t  net_total_g;  /* sum of net weights sent, raw * unit */
	int      connected;    /* scales with a live connection now */
	int      finished;     /* scales done (success or not) */
	int      succeeded;
};

struct sim {
	struct event_base *base;
	struct sim_opts    o;
	struct sim_totals  t;
	struct scale     **scales;
	bool               stopping;
	bool               announced_connected;
};

struct scale;
struct scale *scale_new(struct sim *sim, int index);
void scale_free(struct scale *s);
void scale_start(struct scale *s);
/* Stop sending new records: finish (final OK wait if asked) and close. */
void scale_stop(struct scale *s);
/* The deadline passed: a scale still open ends now, unsuccessfully. */
void scale_abort(struct scale *s);
/* Called by scale.c when a scale reaches its end state. */
void sim_scale_finished(struct sim *sim, struct scale *s, bool ok);
void sim_scale_connected(struct sim *sim);

#endif
