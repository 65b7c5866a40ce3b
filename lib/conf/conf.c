/*
 * Reading the config (conf.h): defaults, the INI text parsed with inih,
 * every key checked (unknown keys and bad values are errors with file:line),
 * and the file itself read with its bounds. The values' own parsers are in
 * conf_value.c.
 */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"

#define CONF_LINE_MAX 4096

void
conf_defaults(struct ct_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/carnitrack");
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/carnitrack");
	snprintf(c->user, sizeof(c->user), "carnitrack");
	snprintf(c->timezone, sizeof(c->timezone), "Europe/Istanbul");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	snprintf(c->listen, sizeof(c->listen), "0.0.0.0:8899");
	c->heartbeat_interval = 30;
	c->stale_after = 2;
	c->close_after = 3;
	c->ack_mode = CT_ACK_PROMPT;
	c->max_connections = 256;
	c->max_per_ip = 16;
	c->weight_unit_grams = 1;
	c->ping_interval = 30;
	c->offline_grace = 5;
	c->batch_size = 500;
	c->window = 1000;
	c->ack_timeout = 30;
	c->status_interval = 60;
	c->map_size = 1024ull * 1024 * 1024;
	c->retention = 30 * 86400;
	c->session_expiry = 12 * 3600;
	c->state_quota_pct = 5;
	snprintf(c->http_listen, sizeof(c->http_listen), "127.0.0.1:9180");
}

/* "host:port", "[v6]:port" or ":port". */
static int
valid_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	uint8_t tmp[16];
	long port;
	char *end;

	if (colon == NULL)
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || errno || port < 1 || port > 65535)
		return 0;
	if ((size_t)(colon - s) >= sizeof(host))
		return 0;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '\0')
		return 1;
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			return 0;
		host[n - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, tmp) == 1;
	}
	return inet_pton(AF_INET, host, tmp) == 1;
}

struct parse_state {
	struct ct_conf *c;
	const char *path;
	const char *text, *pos, *end;
	int line;
	int url_line, transport_line;      /* where [cloud] url and transport were set */
	char *err;
	size_t errlen;
	bool failed;
};

static int
fail(struct parse_state *ps, const char *fmt, const char *a, const char *b)
{
	if (!ps->failed) {
		char msg[512];
		snprintf(msg, sizeof(msg), fmt, a, b);
		snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, ps->line, msg);
		ps->failed = true;
	}
	return 0;
}

static int
set_str(struct parse_state *ps, char *dst, size_t cap, const char *name, const char *v)
{
	if (strlen(v) >= cap)
		return fail(ps, "%s: value too long (%s)", name, "limit exceeded");
	memcpy(dst, v, strlen(v) + 1);
	return 1;
}

static int
set_int(struct parse_state *ps, int *dst, const char *name, const char *v, long lo, long hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno || n < lo || n > hi) {
		char range[64];
		snprintf(range, sizeof(range), "an integer %ld..%ld", lo, hi);
		return fail(ps, "%s: expected %s", name, range);
	}
	*dst = (int)n;
	return 1;
}

static int
set_bool(struct parse_state *ps, bool *dst, const char *name, const char *v)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		*dst = true;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
		*dst = false;
	else
		return fail(ps, "%s: '%s' is not yes or no", name, v);
	return 1;
}

static int
set_secs(struct parse_state *ps, int *dst, const char *name, const char *v, int64_t lo, int64_t hi)
{
	int64_t s;

	if (conf_parse_duration(v, &s) != 0 || s < lo || s > hi)
		return fail(ps, "%s: bad duration '%s' (e.g. 30s, 5m, 2h)", name, v);
	*dst = (int)s;
	return 1;
}

/* A list of addresses and CIDRs, comma or blank separated ([scales] and
 * [http] allow); a later line replaces an earlier one. */
static int
set_allow(struct parse_state *ps, struct ct_cidr *list, int *n, const char *name,
    const char *v)
{
	char buf[CONF_LINE_MAX], *save = NULL, *tok;

	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (*n >= CT_CONF_MAX_ALLOW)
			return fail(ps, "%s: more than %s entries", name, "64");
		if (conf_parse_cidr(tok, &list[*n]) != 0)
			return fail(ps, "%s: '%s' is not an address or CIDR", name, tok);
		(*n)++;
	}
	return 1;
}

