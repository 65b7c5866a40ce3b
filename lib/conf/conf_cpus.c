/*
 * [cpus]: the CPUs each worker may run on, as a list such as "1" or
 * "0-1,3", for sched_setaffinity. Measured reason (bench/RESULTS.md): on a
 * small box the store waits for the disk's interrupt, and an OK crosses
 * ingest and store; keeping both on the CPU that takes the disk's
 * interrupts saves wake-ups of an idle CPU. The default is no list: the
 * kernel places every worker.
 */
#include "conf/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const worker_names[CT_CONF_NCPUS] = {
	[CT_CONF_CPUS_INGEST] = "ingest",
	[CT_CONF_CPUS_STORE] = "store",
	[CT_CONF_CPUS_CLOUD] = "cloud",
	[CT_CONF_CPUS_WEB] = "web",
};

const char *
conf_cpus_name(int i)
{
	return i >= 0 && i < CT_CONF_NCPUS ? worker_names[i] : "?";
}

int
conf_cpus_index(const char *worker)
{
	for (int i = 0; i < CT_CONF_NCPUS; i++)
		if (strcmp(worker, worker_names[i]) == 0)
			return i;
	return -1;
}

const struct ct_cpus *
conf_worker_cpus(const struct ct_conf *c, const char *worker)
{
	int i = conf_cpus_index(worker);

	return i >= 0 && c->cpus[i].set ? &c->cpus[i] : NULL;
}

static int
cpu_number(const char *s, const char **end, long *out)
{
	char *e;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || v < 0 || v >= CPU_SETSIZE)
		return -1;
	*out = v;
	*end = e;
	return 0;
}

int
conf_parse_cpus(const char *s, struct ct_cpus *out)
{
	const char *p = s;
	struct ct_cpus c;

	memset(&c, 0, sizeof(c));
	if (strlen(s) >= sizeof(c.text))
		return -1;
	if (*s == '\0') {
		*out = c;       /* empty: no list, the kernel decides */
		return 0;
	}
	CPU_ZERO(&c.mask);
	for (;;) {
		long lo, hi;

		if (cpu_number(p, &p, &lo) != 0)
			return -1;
		hi = lo;
		if (*p == '-' && (cpu_number(p + 1, &p, &hi) != 0 || hi < lo))
			return -1;
		for (long i = lo; i <= hi; i++)
			CPU_SET((size_t)i, &c.mask);
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return -1;
	}
	c.set = true;
	memcpy(c.text, s, strlen(s) + 1);
	*out = c;
	return 0;
}

size_t
conf_cpus_format(const cpu_set_t *mask, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	for (int i = 0; i < CPU_SETSIZE; i++) {
		int j = i;
		int w;

		if (!CPU_ISSET(i, mask))
			continue;
		while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, mask))
			j++;
		w = j > i ? snprintf(buf + n, cap - n, "%s%d-%d", n ? "," : "", i, j) :
		    snprintf(buf + n, cap - n, "%s%d", n ? "," : "", i);
		if (w < 0 || (size_t)w >= cap - n) {
			buf[n] = '\0';     /* cut at the last whole range */
			return n;
		}
		n += (size_t)w;
		i = j;
	}
	return n;
}
