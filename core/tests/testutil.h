/*
 * testutil.h - what every unit test binary shares: a temp-dir fixture, file
 * helpers that bypass the library (so they check it independently), and
 * libfiu helpers for the few defects only a failing syscall shows.
 */
#ifndef MMF_TESTUTIL_H
#define MMF_TESTUTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
/* Without FIU_ENABLE, fiu.h turns fiu_init() & co. into no-op macros. */
#define FIU_ENABLE 1
#include <fiu-control.h>
#include <fiu.h>

#include "mmapfile.h"

/* The per-test state: a fresh directory and the path of a file in it. */
struct fixture {
	char dir[64];
	char path[128];
};

static inline int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/mmf-unit-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/file", fx->dir);
	fiu_init(0);
	*state = fx;
	return 0;
}

static inline int fixture_teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
#define FX ((struct fixture *)*state)

/* The file's size as the filesystem sees it, -1 if it does not exist. */
static inline long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Allocated bytes of the file (st_blocks * 512). */
static inline long long file_allocated(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_blocks * 512;
}

/* Create path with exactly these bytes, without the library. */
static inline void file_write(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Read len bytes at off with pread, without the library. */
static inline void file_read(const char *path, size_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Open path read-write with the given options (NULL = defaults). */
static inline mmf_file *open_rw(const char *path, size_t size, const mmf_options *o)
{
	mmf_file *f = NULL;

	assert_int_equal(mmf_open(path, O_RDWR | O_CREAT, size, o, &f), 0);
	assert_non_null(f);
	return f;
}

/* Options with one policy and set of flags. */
static inline mmf_options opts(enum mmf_grow grow, unsigned flags)
{
	mmf_options o;

	mmf_options_init(&o);
	o.grow = grow;
	o.flags = flags;
	return o;
}

/* The VmFlags line of /proc/self/smaps for the mapping holding addr. */
static inline void vm_flags(const void *addr, char *out, size_t n)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;

	assert_non_null(fp);
	out[0] = '\0';
	while (fgets(line, sizeof(line), fp)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    line[strspn(line, "0123456789abcdef")] == '-')
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			size_t len = strnlen(line, n - 1);	/* cut to fit */

			memcpy(out, line, len);
			out[len] = '\0';
			break;
		}
	}
	fclose(fp);
	assert_true(out[0] != '\0');
}

/* Does the mapping at addr carry the kernel flag ("rr" random, "sr"
 * sequential)? */
static inline bool has_vm_flag(const void *addr, const char *flag)
{
	char flags[256], want[8];

	vm_flags(addr, flags, sizeof(flags));
	snprintf(want, sizeof(want), " %s", flag);
	return strstr(flags, want) != NULL;
}

/* Fail the next calls of a seam point with err, until fail_off(). */
static inline void fail_on(const char *point, int err)
{
	assert_int_equal(fiu_enable(point, 1, (void *)(intptr_t)err, 0), 0);
}

static inline void fail_off(const char *point)
{
	assert_int_equal(fiu_disable(point), 0);
}

/* The syncs seen by count_sync (fiu external callback: counts, never fails). */
static inline unsigned *sync_counter(void)
{
	static unsigned n;

	return &n;
}

static inline int count_sync(const char *name, int *failnum, void **failinfo,
			     unsigned int *flags)
{
	(void)name;
	(void)failnum;
	(void)failinfo;
	(void)flags;
	++*sync_counter();
	return 0;
}

/*
 * mmf_close of a writable handle whose bytes the test reads back after it:
 * it returns 0 and must have synced exactly once (one msync, or fdatasync
 * when nothing is mapped). Reading back through the same page cache cannot
 * tell a close that forgot to sync; this can.
 */
static inline void close_synced(mmf_file *f)
{
	int rc;

	*sync_counter() = 0;
	assert_int_equal(fiu_enable_external("mmf/os/msync", 1, NULL, 0, count_sync), 0);
	assert_int_equal(fiu_enable_external("mmf/os/fdatasync", 1, NULL, 0, count_sync), 0);
	rc = mmf_close(f);
	fail_off("mmf/os/msync");
	fail_off("mmf/os/fdatasync");
	assert_int_equal(rc, 0);
	assert_int_equal(*sync_counter(), 1);
}

#endif