static int
scale_id_valid(const char *id)
{
	return strlen(id) == 8 && strncmp(id, "SCALE-", 6) == 0 &&
	    id[6] >= '0' && id[6] <= '9' && id[7] >= '0' && id[7] <= '9';
}

static struct ct_scale_conf *
scale_section(struct parse_state *ps, const char *id)
{
	struct ct_conf *c = ps->c;

	for (int i = 0; i < c->nscales; i++)
		if (strcmp(c->scales[i].id, id) == 0)
			return &c->scales[i];
	if (c->nscales >= CT_CONF_MAX_SCALES)
		return NULL;
	struct ct_scale_conf *s = &c->scales[c->nscales++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	return s;
}

/* "ws", "wss", "http" or "https" for a URL with that scheme, else NULL. */
static const char *
url_scheme(const char *v)
{
	static const char *const schemes[] = { "ws", "wss", "http", "https" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(v, schemes[i], n) == 0 && strncmp(v + n, "://", 3) == 0)
			return schemes[i];
	}
	return NULL;
}

/* The checks that need more than one key: a url of the transport's kind,
 * no bearer token in clear text unless allowed. */
static int
check_cloud(const struct parse_state *ps, char *err, size_t errlen)
{
	const struct ct_conf *c = ps->c;
	const char *sch = c->url[0] ? url_scheme(c->url) : NULL;
	bool rest = c->transport == CT_TRANSPORT_REST;

	if (sch != NULL && rest != (sch[0] == 'h')) {
		char where[32] = " (the default)";
		if (ps->transport_line > 0)
			snprintf(where, sizeof(where), " (line %d)", ps->transport_line);
		snprintf(err, errlen, "%s:%d: [cloud] url %s is %s:// but transport is %s%s: "
		    "%s", ps->path, ps->url_line, c->url, sch, rest ? "rest" : "websocket", where,
		    rest ? "a REST cloud needs an http:// or https://.../api/v1 url" :
		    "a WebSocket cloud needs a ws:// or wss:// url; for a REST cloud set "
		    "transport = rest");
		return -1;
	}
	if (c->token_file[0] == '\0' || c->allow_plaintext_token)
		return 0;
	if (sch != NULL && (strcmp(sch, "ws") == 0 || strcmp(sch, "http") == 0)) {
		snprintf(err, errlen,
		    "%s: [cloud] token_file is set but url %s is %s://: the bearer "
		    "token would travel unencrypted; use %ss://, or set allow_plaintext_token = "
		    "yes", ps->path, c->url, sch, sch);
		return -1;
	}
	if (strncmp(c->register_url, "http://", 7) == 0) {
		snprintf(err, errlen,
		    "%s: [cloud] token_file is set but register_url %s is http://: the bearer "
		    "token would travel unencrypted; use https://, or set allow_plaintext_token "
		    "= yes", ps->path, c->register_url);
		return -1;
	}
	return 0;
}

