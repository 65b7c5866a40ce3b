/*
 * lib/util/secret_file: who may read or write a token file, links to other
 * owners' files, size, content. The owner and group cases need root (to
 * chown); they are skipped otherwise.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/secret_file.h"

#define NOBODY 65534

static char dir[64], path[128], link_path[128], out[256], err[512];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_secret.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
}

static void
teardown(void)
{
	unlink(link_path);
	unlink(path);
	rmdir(dir);
}

static void
put(const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static int
rd(const char *p)
{
	err[0] = '\0';
	return secret_file_read(p, "[cloud] token_file", out, sizeof(out), err, sizeof(err));
}

START_TEST(test_private_file_is_read_and_trimmed)
{
	put("tok-123 \t\r\nsecond line\n", 0600);
	ck_assert_msg(rd(path) == 0, "%s", err);
	ck_assert_str_eq(out, "tok-123");
	put("tok-456", 0640);          /* group: ours (the file was made by us) */
	ck_assert_msg(rd(path) == 0, "%s", err);
	ck_assert_str_eq(out, "tok-456");
}
END_TEST

START_TEST(test_others_may_not_read_or_write)
{
	put("tok", 0644);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_ptr_nonnull(strstr(err, "is readable by others (mode 0644)"));
	ck_assert_ptr_nonnull(strstr(err, "chmod o-rwx"));
	ck_assert_str_eq(out, "");
	put("tok", 0602);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_ptr_nonnull(strstr(err, "is writable by others (mode 0602)"));
	put("tok", 0606);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_ptr_nonnull(strstr(err, "readable and writable by others (mode 0606)"));
}
END_TEST

START_TEST(test_another_group_may_not_read)
{
	if (geteuid() != 0)
		return;
	put("tok", 0640);
	ck_assert_int_eq(chown(path, 0, NOBODY), 0);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_msg(strstr(err, "is readable by group") && strstr(err, "(mode 0640)") &&
	    strstr(err, "chgrp"), "%s", err);
	ck_assert_int_eq(chmod(path, 0600), 0);       /* no group bits: fine */
	ck_assert_msg(rd(path) == 0, "%s", err);
}
END_TEST

START_TEST(test_another_owner_is_refused)
{
	if (geteuid() != 0)
		return;
	put("tok", 0600);
	ck_assert_int_eq(chown(path, NOBODY, 0), 0);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_msg(strstr(err, "is owned by") && strstr(err, "must belong to root"), "%s", err);
}
END_TEST

/* carnitrackd -n as root judges for the service user: a file of that
 * user's is fine for it, and the same file is another owner's for a
 * third user; group bits count against that user's group. */
START_TEST(test_judged_for_another_user)
{
	put("tok-as", 0600);
	ck_assert_msg(secret_file_read_as(path, "[http] token_file", geteuid(), getegid(), out,
	    sizeof(out), err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(out, "tok-as");
	if (geteuid() != 0)
		return;
	ck_assert_int_eq(chown(path, NOBODY, NOBODY), 0);
	ck_assert_msg(secret_file_read_as(path, "[http] token_file", NOBODY, NOBODY, out,
	    sizeof(out), err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(secret_file_read_as(path, "[http] token_file", NOBODY + 1, NOBODY,
	    out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "is owned by") != NULL, "%s", err);
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(secret_file_read_as(path, "[http] token_file", NOBODY, NOBODY, out,
	    sizeof(out), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "is readable by group") != NULL, "%s", err);
}
END_TEST

START_TEST(test_symlink_to_another_owners_file_is_refused)
{
	put("tok", 0600);
	ck_assert_int_eq(symlink(path, link_path), 0);
	ck_assert_msg(rd(link_path) == 0, "same owner: %s", err);   /* ours to ours */
	ck_assert_str_eq(out, "tok");
	if (geteuid() != 0)
		return;
	/* a link planted by another user, to our file */
	ck_assert_int_eq(lchown(link_path, NOBODY, NOBODY), 0);
	ck_assert_int_eq(rd(link_path), -1);
	ck_assert_msg(strstr(err, "is a symlink owned by") && strstr(err, "refusing to follow"),
	    "%s", err);
	/* our link to another owner's file */
	ck_assert_int_eq(lchown(link_path, 0, 0), 0);
	ck_assert_int_eq(chown(path, NOBODY, 0), 0);
	ck_assert_int_eq(rd(link_path), -1);
	ck_assert_ptr_nonnull(strstr(err, "refusing to follow"));
}
END_TEST

START_TEST(test_not_a_file_too_big_empty_or_spaces)
{
	char big[300];

	ck_assert_int_eq(rd(dir), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(big, 0600);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_ptr_nonnull(strstr(err, "is 299 bytes: more than a token (at most 255)"));
	put("\n", 0600);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_ptr_nonnull(strstr(err, "is empty"));
	put("two words", 0600);
	ck_assert_int_eq(rd(path), -1);
	ck_assert_ptr_nonnull(strstr(err, "space or control character"));
	ck_assert_ptr_null(strstr(err, "words"));     /* never the content */
	ck_assert_int_eq(rd("/nonexistent/token"), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("secret_file");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_private_file_is_read_and_trimmed);
	tcase_add_test(tc, test_others_may_not_read_or_write);
	tcase_add_test(tc, test_another_group_may_not_read);
	tcase_add_test(tc, test_another_owner_is_refused);
	tcase_add_test(tc, test_judged_for_another_user);
	tcase_add_test(tc, test_symlink_to_another_owners_file_is_refused);
	tcase_add_test(tc, test_not_a_file_too_big_empty_or_spaces);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
