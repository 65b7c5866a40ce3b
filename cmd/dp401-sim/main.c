/*
 * dp401-sim: simulated DP-401 scales for tests, demos and benchmarks.
 * Options and the summary live here; scale.c holds one scale.
 */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_SCALES 20000

static const char usage_text[] =
"usage: dp401-sim [options] HOST:PORT      (IPv6: [::1]:8899)\n"
"Simulated DP-401 scales (WiFi bridge in TCP-client mode), one connection each.\n"
"  -n, --scales N      number of scales [1]\n"
"      --first-id K    first scale id; scale i registers as SCALE-%%02d of K+i [1]\n"
"      --hb SECONDS    heartbeat period, 0 = none [30]\n"
"      --rate R        records per second per scale, 0 = as fast as TCP takes [1]\n"
"      --records N     records per scale, 0 = until SIGINT/SIGTERM or --duration [10]\n"
"      --duration S    stop sending after S seconds\n"
"      --timeout S     give up after S seconds [120 when --records > 0, else none]\n"
"      --controlled    after each record: prompt, wait for OK, send the P\" copy\n"
"      --wait-ok       at the end: one prompt, wait for its OK (ack_mode = prompt)\n"
"      --turkish       product/operator/company with Windows-1254 letters\n"
"      --unit G        grams per weight unit, for the net_total_g figure [1]\n"
"      --garbage       stray bytes between packets\n"
"      --no-register   never send SCALE-dd\n"
"      --idle          connect and stay silent (no registration, no heartbeat)\n"
"      --reconnect     reconnect after a drop, resending a record with no OK\n"
"      --ok-log FILE   append \"SCALE-dd BARCODE\" for every record an OK confirmed\n"
"  -v, --verbose\n"
"  -h, --help\n"
"Records identify themselves: barcode = 2-digit scale id + 10-digit record number,\n"
"net = id * 1000000 + record number, tare = 1000, gross = net + tare.\n"
"Prints \"dp401-sim: all N connected\" once every scale is connected, and at the\n"
"end \"dp401-sim: scales=N sent=S oks=K errors=E ...\". Exit 0 when every scale\n"
"sent all its records and got every OK it waited for; 1 otherwise; 2 on bad usage.\n";

static struct sim sim;
static struct event *stop_ev, *deadline_ev, *int_ev, *term_ev;

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

static int
parse_addr(const char *arg, struct sim_opts *o)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res;
	int rc;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - arg - 1) >= sizeof(host))
			return -1;
		memcpy(host, arg + 1, (size_t)(end - arg - 1));
		host[end - arg - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(arg, ':');
		if (colon == NULL || (size_t)(colon - arg) >= sizeof(host))
			return -1;
		memcpy(host, arg, (size_t)(colon - arg));
		host[colon - arg] = '\0';
		port = colon + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "dp401-sim: %s: %s\n", arg, gai_strerror(rc));
		return -1;
	}
	memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
	o->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
num(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

static void
summary(void)
{
	printf("dp401-sim: scales=%d sent=%llu oks=%llu errors=%llu confirmed=%llu resent=%llu "
	    "reconnects=%llu unexpected=%llu net_total_g=%lld ok_scales=%d\n",
	    sim.o.scales, (unsigned long long)sim.t.sent, (unsigned long long)sim.t.oks,
	    (unsigned long long)sim.t.errors, (unsigned long long)sim.t.confirmed,
	    (unsigned long long)sim.t.resent, (unsigned long long)sim.t.reconnects,
	    (unsigned long long)sim.t.unexpected, (long long)sim.t.net_total_g, sim.t.succeeded);
	fflush(stdout);
}

void
sim_scale_connected(struct sim *s)
{
	if (!s->announced_connected && s->t.connected == s->o.scales) {
		s->announced_connected = true;
		printf("dp401-sim: all %d connected\n", s->o.scales);
		fflush(stdout);
	}
}

void
sim_scale_finished(struct sim *s, struct scale *sc, bool ok)
{
	(void)sc;
	s->t.finished++;
	if (ok)
		s->t.succeeded++;
	if (s->t.finished == s->o.scales)
		event_base_loopexit(s->base, NULL);
}

static void
stop_all(void)
{
	if (sim.stopping)
		return;
	sim.stopping = true;
	for (int i = 0; i < sim.o.scales; i++)
		scale_stop(sim.scales[i]);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (sim.stopping) {       /* second signal: do not wait for OKs */
		for (int i = 0; i < sim.o.scales; i++)
			scale_abort(sim.scales[i]);
		return;
	}
	stop_all();
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr, "dp401-sim: timeout after %.1f s\n", sim.o.timeout);
	for (int i = 0; i < sim.o.scales; i++)
		scale_abort(sim.scales[i]);
}

static void
raise_fd_limit(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < (rlim_t)need + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)need + 64 ? rl.rlim_max : (rlim_t)need + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			perror("dp401-sim: setrlimit");
	}
}

static struct timeval
tv_of(double sec)
{
	struct timeval tv = { (time_t)sec, (suseconds_t)((sec - (double)(time_t)sec) * 1e6) };
	return tv;
}

