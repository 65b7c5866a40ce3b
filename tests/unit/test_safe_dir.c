/*
 * lib/util/safe_dir: the daemon's directories made without following
 * planted links. The cases with another user need root (chown); they are
 * skipped otherwise. "nobody" stands for the daemon's user.
 */
#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/safe_dir.h"

static char dir[64], p[256], q[256], err[1024];
static uid_t nobody_uid;
static gid_t nobody_gid;

static void
setup(void)
{
	struct passwd *pw = getpwnam("nobody");

	snprintf(dir, sizeof(dir), "/tmp/test_safe_dir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	nobody_uid = pw ? pw->pw_uid : 65534;
	nobody_gid = pw ? pw->pw_gid : 65534;
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static bool
root(void)
{
	return geteuid() == 0 && getpwnam("nobody") != NULL;
}

static int
open_as(const char *path, const char *user)
{
	int fd;

	err[0] = '\0';
	fd = safe_dir_open(path, 0750, user, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -1;
}

START_TEST(test_makes_the_path_with_exact_modes_whatever_the_umask)
{
	struct stat st;
	mode_t old = umask(077);

	snprintf(p, sizeof(p), "%s/a/b/data", dir);
	ck_assert_msg(open_as(p, NULL) == 0, "%s", err);
	umask(old);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	snprintf(q, sizeof(q), "%s/a/b", dir);
	ck_assert_int_eq(stat(q, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);        /* the way there: traversable */
	ck_assert_msg(open_as(p, NULL) == 0, "again: %s", err);
	ck_assert_int_eq(open_as("/", NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory of its own"));
}
END_TEST

START_TEST(test_a_link_as_the_directory_is_refused)
{
	struct stat st;

	snprintf(q, sizeof(q), "%s/victim", dir);
	ck_assert_int_eq(mkdir(q, 0700), 0);
	snprintf(p, sizeof(p), "%s/data", dir);
	ck_assert_int_eq(symlink(q, p), 0);
	ck_assert_int_eq(open_as(p, root() ? "nobody" : NULL), -1);
	ck_assert_msg(strstr(err, "/data is a symbolic link: refusing it"), "%s", err);
	ck_assert_int_eq(stat(q, &st), 0);
	ck_assert_uint_eq(st.st_uid, geteuid());              /* not chowned */
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
}
END_TEST

START_TEST(test_links_on_the_way_only_roots)
{
	snprintf(q, sizeof(q), "%s/real", dir);
	ck_assert_int_eq(mkdir(q, 0755), 0);
	snprintf(p, sizeof(p), "%s/via", dir);
	ck_assert_int_eq(symlink(q, p), 0);
	snprintf(p, sizeof(p), "%s/via/data", dir);
	if (!root()) {
		ck_assert_msg(open_as(p, NULL) == -1, "a non-root link was followed");
		return;
	}
	ck_assert_msg(open_as(p, "nobody") == 0, "root's link: %s", err);
	snprintf(q, sizeof(q), "%s/via", dir);
	ck_assert_int_eq(lchown(q, nobody_uid, nobody_gid), 0);
	ck_assert_int_eq(open_as(p, "nobody"), -1);
	ck_assert_msg(strstr(err, "is a symbolic link owned by nobody: refusing to follow"), "%s",
	    err);
}
END_TEST

START_TEST(test_a_parent_the_user_can_write_is_refused)
{
	struct stat st;

	if (!root())
		return;
	snprintf(q, sizeof(q), "%s/open", dir);
	ck_assert_int_eq(mkdir(q, 0755), 0);
	ck_assert_int_eq(chown(q, nobody_uid, 0), 0);         /* the user's own directory */
	snprintf(p, sizeof(p), "%s/open/data", dir);
	ck_assert_int_eq(open_as(p, "nobody"), -1);
	ck_assert_msg(strstr(err, "/open is writable by user nobody") &&
	    strstr(err, "could put a link of its own"), "%s", err);
	/* group-writable by a group of the user: the same */
	ck_assert_int_eq(chown(q, 0, nobody_gid), 0);
	ck_assert_int_eq(chmod(q, 0775), 0);
	ck_assert_int_eq(open_as(p, "nobody"), -1);
	/* sticky and world-writable (/tmp): fine, the entry is root's */
	ck_assert_int_eq(chown(q, 0, 0), 0);
	ck_assert_int_eq(chmod(q, 01777), 0);
	ck_assert_msg(open_as(p, "nobody") == 0, "sticky: %s", err);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, nobody_uid);             /* handed to the user */
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	/* ... but not when the entry there was made by the user */
	snprintf(p, sizeof(p), "%s/open/mine", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(chown(p, nobody_uid, nobody_gid), 0);
	snprintf(p, sizeof(p), "%s/open/mine/data", dir);
	ck_assert_int_eq(open_as(p, "nobody"), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("safe_dir");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_makes_the_path_with_exact_modes_whatever_the_umask);
	tcase_add_test(tc, test_a_link_as_the_directory_is_refused);
	tcase_add_test(tc, test_links_on_the_way_only_roots);
	tcase_add_test(tc, test_a_parent_the_user_can_write_is_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
