/*
 * Latency probe for the benchmarks: plays N scales on the scale port and
 * watches the store's LMDB environment (read-only, as carnitrackctl does) to
 * see when each record it sent was committed and when the cloud's ack for it
 * was committed.
 *
 * What is measured, per record:
 *   t0       CLOCK_MONOTONIC just before write() of the record line;
 *   stored   first read transaction that finds the record (matched by its
 *            scale id and barcode) in the events database;
 *   acked    first read transaction that finds its sync state no longer
 *            pending (accepted/duplicate/rejected), i.e. the store worker
 *            committed the cloud's event_ack.
 * Read transactions are started when inotify reports a write to data.mdb
 * (LMDB writes pages with pwrite and the meta page last, with O_DSYNC, so
 * the last notification of a commit arrives after it is durable), again
 * 50 us, 100 us and 150 us after it (the commit becomes visible to readers
 * a moment after that write: QUICK_NS), and every 1 ms as a fallback; the
 * fallback count is printed. The schedule is open-loop (record k is due at start + k/rate
 * whatever happened to earlier ones), so a slow edge cannot hide its delay.
 *
 * --controlled plays scales in controlled transfer (KONTROLLU AKTAR): each
 * record goes out with the prompt in one write, and what is measured is
 * t0 -> the OK for it read on that connection (OKs answer a connection's
 * prompts in order); the store is not read then, so the probe adds no read
 * transactions to what it measures.
 *
 * With CARNITRACKD_TRACE=DIR (util/trace.h) the probe writes its stamps
 * (probe.send, probe.committed, probe.acked, probe.ok, each with the scale
 * and barcode) beside the daemon's, for bench_stages: for the records it
 * counts (sent after the warm-up), which are the ones bench_stages counts.
 *
 * Usage: bench_probe [options] HOST:PORT DATA_DIR
 *   --scales N      connections, registering SCALE-<first>.. [50]
 *   --first-id K    first scale id [1]
 *   --rate R        records per second over all scales [250]
 *   --duration S    seconds of sending [10]
 *   --warmup S      samples sent in the first S seconds are dropped [1]
 *   --once          recovery mode: one scale; (re)connect until the port
 *                   answers, send a record, resend on a dropped connection,
 *                   until one record's ack is committed
 *   --controlled    record + prompt, measure send -> OK read
 *   --timeout S     give up after S seconds [30]
 * Prints one line of key=value; exit 0 when every counted record was acked
 * (or, --controlled, answered with its OK).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp401/dp401.h"
#include "log/log.h"

#include "bench_stats.h"
#include "probe.h"

static int
scale_connect(struct probe *p, int i)
{
	char reg[16];
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&p->addr, sizeof(p->addr)) != 0) {
		close(fd);
		return -1;
	}
	/* a bridge sends each packet as it comes; so do we */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	probe_dev_name(p, i, reg);
	p->ok_match[i] = 0;
	if (write(fd, reg, strlen(reg)) != (ssize_t)strlen(reg)) {
		close(fd);
		return -1;
	}
	p->fd[i] = fd;
	return 0;
}

static void
scale_drop(struct probe *p, int i)
{
	if (p->fd[i] >= 0)
		close(p->fd[i]);
	p->fd[i] = -1;
}