static int
handler(void *user, const char *section, const char *name, const char *v)
{
	struct parse_state *ps = user;
	struct ct_conf *c = ps->c;

	if (strcmp(section, "edge") == 0) {
		if (strcmp(name, "site_id") == 0) {
			for (const char *p = v; *p; p++)
				if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
				    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
					return fail(ps,
					    "%s: '%s' may only hold letters, digits, - and _", name,
					    v);
			return set_str(ps, c->site_id, sizeof(c->site_id), name, v);
		}
		if (strcmp(name, "site_name") == 0)
			return set_str(ps, c->site_name, sizeof(c->site_name), name, v);
		if (strcmp(name, "data_dir") == 0 || strcmp(name, "run_dir") == 0) {
			if (v[0] != '/' && v[0] != '.')
				return fail(ps, "%s: '%s' must be a path", name, v);
			return set_str(ps, name[0] == 'd' ? c->data_dir : c->run_dir,
			    sizeof(c->data_dir), name, v);
		}
		if (strcmp(name, "user") == 0)
			return set_str(ps, c->user, sizeof(c->user), name, v);
		if (strcmp(name, "timezone") == 0) {
			char zpath[PATH_MAX];
			if (v[0] == '\0' || strstr(v, "..") || v[0] == '/')
				return fail(ps, "%s: bad time zone '%s'", name, v);
			snprintf(zpath, sizeof(zpath), "/usr/share/zoneinfo/%s", v);
			if (access(zpath, R_OK) != 0 && strcmp(v, "UTC") != 0)
				return fail(ps,
				    "%s: unknown time zone '%s' (not in /usr/share/zoneinfo)", name,
				    v);
			return set_str(ps, c->timezone, sizeof(c->timezone), name, v);
		}
		if (strcmp(name, "log_level") == 0) {
			enum log_level l;
			if (log_level_parse(v, &l) != 0)
				return fail(ps, "%s: '%s' is not one of error, warn, info, debug",
				    name, v);
			return set_str(ps, c->log_level, sizeof(c->log_level), name, v);
		}
	} else if (strcmp(section, "scales") == 0) {
		if (strcmp(name, "listen") == 0) {
			if (!valid_listen(v))
				return fail(ps, "%s: '%s' is not ADDRESS:PORT with a port 1-65535",
				    name, v);
			return set_str(ps, c->listen, sizeof(c->listen), name, v);
		}
		if (strcmp(name, "allow") == 0)
			return set_allow(ps, c->allow, &c->nallow, name, v);
		if (strcmp(name, "heartbeat_interval") == 0)
			return set_secs(ps, &c->heartbeat_interval, name, v, 1, 3600);
		if (strcmp(name, "stale_after") == 0)
			return set_int(ps, &c->stale_after, name, v, 1, 100);
		if (strcmp(name, "close_after") == 0)
			return set_int(ps, &c->close_after, name, v, 1, 100);
		if (strcmp(name, "ack_mode") == 0) {
			if (strcmp(v, "prompt") == 0) c->ack_mode = CT_ACK_PROMPT;
			else if (strcmp(v, "every_record") == 0) c->ack_mode = CT_ACK_EVERY_RECORD;
			else return fail(ps, "%s: '%s' is not prompt or every_record", name, v);
			return 1;
		}
		if (strcmp(name, "max_connections") == 0)
			return set_int(ps, &c->max_connections, name, v, 1, 100000);
		if (strcmp(name, "max_per_ip") == 0)
			return set_int(ps, &c->max_per_ip, name, v, 1, 100000);
		if (strcmp(name, "weight_unit_grams") == 0) {
			int u;
			if (!set_int(ps, &u, name, v, 1, 1000000))
				return 0;
			c->weight_unit_grams = u;
			return 1;
		}
	} else if (strncmp(section, "scale ", 6) == 0) {
		const char *id = section + 6;
		struct ct_scale_conf *s;
		if (!scale_id_valid(id))
			return fail(ps, "section [scale %s]: id must be SCALE-dd%s", id, "");
		if ((s = scale_section(ps, id)) == NULL)
			return fail(ps, "too many [scale] sections%s%s", "", "");
		if (strcmp(name, "weight_unit_grams") == 0) {
			int u;
			if (!set_int(ps, &u, name, v, 1, 1000000))
				return 0;
			s->weight_unit_grams = u;
			return 1;
		}
		if (strcmp(name, "address") == 0) {
			struct ct_cidr tmp;
			if (conf_parse_cidr(v, &tmp) != 0 || strchr(v, '/'))
				return fail(ps, "%s: '%s' is not an IP address", name, v);
			return set_str(ps, s->address, sizeof(s->address), name, v);
		}
		if (strcmp(name, "device_type") == 0) {
			/* The cloud contract's values (QUICKREF deviceType). */
			if (strcmp(v, "disassembly") != 0 && strcmp(v, "retail") != 0 &&
			    strcmp(v, "receiving") != 0)
				return fail(ps, "%s: '%s' is not disassembly, retail or receiving",
				    name, v);
			return set_str(ps, s->device_type, sizeof(s->device_type), name, v);
		}
		if (strcmp(name, "name") == 0)
			return set_str(ps, s->name, sizeof(s->name), name, v);
	} else if (strcmp(section, "cloud") == 0) {
		if (strcmp(name, "url") == 0) {
			/* which scheme goes with which transport: checked at the end */
			if (v[0] != '\0' && url_scheme(v) == NULL)
				return fail(ps, "%s: '%s' must start with ws://, wss:// "
				    "(transport websocket), http:// or https:// (transport rest)",
				    name, v);
			ps->url_line = ps->line;
			return set_str(ps, c->url, sizeof(c->url), name, v);
		}
		if (strcmp(name, "transport") == 0) {
			ps->transport_line = ps->line;
			if (strcmp(v, "websocket") == 0)
				c->transport = CT_TRANSPORT_WEBSOCKET;
			else if (strcmp(v, "rest") == 0)
				c->transport = CT_TRANSPORT_REST;
			else
				return fail(ps, "%s: '%s' is not websocket or rest", name, v);
			return 1;
		}
		if (strcmp(name, "register_url") == 0) {
			const char *h = strncmp(v, "http://", 7) == 0 ? v + 7 :
			    strncmp(v, "https://", 8) == 0 ? v + 8 : NULL;
			if (v[0] != '\0' &&
			    (h == NULL || *h == '\0' || *h == '/' || strpbrk(v, " \t")))
				return fail(ps, "%s: '%s' is not an http:// or https:// URL", name,
				    v);
			return set_str(ps, c->register_url, sizeof(c->register_url), name, v);
		}
		if (strcmp(name, "token_file") == 0)
			return set_str(ps, c->token_file, sizeof(c->token_file), name, v);
		if (strcmp(name, "ca_file") == 0)
			return set_str(ps, c->ca_file, sizeof(c->ca_file), name, v);
		if (strcmp(name, "pin_sha256") == 0)
			return set_str(ps, c->pin_sha256, sizeof(c->pin_sha256), name, v);
		if (strcmp(name, "ping_interval") == 0)
			return set_secs(ps, &c->ping_interval, name, v, 1, 3600);
		if (strcmp(name, "offline_grace") == 0)
			return set_secs(ps, &c->offline_grace, name, v, 0, 3600);
		if (strcmp(name, "ack_timeout") == 0)
			return set_secs(ps, &c->ack_timeout, name, v, 1, 3600);
		if (strcmp(name, "status_interval") == 0)
			return set_secs(ps, &c->status_interval, name, v, 1, 86400);
		if (strcmp(name, "batch_size") == 0)
			return set_int(ps, &c->batch_size, name, v, 1, 5000);
		if (strcmp(name, "window") == 0)
			return set_int(ps, &c->window, name, v, 1, 100000);
		if (strcmp(name, "allow_plaintext_token") == 0)
			return set_bool(ps, &c->allow_plaintext_token, name, v);
	} else if (strcmp(section, "store") == 0) {
		if (strcmp(name, "map_size") == 0) {
			uint64_t sz;
			if (conf_parse_size(v, &sz) != 0 || sz < (64u << 10))
				return fail(ps, "%s: bad size '%s' (e.g. 1GiB, at least 64KiB)",
				    name, v);
			c->map_size = sz;
			return 1;
		}
		if (strcmp(name, "retention") == 0 || strcmp(name, "session_expiry") == 0) {
			int64_t s;
			if (conf_parse_duration(v, &s) != 0 || s < 1)
				return fail(ps, "%s: bad duration '%s' (e.g. 30d, 12h)", name, v);
			if (name[0] == 'r') c->retention = s; else c->session_expiry = s;
			return 1;
		}
		if (strcmp(name, "state_quota") == 0) {
			/* "5%" or "5": a share of map_size for sessions, devices, PLU */
			char num[16];
			size_t n = strlen(v);
			if (n > 0 && v[n - 1] == '%')
				n--;
			if (n == 0 || n >= sizeof(num))
				return fail(ps, "%s: expected a percentage %s, e.g. 5%%", name,
				    "1..10");
			memcpy(num, v, n);
			num[n] = '\0';
			return set_int(ps, &c->state_quota_pct, name, num, 1, 10);
		}
	} else if (strcmp(section, "http") == 0) {
		if (strcmp(name, "listen") == 0) {
			/* empty: no web worker (status shows it disabled) */
			if (v[0] != '\0' && !valid_listen(v))
				return fail(ps, "%s: '%s' is not ADDRESS:PORT with a port 1-65535 "
				    "(or empty: off)", name, v);
			return set_str(ps, c->http_listen, sizeof(c->http_listen), name, v);
		}
		if (strcmp(name, "allow") == 0)
			return set_allow(ps, c->http_allow, &c->http_nallow, name, v);
		if (strcmp(name, "token_file") == 0)
			return set_str(ps, c->http_token_file, sizeof(c->http_token_file), name, v);
	} else if (strcmp(section, "cpus") == 0) {
		int i = conf_cpus_index(name);

		if (i < 0)
			return fail(ps, "unknown worker '%s' in [cpus] (%s)", name,
			    "ingest, store, cloud or web");
		if (conf_parse_cpus(v, &c->cpus[i]) != 0)
			return fail(ps, "%s: '%s' is not a CPU list (e.g. 1 or 0-1,3; empty: any)",
			    name, v);
		return 1;
	} else {
		return fail(ps, "unknown section [%s]%s", section, "");
	}
	return fail(ps, "unknown key '%s' in [%s]", name, section);
}

