/* The control-socket side of carnitrackctl: status and restart. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl/ctl_proto.h"
#include "ipc_proto.h"

#define REPLY_MAX (1024 * 1024)

/* down: when non-NULL, "not running" (no socket, nobody listening) is
 * reported there instead of printed. */
static int
ctl_connect(bool *down)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(ctl_socket) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "carnitrackctl: %s: socket path too long\n", ctl_socket);
		return -1;
	}
	strcpy(sun.sun_path, ctl_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		perror("carnitrackctl: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			fprintf(stderr,
			    "carnitrackctl: %s: permission denied: only root and members of "
			    "group carnitrack may talk to carnitrackd\n", ctl_socket);
		else if ((e == ENOENT || e == ECONNREFUSED) && down != NULL)
			*down = true;
		else if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr,
			    "carnitrackctl: carnitrackd is not running (cannot connect to %s: "
			    "%s)\n",
			    ctl_socket, strerror(e));
		else
			fprintf(stderr, "carnitrackctl: cannot connect to %s: %s\n", ctl_socket,
			    strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

static json_t *
ctl_call(json_t *req, int timeout_s)
{
	return ctl_request(req, timeout_s, NULL);
}

/* Sends one request, waits up to timeout_s for one reply line. */
json_t *
ctl_request(json_t *req, int timeout_s, bool *down)
{
	char *s = json_dumps(req, JSON_COMPACT);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;
	json_t *reply = NULL;
	json_error_t je;
	time_t deadline = time(NULL) + timeout_s;

	json_decref(req);
	if (s == NULL)
		return NULL;
	if (down != NULL)
		*down = false;
	if ((fd = ctl_connect(down)) < 0) {
		free(s);
		return NULL;
	}
	size_t sl = strlen(s);
	s[sl] = '\n';   /* json_dumps leaves room for the NUL we overwrite */
	if (send(fd, s, sl + 1, MSG_NOSIGNAL) != (ssize_t)(sl + 1)) {
		fprintf(stderr, "carnitrackctl: %s: send: %s\n", ctl_socket, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - time(NULL));
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left * 1000) <= 0) {
			fprintf(stderr, "carnitrackctl: no answer from carnitrackd within %d s\n",
			    timeout_s);
			goto out;
		}
		if (len + 4096 + 1 > cap) {
			if (cap >= REPLY_MAX) {
				fprintf(stderr, "carnitrackctl: reply larger than %d bytes\n",
				    REPLY_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				goto out;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "carnitrackctl: carnitrackd closed the connection\n");
			goto out;
		}
		len += (size_t)n;
		char *nl = memchr(buf, '\n', len);
		if (nl) {
			reply = json_loadb(buf, (size_t)(nl - buf), 0, &je);
			if (reply == NULL)
				fprintf(stderr, "carnitrackctl: unreadable reply: %s\n", je.text);
			break;
		}
	}
out:
	free(s);
	free(buf);
	close(fd);
	return reply;
}

static void
fmt_dur(json_int_t s, char *out, size_t n)
{
	if (s < 0) s = 0;
	if (s < 60) snprintf(out, n, "%llds", (long long)s);
	else if (s < 3600) snprintf(out, n, "%lldm%02llds", (long long)s / 60, (long long)s % 60);
	else if (s < 86400) snprintf(out, n, "%lldh%02lldm", (long long)s / 3600,
	    (long long)(s % 3600) / 60);
	else snprintf(out, n, "%lldd%02lldh", (long long)s / 86400, (long long)(s % 86400) / 3600);
}

static void
print_scalar(const char *prefix, const char *key, json_t *v)
{
	char *s;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		char p[128];
		snprintf(p, sizeof(p), "%s%s.", prefix, key);
		json_object_foreach(v, k, x)
			print_scalar(p, k, x);
		return;
	}
	case JSON_ARRAY:
		return;   /* tables are printed by their own section */
	default:
		s = json_dumps(v, JSON_ENCODE_ANY);
		printf("  %s%-28s %s\n", prefix, key, s ? s : "?");
		free(s);
	}
}

