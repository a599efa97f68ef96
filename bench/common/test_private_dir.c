/*
 * test_private_dir - mmf_private_dir refuses every name someone else could
 * have made first (issue 16): a symlink, a file, a directory of another user
 * (planted as root and chowned to nobody; skipped when not root), a
 * directory others can write; and makes a fresh one 0700. mmf_scratch_parent
 * refuses a parent others could swap a fresh folder out of: a symlink, a
 * directory of another user (made by a child running as nobody in a sticky
 * folder, like /var/tmp), one others can write that is not sticky, root's
 * folder inside another user's.
 */
#define _GNU_SOURCE
#include "private_dir.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define NOBODY 65534

struct fx {
	char dir[64];
	char path[128];
	char why[256];
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	/* /tmp, not $TMPDIR: nobody must reach it (plant_as_nobody) */
	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/mmf-pdir-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/cache", x->dir);
	*state = x;
	return 0;
}

static int remove_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *x = *state;

	assert_int_equal(nftw(x->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(x);
	return 0;
}

static void test_private_dir_creates_0700(void **state)
{
	struct fx *x = *state;
	struct stat st;
	int fd = mmf_private_dir(x->path, true, x->why, sizeof(x->why));

	assert_true(fd >= 0);
	assert_int_equal(stat(x->path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	close(fd);
	/* and takes it again */
	fd = mmf_private_dir(x->path, false, x->why, sizeof(x->why));
	assert_true(fd >= 0);
	close(fd);
}

static void test_private_dir_absent_without_create(void **state)
{
	struct fx *x = *state;

	assert_int_equal(mmf_private_dir(x->path, false, x->why, sizeof(x->why)), -ENOENT);
}

static void test_private_dir_refuses_symlink(void **state)
{
	struct fx *x = *state;
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", x->dir);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, x->path), 0);
	assert_int_equal(mmf_private_dir(x->path, true, x->why, sizeof(x->why)), -ELOOP);
	assert_non_null(strstr(x->why, x->path));
	assert_non_null(strstr(x->why, "symlink"));
}

static void test_private_dir_refuses_file(void **state)
{
	struct fx *x = *state;
	FILE *f = fopen(x->path, "w");

	assert_non_null(f);
	fclose(f);
	assert_int_equal(mmf_private_dir(x->path, true, x->why, sizeof(x->why)), -ENOTDIR);
}

static void test_private_dir_refuses_open_mode(void **state)
{
	struct fx *x = *state;

	assert_int_equal(mkdir(x->path, 0700), 0);
	assert_int_equal(chmod(x->path, 0777), 0);
	assert_int_equal(mmf_private_dir(x->path, true, x->why, sizeof(x->why)), -EACCES);
	assert_non_null(strstr(x->why, "0777"));
}

static void test_private_dir_refuses_other_owner(void **state)
{
	struct fx *x = *state;

	if (geteuid() != 0)
		skip();	/* planting as another user needs root */
	assert_int_equal(mkdir(x->path, 0700), 0);
	assert_int_equal(chown(x->path, NOBODY, NOBODY), 0);
	assert_int_equal(mmf_private_dir(x->path, true, x->why, sizeof(x->why)), -EPERM);
	assert_non_null(strstr(x->why, "owned by uid 65534"));
}

/* As nobody (a child process: setgid, setuid), mkdir path 0777 in a sticky
 * folder, the way another user plants a name in /var/tmp. */
static void plant_as_nobody(struct fx *x)
{
	int status;
	pid_t pid;

	assert_int_equal(chmod(x->dir, 01777), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(setgid(NOBODY) || setuid(NOBODY) || mkdir(x->path, 0777) || chmod(x->path, 0777));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_scratch_parent_accepts_own_and_sticky(void **state)
{
	struct fx *x = *state;

	assert_int_equal(mmf_scratch_parent(x->dir, x->why, sizeof(x->why)), 0);
	assert_int_equal(chmod(x->dir, 01777), 0);	/* like /tmp */
	assert_int_equal(mmf_scratch_parent(x->dir, x->why, sizeof(x->why)), 0);
	assert_int_equal(mmf_scratch_parent("/tmp", x->why, sizeof(x->why)), 0);
}

static void test_scratch_parent_refuses_symlink(void **state)
{
	struct fx *x = *state;

	assert_int_equal(symlink(x->dir, x->path), 0);
	assert_int_equal(mmf_scratch_parent(x->path, x->why, sizeof(x->why)), -ELOOP);
	assert_non_null(strstr(x->why, "symlink"));
	strcat(x->path, "/");	/* a trailing slash would follow it */
	assert_int_equal(mmf_scratch_parent(x->path, x->why, sizeof(x->why)), -ELOOP);
}

static void test_scratch_parent_refuses_open_not_sticky(void **state)
{
	struct fx *x = *state;

	assert_int_equal(mkdir(x->path, 0700), 0);
	assert_int_equal(chmod(x->path, 0777), 0);
	assert_int_equal(mmf_scratch_parent(x->path, x->why, sizeof(x->why)), -EACCES);
	assert_non_null(strstr(x->why, "not sticky (mode 0777)"));
	assert_int_equal(chmod(x->path, 0775), 0);
	assert_int_equal(mmf_scratch_parent(x->path, x->why, sizeof(x->why)), -EACCES);
}

static void test_scratch_parent_refuses_file(void **state)
{
	struct fx *x = *state;
	FILE *f = fopen(x->path, "w");

	assert_non_null(f);
	fclose(f);
	assert_int_equal(mmf_scratch_parent(x->path, x->why, sizeof(x->why)), -ENOTDIR);
}

static void test_scratch_parent_refuses_other_owner(void **state)
{
	struct fx *x = *state;

	if (geteuid() != 0)
		skip();	/* planting as another user needs root */
	plant_as_nobody(x);
	assert_int_equal(mmf_scratch_parent(x->path, x->why, sizeof(x->why)), -EPERM);
	assert_non_null(strstr(x->why, "owned by uid 65534"));
	/* and as a cache */
	assert_int_equal(mmf_private_dir(x->path, true, x->why, sizeof(x->why)), -EPERM);
}

static void test_scratch_parent_refuses_a_folder_in_another_users(void **state)
{
	struct fx *x = *state;
	char mine[160], cache[192], want[200];

	if (geteuid() != 0)
		skip();	/* planting as another user needs root */
	plant_as_nobody(x);	/* nobody's folder: they may rename what is in it */
	snprintf(mine, sizeof(mine), "%s/mine", x->path);
	assert_int_equal(mkdir(mine, 0700), 0);
	snprintf(want, sizeof(want), "lies in %s, owned by uid 65534", x->path);
	assert_int_equal(mmf_scratch_parent(mine, x->why, sizeof(x->why)), -EPERM);
	assert_non_null(strstr(x->why, want));
	snprintf(cache, sizeof(cache), "%s/cache", mine);
	assert_int_equal(mmf_private_dir(cache, true, x->why, sizeof(x->why)), -EPERM);
	assert_non_null(strstr(x->why, want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_private_dir_creates_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir_absent_without_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir_refuses_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir_refuses_open_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir_refuses_other_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_parent_accepts_own_and_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_parent_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_parent_refuses_open_not_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_parent_refuses_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_parent_refuses_other_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_parent_refuses_a_folder_in_another_users,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