int
main(int argc, char **argv)
{
	enum { O_FIRST = 256, O_HB, O_RATE, O_RECORDS, O_DURATION, O_TIMEOUT, O_CONTROLLED,
	       O_WAITOK, O_TURKISH, O_UNIT, O_GARBAGE, O_NOREG, O_IDLE, O_RECONNECT, O_OKLOG };
	static const struct option longopts[] = {
		{ "scales", required_argument, NULL, 'n' },
		{ "first-id", required_argument, NULL, O_FIRST },
		{ "hb", required_argument, NULL, O_HB },
		{ "rate", required_argument, NULL, O_RATE },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "controlled", no_argument, NULL, O_CONTROLLED },
		{ "wait-ok", no_argument, NULL, O_WAITOK },
		{ "turkish", no_argument, NULL, O_TURKISH },
		{ "unit", required_argument, NULL, O_UNIT },
		{ "garbage", no_argument, NULL, O_GARBAGE },
		{ "no-register", no_argument, NULL, O_NOREG },
		{ "idle", no_argument, NULL, O_IDLE },
		{ "reconnect", no_argument, NULL, O_RECONNECT },
		{ "ok-log", required_argument, NULL, O_OKLOG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_opts *o = &sim.o;
	double v;
	bool timeout_set = false;
	int c;

	o->scales = 1;
	o->first_id = 1;
	o->hb_s = 30;
	o->rate = 1;
	o->records = 10;
	o->unit = 1;
	while ((c = getopt_long(argc, argv, "n:vh", longopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'n': bad = num(optarg, 1, MAX_SCALES, &v); o->scales = (int)v; break;
		case O_FIRST: bad = num(optarg, 0, 99, &v); o->first_id = (int)v; break;
		case O_HB: bad = num(optarg, 0, 86400, &v); o->hb_s = v; break;
		case O_RATE: bad = num(optarg, 0, 100000, &v); o->rate = v; break;
		case O_RECORDS: bad = num(optarg, 0, 1e9, &v); o->records = (long)v; break;
		case O_DURATION: bad = num(optarg, 0, 1e7, &v); o->duration = v; break;
		case O_TIMEOUT: bad = num(optarg, 0, 1e7, &v); o->timeout = v; timeout_set = true;
		    break;
		case O_CONTROLLED: o->controlled = true; break;
		case O_WAITOK: o->wait_ok = true; break;
		case O_TURKISH: o->turkish = true; break;
		case O_UNIT: bad = num(optarg, 1, 1e6, &v); o->unit = (int64_t)v; break;
		case O_GARBAGE: o->garbage = true; break;
		case O_NOREG: o->no_register = true; break;
		case O_IDLE: o->idle = true; break;
		case O_RECONNECT: o->reconnect = true; break;
		case O_OKLOG:
			if ((o->ok_log = fopen(optarg, "a")) == NULL) {
				perror(optarg);
				return 2;
			}
			setvbuf(o->ok_log, NULL, _IOLBF, 0);
			break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "dp401-sim: bad value for %s: %s\n", argv[optind - 1],
			    optarg);
			return 2;
		}
	}
	if (optind != argc - 1 || parse_addr(argv[optind], o) != 0) {
		usage(stderr);
		return 2;
	}
	if (!o->no_register && !o->idle && o->first_id + o->scales - 1 > 99) {
		fprintf(stderr,
		    "dp401-sim: SCALE-dd has two digits: --first-id + --scales - 1 <= 99"
		    " (or --no-register / --idle)\n");
		return 2;
	}
	if (!timeout_set && o->records > 0 && !o->idle)
		o->timeout = 120;
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	raise_fd_limit(o->scales);

	if ((sim.base = event_base_new()) == NULL ||
	    (sim.scales = calloc((size_t)o->scales, sizeof(*sim.scales))) == NULL) {
		fprintf(stderr, "dp401-sim: out of memory\n");
		return 1;
	}
	int_ev = evsignal_new(sim.base, SIGINT, on_stop, NULL);
	term_ev = evsignal_new(sim.base, SIGTERM, on_stop, NULL);
	stop_ev = evtimer_new(sim.base, on_stop, NULL);
	deadline_ev = evtimer_new(sim.base, on_deadline, NULL);
	if (int_ev == NULL || term_ev == NULL || stop_ev == NULL || deadline_ev == NULL ||
	    evsignal_add(int_ev, NULL) != 0 || evsignal_add(term_ev, NULL) != 0) {
		fprintf(stderr, "dp401-sim: cannot set up events\n");
		return 1;
	}
	if (o->duration > 0) {
		struct timeval tv = tv_of(o->duration);
		evtimer_add(stop_ev, &tv);
	}
	if (o->timeout > 0) {
		struct timeval tv = tv_of(o->timeout);
		evtimer_add(deadline_ev, &tv);
	}
	for (int i = 0; i < o->scales; i++) {
		if ((sim.scales[i] = scale_new(&sim, i)) == NULL) {
			fprintf(stderr, "dp401-sim: out of memory\n");
			return 1;
		}
	}
	for (int i = 0; i < o->scales; i++)
		scale_start(sim.scales[i]);
	if (sim.t.finished < o->scales)
		event_base_dispatch(sim.base);

	summary();
	int rc = sim.t.succeeded == o->scales ? 0 : 1;
	for (int i = 0; i < o->scales; i++)
		scale_free(sim.scales[i]);
	free(sim.scales);
	event_free(int_ev);
	event_free(term_ev);
	event_free(stop_ev);
	event_free(deadline_ev);
	event_base_free(sim.base);
	if (o->ok_log != NULL)
		fclose(o->ok_log);
	return rc;
}