static void
print_table_array(const char *title, json_t *arr)
{
	size_t i;
	json_t *row;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	printf("\n%s:\n", title);
	json_array_foreach(arr, i, row) {
		const char *k;
		json_t *v;
		printf(" ");
		json_object_foreach(row, k, v) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			if (json_is_string(v))
				printf(" %s=%s", k, json_string_value(v));
			else
				printf(" %s=%s", k, s ? s : "?");
			free(s);
		}
		printf("\n");
	}
}


static json_t *
worker_status(json_t *r, const char *name)
{
	size_t i;
	json_t *w;

	json_array_foreach(json_object_get(r, "workers"), i, w)
		if (json_is_string(json_object_get(w, "name")) &&
		    strcmp(json_string_value(json_object_get(w, "name")), name) == 0)
			return json_object_get(w, "status");
	return NULL;
}

static const char *
sget(json_t *o, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : dflt;
}

static long long
iget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) :
	    json_is_real(v) ? (long long)json_real_value(v) : 0;
}

/* The figures an operator looks at first; everything else is in -v. */
static void
print_summary(json_t *r)
{
	json_t *cl = worker_status(r, "cloud"), *st = worker_status(r, "store"),
	    *in = worker_status(r, "ingest"), *wb = worker_status(r, "web"), *scales, *sc;
	char age[32];
	size_t i;

	if (cl) {
		json_t *rtt = json_object_get(cl, "last_ping_rtt_ms");
		char rttbuf[32] = "-";
		if (json_is_integer(rtt))
			snprintf(rttbuf, sizeof(rttbuf), "%lld ms",
			    (long long)json_integer_value(rtt));
		bool rest = strcmp(sget(cl, "transport", ""), "rest") == 0;
		printf("\ncloud link:  %s  %s  (%s)\n", sget(cl, "link_state", "?"),
		    sget(cl, "url", "(no url)"), sget(cl, "transport", "websocket"));
		if (rest) {
			json_t *etag = json_object_get(cl, "etag_age_s");
			char etagbuf[32] = "none";
			if (json_is_integer(etag))
				snprintf(etagbuf, sizeof(etagbuf), "%lld s old",
				    (long long)json_integer_value(etag));
			printf("  connected since %s, in flight %lld events in %lld requests, "
			    "acknowledged today %lld\n", sget(cl, "connected_since", "-"),
			    iget(cl, "in_flight"), iget(cl, "requests_in_flight"),
			    iget(cl, "acknowledged_today"));
			printf("  last request: %s (%lld s ago); sessions polled every %lld ms, "
			    "ETag %s\n", sget(cl, "last_request", "none yet"),
			    iget(cl, "last_request_age_s"), iget(cl, "session_poll_interval_ms"),
			    etagbuf);
		} else {
			printf("  connected since %s, in flight %lld, acknowledged today %lld, "
			    "last ping rtt %s\n",
			    sget(cl, "connected_since", "-"), iget(cl, "in_flight"),
			    iget(cl, "acknowledged_today"), rttbuf);
		}
		if (json_is_string(json_object_get(cl, "registered")))
			printf("  registered: %s  edge id %s (from %s), site %s\n",
			    sget(cl, "registered", "?"), sget(cl, "edge_id", "none"),
			    sget(cl, "identity_source", "nowhere yet"),
			    sget(cl, "site_id", "none"));
		if (iget(cl, "messages_unknown") > 0 || iget(cl, "messages_bad") > 0)
			printf("  messages from the cloud: %lld bad, %lld of unknown types\n",
			    iget(cl, "messages_bad"), iget(cl, "messages_unknown"));
		if (json_is_string(json_object_get(cl, "last_error")))
			printf("  last error: %s\n", sget(cl, "last_error", ""));
	}
	if (st) {
		fmt_dur(iget(st, "oldest_pending_age_s"), age, sizeof(age));
		printf("\nstore:       %s  backlog %lld pending (oldest %s), open offline batches "
		    "%lld\n",
		    sget(st, "state", "?"), iget(st, "pending"), iget(st, "pending") ? age : "-",
		    iget(st, "open_batches"));
		printf("  map use %.1f%% of %lld MiB, last commit %.2f ms, events %lld\n",
		    json_number_value(json_object_get(st, "map_use_pct")),
		    iget(st, "map_size") / (1024 * 1024),
		    json_number_value(json_object_get(st, "last_commit_ms")), iget(st, "events"));
		if (iget(st, "quarantined") > 0)
			printf("  quarantined lines %lld (not records; kept, not sent: "
			    "carnitrackctl"
			    " events --invalid)\n", iget(st, "quarantined"));
		if (json_is_string(json_object_get(st, "error")))
			printf("  error: %s\n", sget(st, "error", ""));
		json_t *ce = json_object_get(st, "commit_error");
		if (json_is_object(ce)) {
			fmt_dur(iget(ce, "since_s"), age, sizeof(age));
			printf("  CANNOT COMMIT since %s (%s): %s; %lld events waiting, scales get "
			    "no OK\n",
			    sget(ce, "since", "?"), age, sget(ce, "error", "?"),
			    iget(ce, "waiting"));
		}
	}
	if (in) {
		scales = json_object_get(in, "scales");
		printf("\nscales:      %lld connected on %s%s\n", iget(in, "connections"),
		    sget(in, "listen", "?"), json_is_true(json_object_get(in, "store_full")) ?
		    "  (store full: OK withheld)" : "");
		if (json_array_size(scales) > 0)
			printf("  %-22s %-26s %-22s %-7s %-8s %s\n", "ID", "GLOBAL ID", "ADDRESS",
			    "STATUS", "EVENTS", "LAST HEARTBEAT");
		json_array_foreach(scales, i, sc) {
			json_t *mv = json_object_get(sc, "id_moved"), *rf;

			printf("  %-22s %-26s %-22s %-7s %-8lld %s\n", sget(sc, "id", "?"),
			    sget(sc, "global_id", "-"), sget(sc, "address", "?"),
			    sget(sc, "status", "?"),
			    iget(sc, "events_today"), sget(sc, "last_heartbeat", "-"));
			if (json_is_object(mv))
				printf("    id moved from %s to %s at %s\n", sget(mv, "from", "?"),
				    sget(mv, "to", "?"), sget(mv, "at", "?"));
			if (json_is_object(rf = json_object_get(sc, "registrations_refused")))
				printf("    %lld registration(s) refused (not its [scale] address),"
				    " last from %s at %s\n", iget(rf, "count"),
				    sget(rf, "last_from", "?"),
				    sget(rf, "last_at", "?"));
		}
	}
	if (wb)
		printf("\nweb:         http://%s/  %lld connections, %lld requests\n",
		    sget(wb, "listen", "?"), iget(wb, "connections"),
		    iget(json_object_get(wb, "counters"), "requests"));
}

