/*
 * The benchmark's stopwatch: watches the store read-only (as carnitrackctl
 * does) every 2 ms until it holds at least N events and, optionally, none
 * of them is still pending (every ack committed). Meanwhile it samples the
 * anonymous memory (RssAnon) of the given processes and, at the end, their
 * CPU use over the watched interval, so throughput, memory under load and
 * who burnt the CPU come from the same window.
 *
 * Usage: bench_watch [options] DATA_DIR
 *   --events N          wait until the store holds >= N events
 *   --pending0          then until no event is pending
 *   --since-ns T        CLOCK_REALTIME ns that times are measured from
 *                       [the watcher's start]
 *   --cloud-port P      also note when the reference cloud first counts a
 *                       registration (its control port, "stats")
 *   --rss PID,PID,...   sum of RssAnon, sampled every 50 ms: peak and last,
 *                       each process's share at the peak and its own peak
 *   --cpu NAME=PID,...  per process: CPU seconds / wall seconds, and seconds
 *                       spent waiting for a CPU (run queue) / wall seconds
 *   --timeout S         [300]
 *   --series FILE       every 20 ms: "seconds events pending" (a time line)
 * Prints one line of key=value (times in seconds since T); exit 0 when the
 * condition was met, 1 on timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define MAX_PIDS 16

struct cpu_pid {
	char   name[32];
	int    pid;
	double t0;               /* CPU seconds at the start */
	double w0;               /* run-queue wait seconds at the start */
};

