/*
 * edge.conf: INI file, validated as a whole. Every key has a default (see
 * etc/edge.conf); unknown sections/keys and bad values are errors that name
 * file:line. Workers get the same text from the supervisor and parse it with
 * conf_parse_text, so all processes agree on one validated config.
 * conf.c reads and checks the file; conf_value.c parses durations, sizes and
 * address ranges and looks a scale up; conf_cpus.c reads [cpus].
 */
#ifndef CT_CONF_H
#define CT_CONF_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define CT_CONF_MAX_TEXT   (60 * 1024)
#define CT_CONF_MAX_ALLOW  64
#define CT_CONF_MAX_SCALES 256
#define CT_CONF_STR        256
#define CT_CONF_PATH       1024

enum ct_ack_mode { CT_ACK_PROMPT = 0, CT_ACK_EVERY_RECORD = 1 };
/* How the cloud worker speaks to the cloud: CLOUD_INTEGRATION_QUICKREF.md
 * or REST_API.md. */
enum ct_transport { CT_TRANSPORT_WEBSOCKET = 0, CT_TRANSPORT_REST = 1 };

struct ct_cidr {
	int      family;          /* AF_INET or AF_INET6 */
	uint8_t  addr[16];
	unsigned prefix;
};

/* [cpus]: one entry per worker, by name (conf_cpus.c) */
enum { CT_CONF_CPUS_INGEST, CT_CONF_CPUS_STORE, CT_CONF_CPUS_CLOUD, CT_CONF_CPUS_WEB,
	CT_CONF_NCPUS };
struct ct_cpus {
	bool      set;                     /* false: the kernel places the worker */
	char      text[64];                /* as written: "1", "0-1,3" */
	cpu_set_t mask;
};

struct ct_scale_conf {
	char     id[16];                   /* "SCALE-07" */
	int64_t  weight_unit_grams;        /* 0 = use [scales] default */
	char     address[64];              /* IP that maps to this id, "" = none */
	char     device_type[64];          /* disassembly|retail|receiving, "" = disassembly */
	char     name[64];
};

struct ct_conf {
	char path[CT_CONF_PATH];
	/* [edge] */
	char site_id[64];
	char site_name[CT_CONF_STR];
	char data_dir[CT_CONF_PATH];
	char run_dir[CT_CONF_PATH];
	char user[64];
	char timezone[64];
	char log_level[16];
	/* [scales] */
	char listen[CT_CONF_STR];          /* "0.0.0.0:8899", "[::]:8899" */
	struct ct_cidr allow[CT_CONF_MAX_ALLOW];
	int  nallow;                       /* 0 = allow all */
	int  heartbeat_interval;           /* seconds */
	int  stale_after;                  /* missed heartbeat periods -> stale [2] */
	int  close_after;                  /* missed heartbeat periods -> close [3] */
	enum ct_ack_mode ack_mode;
	int  max_connections;
	int  max_per_ip;
	int64_t weight_unit_grams;
	struct ct_scale_conf scales[CT_CONF_MAX_SCALES];
	int  nscales;
	/* [cloud] */
	enum ct_transport transport;       /* websocket (default) or rest */
	char url[CT_CONF_STR];             /* "" = no cloud configured; ws(s):// for
	                                      websocket, http(s)://.../api/v1 for rest */
	char register_url[CT_CONF_STR];    /* http(s):// POST registration, "" = none */
	char token_file[CT_CONF_PATH];
	char ca_file[CT_CONF_PATH];
	char pin_sha256[128];
	int  ping_interval;                /* seconds */
	int  offline_grace;                /* seconds */
	int  batch_size;
	int  window;
	int  ack_timeout;                  /* seconds before unacked events are re-sent */
	int  status_interval;              /* seconds between `status` messages */
	bool allow_plaintext_token;        /* send the token over ws:// or http:// anyway
	                                      [no] */
	/* [store] */
	uint64_t map_size;                 /* bytes */
	int64_t  retention;                /* seconds */
	int64_t  session_expiry;           /* seconds without activity */
	int      state_quota_pct;          /* map share for cloud-driven state [5] */
	/* [http] (the web worker) */
	char http_listen[CT_CONF_STR];     /* "127.0.0.1:9180"; "" = no web worker */
	struct ct_cidr http_allow[CT_CONF_MAX_ALLOW];
	int  http_nallow;                  /* 0 = everyone who reaches listen */
	char http_token_file[CT_CONF_PATH];/* "" = no token */
	/* [cpus] */
	struct ct_cpus cpus[CT_CONF_NCPUS];
};

/* Defaults for every key. */
void conf_defaults(struct ct_conf *c);
/* Parse a file (reads it into text, bounded by CT_CONF_MAX_TEXT). On error
 * returns -1 and writes "FILE:LINE: message" to err. text/textlen receive the
 * file contents (malloc'd) when non-NULL, for handing to workers. */
int conf_load(const char *path, struct ct_conf *c, char **text, size_t *textlen,
    char *err, size_t errlen);
int conf_parse_text(const char *path, const char *text, size_t len,
    struct ct_conf *c, char *err, size_t errlen);
/* Per-scale lookups: weight unit (scale override or default), address map. */
int64_t conf_scale_unit(const struct ct_conf *c, const char *scale_id);
const struct ct_scale_conf *conf_scale_by_addr(const struct ct_conf *c, const char *ip);
const struct ct_scale_conf *conf_scale_by_id(const struct ct_conf *c, const char *id);
/* 1 if sa is in the allow list (or the list is empty). */
int conf_allowed(const struct ct_conf *c, const struct sockaddr *sa);
/* The same for any list of n CIDRs (n 0: everyone), e.g. [http] allow. */
int conf_cidr_match(const struct ct_cidr *list, int n, const struct sockaddr *sa);
/* Helpers also used by tests: "30s", "5m", "2h", "30d" -> seconds; "1GiB" -> bytes. */
int conf_parse_duration(const char *s, int64_t *out);
int conf_parse_size(const char *s, uint64_t *out);
int conf_parse_cidr(const char *s, struct ct_cidr *out);
/* [cpus]: "1", "0-1,3" (each CPU 0..CPU_SETSIZE-1, ranges ascending); ""
 * is no list. The index of a worker's entry (-1: no such worker) and the
 * worker's name for an index, its entry when one is set, and a mask written
 * back as such a list (bytes written). */
int conf_parse_cpus(const char *s, struct ct_cpus *out);
int conf_cpus_index(const char *worker);
const char *conf_cpus_name(int index);
const struct ct_cpus *conf_worker_cpus(const struct ct_conf *c, const char *worker);
size_t conf_cpus_format(const cpu_set_t *mask, char *buf, size_t cap);

#endif
