/*
 * The flap limiter, driven by a hand-held clock: the first change is logged
 * as it happens, a flapping condition gets at most one line per interval
 * with a count, and the last line always tells the current state.
 * Log lines are captured by pointing stderr at a temporary file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log_flap.h"

static FILE *cap;
static char text[1 << 16];

static void
setup(void)
{
	unsetenv("JOURNAL_STREAM");
	cap = tmpfile();
	ck_assert_ptr_nonnull(cap);
	ck_assert_int_ge(dup2(fileno(cap), STDERR_FILENO), 0);
	log_init("test", true, LOG_LVL_DEBUG);
}

/* Everything logged so far. */
static const char *
logged(void)
{
	size_t n;

	rewind(cap);
	n = fread(text, 1, sizeof(text) - 1, cap);
	text[n] = '\0';
	fseek(cap, 0, SEEK_END);
	return text;
}

static int
lines(void)
{
	int n = 0;

	for (const char *p = logged(); *p; p++)
		n += *p == '\n';
	return n;
}

static struct log_flap
pause_flap(void)
{
	return (struct log_flap){
		.on_text = "no longer reading from scales", .on_level = LOG_LVL_WARN,
		.off_text = "reading from scales again", .off_level = LOG_LVL_INFO,
		.interval_ms = 5000,
	};
}

START_TEST(test_first_change_logged_at_once_repeats_ignored)
{
	struct log_flap f = pause_flap();

	ck_assert(log_flap_set(&f, true, 1000, "%d events unconfirmed: paused", 10000));
	ck_assert_ptr_nonnull(strstr(logged(), "test: warn: 10000 events unconfirmed: paused"));
	ck_assert(!log_flap_set(&f, true, 1001, "again"));
	ck_assert(!log_flap_set(&f, true, 9000, "again"));
	ck_assert_int_eq(lines(), 1);
	/* long after the last line: a change is news again, at its own level */
	ck_assert(log_flap_set(&f, false, 9000, "resumed"));
	ck_assert_ptr_nonnull(strstr(logged(), "test: info: resumed"));
	ck_assert_int_eq(lines(), 2);
}
END_TEST

/* One pair per 10 ms for 20 s, the tick every second, as in ingest. */
START_TEST(test_flapping_is_one_line_per_interval_with_counts)
{
	struct log_flap f = pause_flap();
	unsigned long direct = 0, counted = 0;
	const char *p;

	for (int64_t t = 0; t < 20000; t += 10) {
		direct += log_flap_set(&f, true, t, "paused");
		direct += log_flap_set(&f, false, t + 4, "resumed");
		if (t % 1000 == 0)
			log_flap_tick(&f, t);
	}
	/* t = 0 logged, then summaries at 5000, 10000 and 15000 */
	ck_assert_uint_eq(direct, 1);
	ck_assert_int_eq(lines(), 4);
	log_flap_tick(&f, 20000);
	ck_assert_int_eq(lines(), 5);
	/* every change after the first is in exactly one summary */
	p = logged();
	while ((p = strstr(p, "warn: ")) != NULL) {
		unsigned long n;
		p += 6;
		if (sscanf(p, "%lu changes in the last", &n) == 1)
			counted += n;
	}
	ck_assert_uint_eq(counted, 2 * 2000 - 1);
	/* 4 ms of every 10 ms paused: 2.0 s of each 5 s window */
	ck_assert_ptr_nonnull(strstr(logged(), "1000 changes in the last 5.0 s "
	    "(no longer reading from scales for 2.0 s of it); now: reading from scales again"));
	/* nothing more to say: the next tick is silent */
	log_flap_tick(&f, 40000);
	ck_assert_int_eq(lines(), 5);
}
END_TEST

START_TEST(test_summary_tells_the_state_it_stopped_in)
{
	struct log_flap f = pause_flap();

	log_flap_set(&f, true, 0, "paused");
	log_flap_set(&f, false, 100, "resumed");
	log_flap_set(&f, true, 200, "paused");
	log_flap_tick(&f, 4999);
	ck_assert_int_eq(lines(), 1);
	log_flap_tick(&f, 5000);
	ck_assert_int_eq(lines(), 2);
	ck_assert_ptr_nonnull(strstr(logged(), "warn: 2 changes in the last 5.0 s "
	    "(no longer reading from scales for 4.9 s of it); now: no longer reading from scales"));
}
END_TEST

/* A summary due when the next change comes is written before that change
 * is counted, so the lines stay in time order and none is lost. */
START_TEST(test_due_summary_written_by_the_next_change)
{
	struct log_flap f = pause_flap();

	log_flap_set(&f, true, 0, "paused");
	log_flap_set(&f, false, 10, "resumed");
	ck_assert_int_eq(lines(), 1);
	/* no tick came; the next change finds the summary due */
	ck_assert(!log_flap_set(&f, true, 6000, "paused"));
	ck_assert_int_eq(lines(), 2);
	ck_assert_ptr_nonnull(strstr(logged(), "1 changes in the last 6.0 s"));
	log_flap_tick(&f, 11000);
	ck_assert_int_eq(lines(), 3);
	ck_assert_ptr_nonnull(strstr(logged(), "now: no longer reading from scales"));
}
END_TEST

START_TEST(test_messages_filtered_by_level)
{
	struct log_flap f = pause_flap();

	log_set_level(LOG_LVL_WARN);
	log_flap_set(&f, true, 0, "paused");
	log_flap_set(&f, false, 6000, "resumed");     /* info: not shown */
	ck_assert_int_eq(lines(), 1);
	log_flap_set(&f, true, 6001, "paused");       /* counted */
	log_flap_tick(&f, 11000);                     /* summary is warn: shown */
	ck_assert_int_eq(lines(), 2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log_flap");
	TCase *tc = tcase_create("flap");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_first_change_logged_at_once_repeats_ignored);
	tcase_add_test(tc, test_flapping_is_one_line_per_interval_with_counts);
	tcase_add_test(tc, test_summary_tells_the_state_it_stopped_in);
	tcase_add_test(tc, test_due_summary_written_by_the_next_change);
	tcase_add_test(tc, test_messages_filtered_by_level);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