static double
real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a process, seconds; -1 when it is gone. */
static double
cpu_seconds(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, stt;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip to the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields after ')': state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2)
		return -1;
	return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* Seconds spent runnable but waiting for a CPU (schedstat's run_delay): on
 * a shared machine this says how much of a stage's time others took. */
static double
runq_wait_seconds(int pid)
{
	char path[64];
	unsigned long long on, wait;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fscanf(f, "%llu %llu", &on, &wait);
	fclose(f);
	return n == 2 ? (double)wait / 1e9 : -1;
}

static long
rss_anon_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int
cloud_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "registers" from the reference cloud's stats line; -1 on failure. */
static long
cloud_registers(int fd)
{
	char buf[2048], *p;
	size_t got = 0;
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	if (write(fd, "stats\n", 6) != 6)
		return -1;
	while (got < sizeof(buf) - 1) {
		if (poll(&pf, 1, 1000) <= 0)
			return -1;
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		if (strchr(buf, '\n') != NULL)
			break;
	}
	if ((p = strstr(buf, "\"registers\":")) == NULL)
		return -1;
	return strtol(p + 12, NULL, 10);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' }, { "pending0", no_argument, NULL, 'p' },
		{ "since-ns", required_argument, NULL, 's' },
		    { "cloud-port", required_argument, NULL, 'c' },
		{ "rss", required_argument, NULL, 'r' }, { "cpu", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 't' },
		    { "series", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct cpu_pid cpu[MAX_PIDS];
	int rss_pid[MAX_PIDS], nrss = 0, ncpu = 0, cloud_port = 0, cfd = -1, c;
	unsigned long long target = 0;
	bool pending0 = false;
	double since = real_s(), timeout = 300, t_start, t_stored = -1, t_done = -1, t_reg = -1;
	double last_rss = 0;
	long rss_peak = 0, rss_last = 0, rss_at_peak[MAX_PIDS] = { 0 }, rss_max[MAX_PIDS] = { 0 };
	struct store_opts so = { .readonly = true };
	struct store_stats ss = { 0 };
	struct store *st = NULL;
	char err[512], *tok, *save;
	FILE *series = NULL;
	double last_series = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': target = strtoull(optarg, NULL, 10); break;
		case 'p': pending0 = true; break;
		case 's': since = (double)strtoll(optarg, NULL, 10) / 1e9; break;
		case 'c': cloud_port = atoi(optarg); break;
		case 't': timeout = atof(optarg); break;
		case 'S':
			if ((series = fopen(optarg, "w")) == NULL) {
				perror(optarg);
				return 2;
			}
			break;
		case 'r':
			for (tok = strtok_r(optarg, ",", &save); tok && nrss < MAX_PIDS;
			    tok = strtok_r(NULL, ",", &save))
				rss_pid[nrss++] = atoi(tok);
			break;
		case 'u':
			for (tok = strtok_r(optarg, ",", &save); tok && ncpu < MAX_PIDS;
			    tok = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(tok, '=');
				if (eq == NULL || (size_t)(eq - tok) >= sizeof(cpu[0].name))
					continue;
				memcpy(cpu[ncpu].name, tok, (size_t)(eq - tok));
				cpu[ncpu].name[eq - tok] = '\0';
				cpu[ncpu].pid = atoi(eq + 1);
				cpu[ncpu].t0 = cpu_seconds(cpu[ncpu].pid);
				cpu[ncpu].w0 = runq_wait_seconds(cpu[ncpu].pid);
				ncpu++;
			}
			break;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "usage: bench_watch [--events N] [--pending0] [--since-ns T] "
		    "[--cloud-port P] [--rss PIDS] [--cpu NAME=PID,..] [--timeout S] DATA_DIR\n");
		return 2;
	}
	t_start = real_s();
	for (;;) {
		double now = real_s();
		if (now - t_start > timeout)
			break;
		if (st == NULL && store_open(&st, argv[optind], &so, err, sizeof(err)) != STORE_OK)
			st = NULL;
		if (cloud_port > 0 && t_reg < 0) {
			if (cfd < 0)
				cfd = cloud_connect(cloud_port);
			long r = cfd >= 0 ? cloud_registers(cfd) : -1;
			if (r < 0 && cfd >= 0) {
				close(cfd);
				cfd = -1;
			} else if (r > 0)
				t_reg = now - since;
		}
		if (nrss > 0 && now - last_rss >= 0.05) {
			long sum = 0, kb[MAX_PIDS];
			for (int i = 0; i < nrss; i++) {
				kb[i] = rss_anon_kb(rss_pid[i]);
				if (kb[i] < 0)
					kb[i] = 0;
				sum += kb[i];
				if (kb[i] > rss_max[i])
					rss_max[i] = kb[i];
			}
			rss_last = sum;
			if (sum > rss_peak) {
				rss_peak = sum;
				memcpy(rss_at_peak, kb, sizeof(long) * (size_t)nrss);
			}
			last_rss = now;
		}
		if (st != NULL && store_stats_get(st, &ss) == STORE_OK) {
			if (series != NULL && now - last_series >= 0.02) {
				fprintf(series, "%.3f %llu %llu\n", now - since,
				    (unsigned long long)ss.events, (unsigned long long)ss.pending);
				last_series = now;
			}
			if (t_stored < 0 && ss.events >= target)
				t_stored = now - since;
			if (t_stored >= 0 && (!pending0 || ss.pending == 0) &&
			    (cloud_port == 0 || t_reg >= 0)) {
				t_done = now - since;
				break;
			}
		}
		usleep(2000);
	}
	double wall = real_s() - t_start;
	printf("watch stored_s=%.3f done_s=%.3f registered_s=%.3f events=%llu pending=%llu "
	    "rss_peak_kb=%ld rss_last_kb=%ld wall_s=%.3f", t_stored, t_done, t_reg,
	    (unsigned long long)ss.events, (unsigned long long)ss.pending, rss_peak, rss_last,
	    wall);
	/* who held the memory at the peak, and each one's own peak (kB) */
	for (int i = 0; i < nrss; i++)
		printf("%s%ld", i == 0 ? " rss_at_peak_kb=" : "/", rss_at_peak[i]);
	for (int i = 0; i < nrss; i++)
		printf("%s%ld", i == 0 ? " rss_max_kb=" : "/", rss_max[i]);
	for (int i = 0; i < ncpu; i++) {
		double t1 = cpu_seconds(cpu[i].pid);
		double w1 = runq_wait_seconds(cpu[i].pid);
		printf(" cpu_%s=%.3f", cpu[i].name,
		    cpu[i].t0 >= 0 && t1 >= 0 && wall > 0 ? (t1 - cpu[i].t0) / wall : -1.0);
		printf(" runq_%s=%.3f", cpu[i].name,
		    cpu[i].w0 >= 0 && w1 >= 0 && wall > 0 ? (w1 - cpu[i].w0) / wall : -1.0);
	}
	printf("\n");
	if (st != NULL)
		store_close(st);
	if (series != NULL)
		fclose(series);
	if (cfd >= 0)
		close(cfd);
	return t_done >= 0 ? 0 : 1;
}