/* inih reads line by line through this, so the handler knows the line. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	const char *nl;
	size_t n;

	if (ps->pos >= ps->end)
		return NULL;
	nl = memchr(ps->pos, '\n', (size_t)(ps->end - ps->pos));
	n = nl ? (size_t)(nl - ps->pos + 1) : (size_t)(ps->end - ps->pos);
	ps->line++;
	if (n + 1 > (size_t)num) {
		fail(ps, "line longer than %s bytes%s", "4000", "");
		n = (size_t)num - 2;
		memcpy(str, ps->pos, n);
		str[n] = '\n';
		str[n + 1] = '\0';
		ps->pos = nl ? nl + 1 : ps->end;
		return str;
	}
	memcpy(str, ps->pos, n);
	str[n] = '\0';
	ps->pos += n;
	return str;
}

int
conf_parse_text(const char *path, const char *text, size_t len, struct ct_conf *c,
    char *err, size_t errlen)
{
	struct parse_state ps = { .c = c, .path = path, .text = text, .pos = text,
	    .end = text + len, .err = err, .errlen = errlen };
	int r;

	conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (len > CT_CONF_MAX_TEXT) {
		snprintf(err, errlen, "%s: file larger than %d bytes", path, CT_CONF_MAX_TEXT);
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		return -1;
	}
	/* A continuation line would silently glue onto the key above it. */
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_max_line = CONF_LINE_MAX;
	r = ini_parse_stream(reader, &ps, handler, &ps);
	if (ps.failed)
		return -1;
	if (r > 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		    path, r);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot parse (out of memory)", path);
		return -1;
	}
	if (check_cloud(&ps, err, errlen) != 0)
		return -1;
	if (c->close_after <= c->stale_after) {
		snprintf(err, errlen,
		    "%s: [scales] close_after (%d) must be greater than stale_after (%d)",
		    path, c->close_after, c->stale_after);
		return -1;
	}
	for (int i = 0; i < c->nscales; i++)
		for (int j = i + 1; j < c->nscales; j++)
			if (c->scales[i].address[0] &&
			    strcmp(c->scales[i].address, c->scales[j].address) == 0) {
				snprintf(err, errlen,
				    "%s: [scale %s] and [scale %s] have the same address %s",
				    path, c->scales[i].id, c->scales[j].id, c->scales[i].address);
				return -1;
			}
	return 0;
}

int
conf_load(const char *path, struct ct_conf *c, char **textp, size_t *lenp, char *err, size_t errlen)
{
	int fd;
	struct stat st;
	char *text;
	ssize_t n;
	size_t got = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CT_CONF_MAX_TEXT) {
		snprintf(err, errlen, "%s: file larger than %d bytes", path, CT_CONF_MAX_TEXT);
		close(fd);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	if (conf_parse_text(path, text, got, c, err, errlen) != 0) {
		free(text);
		return -1;
	}
	if (textp) {
		*textp = text;
		*lenp = got;
	} else
		free(text);
	return 0;
}