/* One record on scale i; returns 0 when written whole. */
static int
send_record(struct probe *p, int i, bool counted)
{
	char line[512];
	struct rec *r;
	struct tm tm;
	time_t now = time(NULL);
	int id = (p->first_id + i) % 100;
	long no = ++p->rec_no;
	size_t n;

	if (p->nout >= MAX_OUT) {
		p->skipped++;
		return -1;
	}
	r = &p->out[p->nout];
	memset(r, 0, sizeof(*r));
	r->scale = i;
	r->counted = counted;
	snprintf(r->barcode, sizeof(r->barcode), "%02d%010ld", id, no % 10000000000L);
	localtime_r(&now, &tm);
	struct dp401_fmt f = {
		.plu_prefix = "", .plu = 1 + (unsigned)(no % 50),
		.hh = tm.tm_hour, .mi = tm.tm_min, .ss = tm.tm_sec,
		.dd = tm.tm_mday, .mo = tm.tm_mon + 1, .yyyy = tm.tm_year + 1900,
		.product = "KIYMA", .barcode = r->barcode, .code = "0000",
		.operator_name = "KAAN", .gross = 1000 + no % 100000, .tare = 1000,
		.net = no % 100000, .flags = "2021N", .company = "KORKUT KAAN BALTA",
	};
	n = dp401_format_record(&f, line, sizeof(line) - 2);
	if (n == 0 || n + 2 > sizeof(line)) {
		p->errors++;
		return -1;
	}
	memcpy(line + n, "\r\n", 2);
	n += 2;
	if (p->controlled) {
		if (n + strlen(DP401_ACK_TOKEN) > sizeof(line)) {
			p->errors++;
			return -1;
		}
		memcpy(line + n, DP401_ACK_TOKEN, strlen(DP401_ACK_TOKEN));
		n += strlen(DP401_ACK_TOKEN);
	}
	r->t0 = ct_now_ns_mono();
	if (write(p->fd[i], line, n) != (ssize_t)n) {
		p->errors++;
		scale_drop(p, i);
		return -1;
	}
	p->nout++;
	p->sent++;
	probe_stamp(p, r, r->t0, CT_ST_PROBE_SEND);
	return 0;
}

/* One OK read on scale i: it answers that scale's oldest record. */
static void
on_ok(struct probe *p, int i, int64_t now)
{
	int oldest = -1;

	for (int j = 0; j < p->nout; j++)
		if (p->out[j].scale == i && (oldest < 0 || p->out[j].t0 < p->out[oldest].t0))
			oldest = j;
	if (oldest < 0) {
		p->unexpected++;      /* an OK for nothing we asked */
		return;
	}
	p->out[oldest].ok = now;
	probe_stamp(p, &p->out[oldest], now, CT_ST_PROBE_OK);
	probe_record_sample(p, &p->out[oldest]);
	p->out[oldest] = p->out[--p->nout];
}

/* Bytes from scale i: counts "OK\n" (a match may span reads). */
static void
scan_oks(struct probe *p, int i, const char *buf, size_t n, int64_t now)
{
	static const char ok[] = DP401_OK_REPLY;

	for (size_t k = 0; k < n; k++) {
		if (buf[k] == ok[p->ok_match[i]]) {
			if (++p->ok_match[i] == 3) {
				p->ok_match[i] = 0;
				on_ok(p, i, now);
			}
		} else {
			p->unexpected++;
			p->ok_match[i] = buf[k] == 'O' ? 1 : 0;
		}
	}
}

/* Waits up to wait_ns for a store write or a scale socket event. Returns
 * true when the store should be looked at. */
