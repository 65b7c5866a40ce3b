/*
 * Crash safety of group commit: a child process commits events in a loop and
 * writes each event's seq and localEventId to a pipe only after its commit
 * returned; the parent SIGKILLs it at a random moment, 50 times over the same
 * environment. After each kill the environment must open, hold every event
 * the child confirmed (same seq), and every batch's counters must equal the
 * events that carry its id.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event/event_codec.h"
#include "store/store.h"

#define KILLS       50
#define MAX_CONFIRM 200000

struct confirm {
	uint64_t seq;
	uint8_t  id[CT_UUID_LEN];
};

static char dir[256];
static struct confirm *confirmed;
static size_t nconfirmed;

static struct ct_event
mkev(unsigned i)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	if (ct_uuid_new(ev.local_id) != 0)
		_exit(3);
	snprintf(ev.device_id, sizeof(ev.device_id), "SCALE-%02u", i % 3);
	ev.received_at_ms = ct_now_ms();
	ev.net_g = 100 + (int64_t)(i % 997);
	snprintf(ev.plu, sizeof(ev.plu), "00001");
	ev.raw_len = 40;
	memset(ev.raw, 'x', ev.raw_len);
	return ev;
}

/* The child: never returns. Alternates online and offline stretches so kills
 * land in batch creation, batch updates, acks and link-up closing. */
static void
child(int wfd, unsigned seed)
{
	struct store_opts o = { .map_size = 64ull << 20 };
	struct store *st;
	char err[512];
	unsigned i = 0;

	srand(seed);
	if (store_open(&st, dir, &o, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "child: %s\n", err);
		_exit(2);
	}
	for (;;) {
		struct confirm out[32];
		struct ct_event ev;
		unsigned n = 1 + (unsigned)rand() % 20, k = 0;
		bool online = (rand() % 4) == 0, dup;

		if (store_begin(st, ct_now_ms()) != STORE_OK)
			_exit(4);
		if (online && store_close_open_batches(st, NULL, NULL, NULL) != STORE_OK)
			_exit(5);
		for (unsigned j = 0; j < n; j++, i++) {
			ev = mkev(i);
			if (store_put_event(st, &ev, online, &dup) != STORE_OK)
				_exit(6);
			out[k].seq = ev.seq;
			memcpy(out[k].id, ev.local_id, CT_UUID_LEN);
			k++;
			/* ack the previous event now and then */
			if (j > 0 && rand() % 3 == 0 &&
			    store_ack(st, out[k - 2].id, CT_ACK_ACCEPTED, "c") != STORE_OK)
				_exit(7);
		}
		if (store_commit(st) != STORE_OK)
			_exit(8);
		/* confirmation leaves only after the commit */
		if (write(wfd, out, k * sizeof(out[0])) != (ssize_t)(k * sizeof(out[0])))
			_exit(9);
	}
}

static int64_t
mono_ms(void)
{
	return ct_now_ms_mono();
}

/* Reads confirmations for run_ms (or, with run_ms < 0, until EOF). */
static void
drain(int rfd, int run_ms)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	static uint8_t part[sizeof(struct confirm)];
	static size_t have;
	int64_t deadline = mono_ms() + (run_ms < 0 ? 10000 : run_ms);
	uint8_t buf[4096];

	for (;;) {
		int64_t left = deadline - mono_ms();
		ssize_t r;

		if (left <= 0)
			return;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if ((r = read(rfd, buf, sizeof(buf))) <= 0)
			return;
		for (ssize_t i = 0; i < r; i++) {
			part[have++] = buf[i];
			if (have == sizeof(part)) {
				ck_assert_uint_lt(nconfirmed, MAX_CONFIRM);
				memcpy(&confirmed[nconfirmed++], part, sizeof(part));
				have = 0;
			}
		}
	}
}

struct batch_sum {
	uint8_t  id[CT_UUID_LEN];
	uint32_t n;
	int64_t  g;
};
/* Up to MAX_CONFIRM events, a quarter of the transactions online: a fast
 * run makes thousands of batches (three scales close one each time), so
 * they are found by a hash of their random id, not by a scan. */