int
ctl_cmd_status(const struct ct_conf *conf, int argc, char **argv)
{
	bool as_json = false, verbose = false;
	json_t *r, *workers, *w;
	size_t i;
	const char *health;
	char up[32];

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[a], "-v") == 0 || strcmp(argv[a], "--verbose") == 0)
			verbose = true;
		else {
			fprintf(stderr, "usage: carnitrackctl status [--json] [-v]\n");
			return CTL_EXIT_USAGE;
		}
	}
	r = ctl_call(json_pack("{s:i, s:s}", "version", CTL_VERSION, "cmd", "status"), 10);
	if (r == NULL)
		return CTL_EXIT_DOWN;
	if (!json_is_true(json_object_get(r, "ok"))) {
		fprintf(stderr, "carnitrackctl: %s\n",
		    json_string_value(json_object_get(r, "error")) ?
		    json_string_value(json_object_get(r, "error")) : "error");
		json_decref(r);
		return CTL_EXIT_DOWN;
	}
	health = json_string_value(json_object_get(r, "health"));
	if (as_json) {
		json_dumpf(r, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		fmt_dur(json_integer_value(json_object_get(r, "uptime_s")), up, sizeof(up));
		printf("carnitrackd %s  pid %lld  up %s  health %s\n",
		    json_string_value(json_object_get(r, "daemon_version")),
		    (long long)json_integer_value(json_object_get(r, "pid")), up,
		    health ? health : "?");
		printf("\n%-8s %-8s %-9s %-9s %-9s %s\n", "WORKER", "PID", "STATE", "UPTIME",
		    "RESTARTS", "LAST EXIT");
		workers = json_object_get(r, "workers");
		json_array_foreach(workers, i, w) {
			json_t *pid = json_object_get(w, "pid");
			const char *last = json_string_value(json_object_get(w, "last_exit"));
			const char *why = json_string_value(json_object_get(w, "why"));
			char pidbuf[16] = "-";
			if (json_is_integer(pid))
				snprintf(pidbuf, sizeof(pidbuf), "%lld",
				    (long long)json_integer_value(pid));
			fmt_dur(json_integer_value(json_object_get(w, "uptime_s")), up, sizeof(up));
			printf("%-8s %-8s %-9s %-9s %-9lld %s%s%s\n",
			    json_string_value(json_object_get(w, "name")), pidbuf,
			    json_string_value(json_object_get(w, "state")), up,
			    (long long)json_integer_value(json_object_get(w, "restarts")),
			    last ? last : "-", why ? "  " : "", why ? why : "");
		}
		print_summary(r);
		json_array_foreach(workers, i, w) {
			json_t *st = json_object_get(w, "status");
			if (!verbose)
				break;
			const char *k;
			json_t *v;
			if (!json_is_object(st))
				continue;
			printf("\n%s:\n", json_string_value(json_object_get(w, "name")));
			json_object_foreach(st, k, v)
				print_scalar("", k, v);
			json_object_foreach(st, k, v)
				if (json_is_array(v))
					print_table_array(k, v);
		}
	}
	int rc = health && strcmp(health, "ok") == 0 ? CTL_EXIT_OK : CTL_EXIT_DEGRADED;
	json_decref(r);
	return rc;
}