static bool
wait_io(struct probe *p, int64_t wait_ns, bool *fallback)
{
	struct pollfd pf[MAX_SCALES + 1];
	int n = 0, map[MAX_SCALES + 1];
	struct timespec ts;
	char buf[4096];
	bool look = false;

	*fallback = false;
	if (p->ino >= 0) {
		pf[n].fd = p->ino;
		pf[n].events = POLLIN;
		map[n++] = -1;
	}
	for (int i = 0; i < p->nscales; i++)
		if (p->fd[i] >= 0) {
			pf[n].fd = p->fd[i];
			pf[n].events = POLLIN;
			map[n++] = i;
		}
	if (wait_ns < 0)
		wait_ns = 0;
	if (p->nout > 0 && p->st != NULL && wait_ns > (p->quick > 0 ? QUICK_NS : 1000000))
		wait_ns = p->quick > 0 ? QUICK_NS : 1000000;
	ts.tv_sec = wait_ns / 1000000000;
	ts.tv_nsec = wait_ns % 1000000000;
	int rc = ppoll(pf, (nfds_t)n, &ts, NULL);
	if (rc < 0 && errno != EINTR) {
		p->errors++;
		return false;
	}
	if (rc == 0) {
		if (p->quick > 0) {
			p->quick--;
			return p->nout > 0 && p->st != NULL;
		}
		*fallback = p->nout > 0 && p->st != NULL;
		return *fallback;
	}
	for (int k = 0; k < n && rc > 0; k++) {
		if (pf[k].revents == 0)
			continue;
		if (map[k] < 0) {
			while (read(p->ino, buf, sizeof(buf)) > 0)
				;
			look = true;
			p->quick = QUICK_CHECKS;
		} else {
			/* OKs (controlled, or every_record mode); EOF: the edge closed us */
			ssize_t r = read(pf[k].fd, buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				scale_drop(p, map[k]);
			else if (r > 0 && p->controlled)
				scan_oks(p, map[k], buf, (size_t)r, ct_now_ns_mono());
		}
	}
	return look;
}

static int
run_once(struct probe *p)
{
	int64_t start = ct_now_ns_mono(), deadline = start + (int64_t)(p->timeout * 1e9);
	bool fb;

	p->nscales = 1;
	while (ct_now_ns_mono() < deadline) {
		if (p->fd[0] < 0) {
			if (scale_connect(p, 0) != 0) {
				usleep(2000);
				continue;
			}
			send_record(p, 0, true);
		}
		if (wait_io(p, 1000000, &fb) || p->nout > 0) {
			if (probe_check_store(p) > 0) {
				printf("once acked_real_ns=%lld elapsed_ms=%.1f sent=%llu\n",
				    (long long)ct_now_ms() * 1000000,
				    (double)(ct_now_ns_mono() - start) / 1e6,
				    (unsigned long long)p->sent);
				return 0;
			}
		}
	}
	printf("once timeout elapsed_ms=%.1f sent=%llu outstanding=%d\n",
	    (double)(ct_now_ns_mono() - start) / 1e6, (unsigned long long)p->sent, p->nout);
	return 1;
}

static int
run_rate(struct probe *p)
{
	int64_t start, interval = (int64_t)(1e9 / p->rate), next, end, warm, deadline;
	long k = 0;
	bool fb;

	for (int i = 0; i < p->nscales; i++)
		if (scale_connect(p, i) != 0) {
			fprintf(stderr, "bench_probe: scale %d: connect: %s\n", i, strerror(errno));
			return 1;
		}
	/* let ingest see the registrations before the clock starts */
	usleep(200000);
	start = next = ct_now_ns_mono();
	end = start + (int64_t)(p->duration * 1e9);
	warm = start + (int64_t)(p->warmup * 1e9);
	deadline = end + (int64_t)(p->timeout * 1e9);
	for (;;) {
		int64_t now = ct_now_ns_mono();
		if (now >= next && now < end) {
			int i = (int)(k % p->nscales);
			k++;
			next = start + k * interval;
			if (p->fd[i] >= 0)
				send_record(p, i, now >= warm);
			else
				p->errors++;
			continue;
		}
		if (now >= end && p->nout == 0)
			break;
		if (now >= deadline)
			break;
		if (wait_io(p, (now < end ? next : deadline) - now, &fb) && p->st != NULL) {
			if (probe_check_store(p) > 0 && fb)
				p->fallback++;
		}
	}
	size_t n = p->nlat;
	qsort(p->lat_stored, n, sizeof(double), bench_cmp_double);
	qsort(p->lat_acked, n, sizeof(double), bench_cmp_double);
	qsort(p->lat_ok, n, sizeof(double), bench_cmp_double);
	int64_t lost = 0;
	for (int j = 0; j < p->nout; j++)
		lost += p->out[j].counted;
	if (p->controlled) {
		printf("controlled n=%zu ok_p50_us=%.0f ok_p99_us=%.0f ok_max_us=%.0f sent=%llu "
		    "unanswered=%lld unexpected=%llu skipped=%llu errors=%llu\n", n,
		    bench_pct(p->lat_ok, n, 0.5), bench_pct(p->lat_ok, n, 0.99),
		    bench_pct(p->lat_ok, n, 1),
		    (unsigned long long)p->sent, (long long)lost,
		    (unsigned long long)p->unexpected, (unsigned long long)p->skipped,
		    (unsigned long long)p->errors);
		return lost == 0 && p->errors == 0 && p->unexpected == 0 && n > 0 ? 0 : 1;
	}
	printf("latency n=%zu stored_p50_us=%.0f stored_p99_us=%.0f stored_max_us=%.0f "
	    "acked_p50_us=%.0f acked_p99_us=%.0f acked_max_us=%.0f sent=%llu unacked=%lld "
	    "skipped=%llu errors=%llu fallback=%llu\n", n,
	    bench_pct(p->lat_stored, n, 0.5), bench_pct(p->lat_stored, n, 0.99),
	    bench_pct(p->lat_stored, n, 1), bench_pct(p->lat_acked, n, 0.5),
	    bench_pct(p->lat_acked, n, 0.99), bench_pct(p->lat_acked, n, 1),
	    (unsigned long long)p->sent, (long long)lost, (unsigned long long)p->skipped,
	    (unsigned long long)p->errors, (unsigned long long)p->fallback);
	return lost == 0 && p->errors == 0 && n > 0 ? 0 : 1;
}

static int
parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');
	long port;

	if (c == NULL || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	port = strtol(c + 1, NULL, 10);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	return port > 0 && port < 65536 && inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static struct probe p = {
		.nscales = 50, .first_id = 1, .rate = 250, .duration = 10, .warmup = 1,
		    .timeout = 30,
	};
	static const struct option opts[] = {
		{ "scales", required_argument, NULL, 'n' },
		    { "first-id", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },
		    { "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' }, { "once", no_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "controlled", no_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': p.nscales = atoi(optarg); break;
		case 'f': p.first_id = atoi(optarg); break;
		case 'r': p.rate = atof(optarg); break;
		case 'd': p.duration = atof(optarg); break;
		case 'w': p.warmup = atof(optarg); break;
		case 'o': p.once = true; break;
		case 't': p.timeout = atof(optarg); break;
		case 'c': p.controlled = true; break;
		default: return 2;
		}
	}
	/* controlled: the OKs are the measure, the store is not read */
	if (argc - optind != (p.controlled ? 1 : 2) || parse_addr(argv[optind], &p.addr) != 0 ||
	    p.nscales < 1 || p.nscales > MAX_SCALES || p.rate <= 0 || p.duration <= 0 ||
	    p.timeout <= 0 || (p.controlled && p.once)) {
		fprintf(stderr, "usage: bench_probe [--scales N<=%d] [--first-id K] [--rate R] "
		    "[--duration S] [--warmup S] [--once] [--timeout S] HOST:PORT DATA_DIR\n"
		    "       bench_probe --controlled [--scales N] [--rate R] [--duration S] "
		    "[--warmup S] [--timeout S] HOST:PORT\n", MAX_SCALES);
		return 2;
	}
	p.data_dir = p.controlled ? NULL : argv[optind + 1];
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_SCALES; i++)
		p.fd[i] = -1;
	/* record numbers unique across probes run on one store */
	p.rec_no = (long)((ct_now_ms() * 1000000 / 1000) % 1000000000L) * 10;
	p.caplat = (size_t)(p.rate * p.duration) + 16;
	if ((p.lat_stored = calloc(p.caplat, sizeof(double))) == NULL ||
	    (p.lat_acked = calloc(p.caplat, sizeof(double))) == NULL ||
	    (p.lat_ok = calloc(p.caplat, sizeof(double))) == NULL) {
		fprintf(stderr, "bench_probe: out of memory\n");
		return 1;
	}
	p.ino = -1;
	log_init("bench_probe", true, LOG_LVL_WARN);
	if (!p.controlled &&
	    probe_open_store(&p, ct_now_ns_mono() + (int64_t)(p.timeout * 1e9)) != 0)
		return 1;
	ct_trace_open("probe");
	int rc = p.once ? run_once(&p) : run_rate(&p);
	ct_trace_close();
	if (p.st != NULL)
		store_close(p.st);
	return rc;
}