#define MAX_SUMS  32768
#define SUMS_MASK (2 * MAX_SUMS - 1)
static struct batch_sum sums[MAX_SUMS];
static int32_t sum_index[2 * MAX_SUMS];      /* slot + 1, 0 = empty */
static int nsums;

static struct batch_sum *
find_sum(const uint8_t id[CT_UUID_LEN], bool add)
{
	uint32_t h = ((uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16) & SUMS_MASK;

	for (;; h = (h + 1) & SUMS_MASK) {
		int32_t s = sum_index[h];
		if (s == 0)
			break;
		if (memcmp(sums[s - 1].id, id, CT_UUID_LEN) == 0)
			return &sums[s - 1];
	}
	if (!add)
		return NULL;
	ck_assert_int_lt(nsums, MAX_SUMS);
	memcpy(sums[nsums].id, id, CT_UUID_LEN);
	sums[nsums].n = 0;
	sums[nsums].g = 0;
	sum_index[h] = ++nsums;
	return &sums[nsums - 1];
}

static int
sum_event(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct batch_sum *s;

	if (ct_uuid_is_nil(ev->offline_batch_id))
		return 0;
	s = find_sum(ev->offline_batch_id, true);
	s->n++;
	s->g += ev->net_g;
	return 0;
}

static int
compare_batch(const struct store_batch *b, void *arg)
{
	struct batch_sum *s = find_sum(b->id, false);
	int *matched = arg;

	/* a batch whose events are all gone cannot exist: nothing is pruned here */
	ck_assert_msg(s != NULL, "batch without events");
	ck_assert_uint_eq(b->event_count, s->n);
	ck_assert_int_eq(b->total_weight_g, s->g);
	(*matched)++;
	return 0;
}

static void
verify(int round)
{
	struct store_opts o = { .map_size = 64ull << 20 };
	struct store *st;
	struct ct_event ev;
	char err[512];
	int matched = 0;

	ck_assert_msg(store_open(&st, dir, &o, err, sizeof(err)) == STORE_OK,
	    "round %d: reopen after kill: %s", round, err);
	for (size_t i = 0; i < nconfirmed; i++) {
		int e = store_event_get_by_id(st, confirmed[i].id, &ev, NULL);

		ck_assert_msg(e == STORE_OK, "round %d: confirmed event seq %llu missing: %s",
		    round, (unsigned long long)confirmed[i].seq, store_errmsg(st));
		ck_assert_uint_eq(ev.seq, confirmed[i].seq);
	}
	nsums = 0;
	memset(sum_index, 0, sizeof(sum_index));
	ck_assert_int_eq(store_events_iter(st, 0, false, 0, sum_event, NULL), STORE_OK);
	ck_assert_int_eq(store_batches_iter(st, compare_batch, &matched), STORE_OK);
	ck_assert_int_eq(matched, nsums);
	store_close(st);
}

START_TEST(test_sigkill_never_loses_a_confirmed_event)
{
	char cmd[300];
	unsigned seed = (unsigned)time(NULL);

	confirmed = calloc(MAX_CONFIRM, sizeof(*confirmed));
	ck_assert_ptr_nonnull(confirmed);
	snprintf(dir, sizeof(dir), "/tmp/test_store_crash.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	srand(seed);
	for (int round = 0; round < KILLS; round++) {
		int fds[2], status;
		pid_t pid;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			child(fds[1], seed + (unsigned)round);
		}
		close(fds[1]);
		/* let it run 20-150 ms (a sync commit takes ~10 ms here), then
		 * kill it wherever it is */
		drain(fds[0], 20 + rand() % 131);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "round %d: child exited on its own (status %d)", round, status);
		drain(fds[0], -1);      /* what it confirmed before dying */
		close(fds[0]);
		verify(round);
	}
	fprintf(stderr, "crash test: %d kills, %zu confirmed events verified (seed %u)\n",
	    KILLS, nconfirmed, seed);
	ck_assert_uint_gt(nconfirmed, KILLS);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(confirmed);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_crash");
	TCase *tc = tcase_create("sigkill");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sigkill_never_loses_a_confirmed_event);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