int
ctl_cmd_restart(const struct ct_conf *conf, int argc, char **argv)
{
	json_t *r;
	int rc;
	enum ct_proc p;
	char names[128];

	if (argc != 2) {
		ct_proc_list(names, sizeof(names), "|", "|");
		fprintf(stderr, "usage: carnitrackctl restart %s\n", names);
		return CTL_EXIT_USAGE;
	}
	if (ct_proc_parse(argv[1], &p) != 0) {
		ct_proc_list(names, sizeof(names), ", ", " or ");
		fprintf(stderr, "carnitrackctl: unknown worker '%s' (%s)\n", argv[1], names);
		return CTL_EXIT_USAGE;
	}
	r = ctl_call(json_pack("{s:i, s:s, s:s}", "version", CTL_VERSION, "cmd", "restart",
	    "worker", argv[1]), 40);
	if (r == NULL)
		return CTL_EXIT_DOWN;
	if (json_is_true(json_object_get(r, "ok"))) {
		printf("%s restarted, pid %lld\n", argv[1],
		    (long long)json_integer_value(json_object_get(r, "pid")));
		rc = CTL_EXIT_OK;
	} else {
		fprintf(stderr, "carnitrackctl: restart %s failed: %s\n", argv[1],
		    json_string_value(json_object_get(r, "error")) ?
		    json_string_value(json_object_get(r, "error")) : "unknown error");
		rc = CTL_EXIT_DEGRADED;
	}
	json_decref(r);
	return rc;
}
