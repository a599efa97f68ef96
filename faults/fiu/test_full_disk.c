/*
 * test_full_disk.c - append until a real filesystem is full.
 *
 * Each test runs twice: on a fresh 8 MiB tmpfs and on a loop-mounted 16 MiB
 * ext4 image (the filesystem the library's MMF_RESERVE promise is made for:
 * ext4's page_mkwrite answers a full disk with SIGBUS), unmounted after.
 * Mounting needs root (CAP_SYS_ADMIN) and the ext4 one mkfs.ext4 and a loop
 * device: otherwise the tests are skipped with the reason. No failure point
 * is enabled: the disk really fills.
 *
 * - default options: the append that cannot fit returns -ENOSPC at grow
 *   time, nothing is written, the handle keeps working (reads, sync), and
 *   after reopen every synced byte is there;
 * - the seed's options (no reservation): the same records, stored through
 *   the mapping (mmf_allocate_slice), in a child, die of SIGBUS when a store
 *   into the sparse mapping finds no free page; appended with
 *   mmf_append_buffer (records >= MMF_APPEND_BY_WRITE are copied by
 *   pwrite(2)) they get -ENOSPC from write(2) instead; so do MMF_POPULATE
 *   handles without MMF_RESERVE (their prefault fails silently there);
 * - a write error (ext4 on a loop image whose tmpfs fills, so writeback
 *   fails): leaving bulk stores at a small sync must leave the error to
 *   the next mmf_sync (mmapfile.c "BULK STORES").
 */
#define _GNU_SOURCE
#include "fault_util.h"
#include "mmapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define FS_SIZE "8m"
#define FS_BYTES (8u << 20)
#define REC (16u << 10)		/* one append */
#define SYNC_EVERY 4		/* appends between syncs */

/* The child of the seed test dies of SIGBUS: ASan must not catch it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0";
}

struct disk {
	const char *kind;	/* "tmpfs", "ext4" or "ext4 on tmpfs" */
	char *mnt;		/* mount point, NULL when skipped */
	char *img;		/* the ext4 image file */
	char *inner;		/* "ext4 on tmpfs": the ext4's mount point
				 * (inside the tmpfs at mnt), else NULL */
	char *path;
	char reason[200];	/* why skipped */
};

/* Run a shell command quietly; 0 when it exited 0. */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* "ext4 on tmpfs": a BACKING_SIZE tmpfs on d->mnt holding a sparse 64 MiB
 * ext4 image, loop-mounted on d->mnt/fs. Filling the tmpfs makes the
 * loop device's writes fail: the ext4's writeback gets an I/O error. */
#define BACKING_SIZE "40m"

static int mount_stacked(struct disk *d)
{
	if (mount("tmpfs", d->mnt, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=" BACKING_SIZE) != 0) {
		snprintf(d->reason, sizeof(d->reason), "mount -t tmpfs %s: %s",
			 d->mnt, strerror(errno));
		return -1;
	}
	d->img = fu_join(d->mnt, "disk.img");
	d->inner = fu_join(d->mnt, "fs");
	if (!d->img || !d->inner ||
	    sh("truncate -s 64M '%s' && mkfs.ext4 -F -q -m 0 '%s' >/dev/null 2>&1 "
	       "&& mkdir '%s' && mount -o loop,errors=continue '%s' '%s' "
	       ">/dev/null 2>&1", d->img, d->img, d->inner, d->img, d->inner) != 0) {
		snprintf(d->reason, sizeof(d->reason), "an ext4 image "
			 "loop-mounted on a tmpfs failed (mkfs.ext4, loop?)");
		(void)umount2(d->mnt, MNT_DETACH);
		free(d->inner);
		d->inner = NULL;
		return -1;
	}
	return 0;
}

/* Mount the kind's filesystem on d->mnt; 0, or -1 with d->reason set. */
static int mount_fs(struct disk *d)
{
	if (strcmp(d->kind, "ext4 on tmpfs") == 0)
		return mount_stacked(d);
	if (strcmp(d->kind, "tmpfs") == 0) {
		if (mount("tmpfs", d->mnt, "tmpfs", MS_NOSUID | MS_NODEV,
			  "size=" FS_SIZE) == 0)
			return 0;
		snprintf(d->reason, sizeof(d->reason), "mount -t tmpfs -o "
			 "size=%s %s: %s", FS_SIZE, d->mnt, strerror(errno));
		return -1;
	}
	/* Inside the mount point: a fresh mkdtemp folder (0700, ours), so no
	 * other user can plant the name first (a symlink beside it in /tmp
	 * would make root mkfs and mount a file of their choosing). The mount
	 * then hides it; the loop device keeps it open. */
	d->img = fu_join(d->mnt, "disk.img");
	if (!d->img) {
		snprintf(d->reason, sizeof(d->reason), "out of memory");
		return -1;
	}
	if (sh("truncate -s 16M '%s' && mkfs.ext4 -F -q -m 0 '%s' >/dev/null 2>&1",
	       d->img, d->img) != 0) {
		snprintf(d->reason, sizeof(d->reason), "mkfs.ext4 of a 16 MiB "
			 "image failed (e2fsprogs installed?)");
		return -1;
	}
	if (sh("mount -o loop '%s' '%s' >/dev/null 2>&1", d->img, d->mnt) != 0) {
		snprintf(d->reason, sizeof(d->reason), "mount -o loop of an "
			 "ext4 image failed (no loop device here?)");
		return -1;
	}
	return 0;
}

static int disk_setup(void **state, const char *kind)
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	*state = d;
	d->kind = kind;
	if (geteuid() != 0) {
		snprintf(d->reason, sizeof(d->reason), "not root: cannot "
			 "mount a small %s", kind);
		return 0;
	}
	d->mnt = fu_tmpdir("fulldisk");
	if (d->mnt && mount_fs(d) != 0) {
		if (d->img)
			unlink(d->img);
		rmdir(d->mnt);
		free(d->mnt);
		d->mnt = NULL;
	}
	if (d->mnt)
		d->path = fu_join(d->inner ? d->inner : d->mnt, "wal");
	return 0;
}

static int tmpfs_setup(void **state)
{
	return disk_setup(state, "tmpfs");
}

static int ext4_setup(void **state)
{
	return disk_setup(state, "ext4");
}

static int stacked_setup(void **state)
{
	return disk_setup(state, "ext4 on tmpfs");
}

static int disk_teardown(void **state)
{
	struct disk *d = *state;

	if (d->inner && umount2(d->inner, 0) != 0 &&
	    umount2(d->inner, MNT_DETACH) != 0)
		fprintf(stderr, "umount %s: %s\n", d->inner, strerror(errno));
	free(d->inner);
	if (d->mnt) {
		if (umount2(d->mnt, 0) != 0 && umount2(d->mnt, MNT_DETACH) != 0)
			fprintf(stderr, "umount %s: %s\n", d->mnt,
				strerror(errno));
		if (d->img)
			unlink(d->img);
		rmdir(d->mnt);
	}
	free(d->img);
	free(d->mnt);
	free(d->path);
	free(d);
	return 0;
}

static long long file_size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void skip_unless_mounted(const struct disk *d)
{
	if (!d->mnt) {
		printf("SKIP full disk (%s): %s\n", d->kind, d->reason);
		skip();
	}
}

/* Append REC-byte records of pattern 1 until an append fails; sync every
 * SYNC_EVERY. Returns the failing append's code; *end = bytes appended,
 * *synced = bytes synced. */
static int append_until_full(mmf_file *f, size_t *end, size_t *synced)
{
	unsigned char buf[REC];
	int rc = 0, n = 0;

	*end = *synced = 0;
	while (*end < 4 * (size_t)FS_BYTES) {
		fu_fill(buf, *end, REC, 1);
		rc = mmf_append_buffer(f, *end, buf, REC);
		if (rc != 0)
			return rc;
		*end += REC;
		if (++n % SYNC_EVERY == 0) {
			assert_int_equal(mmf_sync(f), 0);
			*synced = *end;
		}
	}
	return rc;
}

/* The handle still reads: every appended byte, through mmf_bytes and a
 * reader. */
static void check_reads(const mmf_file *f, size_t end)
{
	unsigned char *want = malloc(end), *got = malloc(end);
	const void *p;
	mmf_reader r;

	assert_non_null(want);
	assert_non_null(got);
	fu_fill(want, 0, end, 1);
	assert_int_equal(mmf_bytes(f, 0, end, &p), 0);
	assert_memory_equal(p, want, end);
	mmf_reader_init(&r, f, 0);
	assert_int_equal(mmf_reader_read(&r, got, end), (ssize_t)end);
	assert_memory_equal(got, want, end);
	free(want);
	free(got);
}

/* For the seed test's comparison: where -ENOSPC came, per kind. */
static size_t enospc_at[2];

static size_t *enospc_slot(const struct disk *d)
{
	return &enospc_at[strcmp(d->kind, "ext4") == 0];
}

static void test_full_disk_reserve_returns_enospc(void **state)
{
	struct disk *d = *state;
	size_t end, synced, size;
	mmf_file *f;
	int rc;

	skip_unless_mounted(d);
	assert_int_equal(mmf_open(d->path, O_RDWR | O_CREAT, REC, NULL, &f), 0);
	rc = append_until_full(f, &end, &synced);
	size = mmf_size(f);
	printf("full disk, default options (DOUBLE + MMF_RESERVE) on a small "
	       "%s: %zu bytes appended (%zu synced), file size %zu; the "
	       "append at offset %zu returned %d (%s)\n", d->kind, end, synced,
	       size, end, rc, mmf_strerror(rc));
	*enospc_slot(d) = end;
	assert_int_equal(rc, -ENOSPC);
	assert_true(end > 0);
	check_reads(f, end);
	/* not poisoned: what was appended since the last sync can be synced */
	assert_int_equal(mmf_sync(f), 0);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(mmf_open(d->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_size(f), size);
	check_reads(f, end);
	assert_int_equal(mmf_close(f), 0);
}

/* The child: the seed's options, the same records as slices (stores
 * through the mapping); it reports its progress in *progress and must never
 * return from the loop. */
static void seed_child(const char *path, volatile size_t *progress)
{
	unsigned char buf[REC];
	mmf_options o;
	mmf_file *f;
	size_t next;
	void *p;
	int rc;

	/* cmocka catches SIGBUS to report a failed test: not in the child */
	signal(SIGBUS, SIG_DFL);
	mmf_options_seed(&o);
	if (mmf_open(path, O_RDWR | O_CREAT, REC, &o, &f) != 0)
		_exit(2);
	for (size_t end = 0; end < 4 * (size_t)FS_BYTES; end += REC) {
		fu_fill(buf, end, REC, 1);
		rc = mmf_allocate_slice(f, REC - 4, end, &p, &next);
		if (rc != 0)
			_exit(3);	/* an error instead of a SIGBUS */
		memcpy(p, buf, REC - 4);
		*progress = next;
	}
	_exit(4);		/* the disk never filled */
}

static void test_full_disk_seed_slice_dies_of_sigbus(void **state)
{
	struct disk *d = *state;
	volatile size_t *progress;
	int status;
	pid_t pid;

	skip_unless_mounted(d);
	progress = mmap(NULL, sizeof(*progress), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(progress != MAP_FAILED);
	*progress = 0;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		seed_child(d->path, progress);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	printf("full disk, seed options (no reservation) on a small %s: "
	       "child %s %d after %zu bytes appended (default options: "
	       "-ENOSPC at %zu)\n", d->kind, WIFSIGNALED(status) ?
	       "killed by signal" : "exited with", WIFSIGNALED(status) ?
	       WTERMSIG(status) : WEXITSTATUS(status), *progress,
	       *enospc_slot(d));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
	assert_true(*progress > 0);
	munmap((void *)progress, sizeof(*progress));
}

/* ---- holes: every byte a default handle can store into is allocated ---- */

/* Write 4 KiB blocks into d's "filler" until the filesystem is full. */
static void fill_disk(const struct disk *d)
{
	char *path = fu_join(d->mnt, "filler");
	char buf[4096];
	ssize_t n;
	int fd;

	assert_non_null(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	memset(buf, 'f', sizeof(buf));
	do
		n = write(fd, buf, sizeof(buf));
	while (n > 0);
	assert_int_equal(errno, ENOSPC);
	(void)fsync(fd);
	assert_int_equal(close(fd), 0);
	free(path);
}

/* A file of `size` bytes made by ftruncate alone: all hole. */
static void make_hole_file(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(close(fd), 0);
}

/* A scenario that stores through a default handle on a full disk; returns
 * the first nonzero mmapfile code (or 0 when every call succeeded). */
typedef int (*full_fn)(const struct disk *d);

/* Run fn in a child; the child's SIGBUS is not caught. Returns the child's
 * outcome as text in why and asserts: fn returned -ENOSPC. */
static void expect_enospc_not_sigbus(const struct disk *d, full_fn fn,
				     const char *what)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;

		signal(SIGBUS, SIG_DFL);
		rc = fn(d);
		_exit(rc == -ENOSPC ? 0 : rc == 0 ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	printf("full %s, %s: child %s %d (want exit 0 = -ENOSPC; exit 1 = "
	       "every call succeeded, 2 = another error)\n", d->kind, what,
	       WIFSIGNALED(status) ? "killed by signal" : "exited",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	assert_false(WIFSIGNALED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Large appends by mmf_append_buffer with options o until one fails: copied
 * by pwrite(2), the record that finds no free block is -ENOSPC. */
static int options_append_until_full(const struct disk *d, const mmf_options *o,
				     const char *what)
{
	size_t end, synced;
	mmf_file *f;
	int rc;

	rc = mmf_open(d->path, O_RDWR | O_CREAT, REC, o, &f);
	if (rc != 0)
		return rc;
	rc = append_until_full(f, &end, &synced);
	printf("full disk, %s, appends of %u bytes on a small %s: %zu bytes "
	       "appended, then %d (%s)\n", what, REC, d->kind, end, rc,
	       mmf_strerror(rc));
	fflush(stdout);		/* the child leaves by _exit */
	if (rc == -ENOSPC)
		check_reads(f, end);
	(void)mmf_close(f);
	return rc;
}

/* The seed's options, the same appends by mmf_append_buffer. */
static int seed_append_until_full(const struct disk *d)
{
	mmf_options o;

	mmf_options_seed(&o);
	return options_append_until_full(d, &o, "seed options");
}

static void test_full_disk_seed_append_is_enospc(void **state)
{
	struct disk *d = *state;

	skip_unless_mounted(d);
	expect_enospc_not_sigbus(d, seed_append_until_full,
				 "seed options, large appends");
}

/* Open d->path writable with the defaults, then store one byte at off. */
static int open_and_store(const struct disk *d, size_t off)
{
	mmf_file *f;
	int rc = mmf_open(d->path, O_RDWR, 0, NULL, &f);

	if (rc == 0)
		rc = mmf_append_buffer(f, off, "x", 1);
	if (rc == 0)
		rc = mmf_close(f);
	return rc;
}

static int store_into_hole_file(const struct disk *d)
{
	return open_and_store(d, 0);
}

/* Issue 11, kind 1 (smallest): a 4096-byte file made by ftruncate only, the
 * disk full, a default handle: -ENOSPC (from mmf_open), never a SIGBUS. */
static void test_full_disk_hole_file_is_enospc(void **state)
{
	struct disk *d = *state;

	skip_unless_mounted(d);
	make_hole_file(d->path, 4096);
	fill_disk(d);
	expect_enospc_not_sigbus(d, store_into_hole_file,
				 "4096-byte file of ftruncate only");
	assert_int_equal(file_size_of(d->path), 4096);
}

/* Sibling: the first page written, a hole after it (a sparse copy). */
static int store_past_written_page(const struct disk *d)
{
	return open_and_store(d, 3 * 4096);
}

static void test_full_disk_partly_sparse_file_is_enospc(void **state)
{
	struct disk *d = *state;
	int fd;

	skip_unless_mounted(d);
	make_hole_file(d->path, 4 * 4096);
	fd = open(d->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "head", 4, 0), 4);
	assert_int_equal(close(fd), 0);
	fill_disk(d);
	expect_enospc_not_sigbus(d, store_past_written_page,
				 "written first page, hole after");
}

/* Sibling: mmf_open_fd of a hole file. */
static int store_through_open_fd(const struct disk *d)
{
	mmf_file *f;
	int fd = open(d->path, O_RDWR), rc;

	if (fd < 0)
		return -errno;
	rc = mmf_open_fd(fd, 0, true, NULL, &f);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rc = mmf_append_buffer(f, 0, "x", 1);
	if (rc == 0)
		rc = mmf_close(f);
	return rc;
}

static void test_full_disk_open_fd_hole_file_is_enospc(void **state)
{
	struct disk *d = *state;

	skip_unless_mounted(d);
	make_hole_file(d->path, 4096);
	fill_disk(d);
	expect_enospc_not_sigbus(d, store_through_open_fd, "mmf_open_fd");
}

/* Sibling: mmf_truncate growth of an allocated file on the full disk. */
static int grow_by_truncate(const struct disk *d)
{
	mmf_file *f;
	int rc = mmf_open(d->path, O_RDWR, 0, NULL, &f);

	if (rc < 0)
		return rc;
	rc = mmf_truncate(f, 16 * 4096);
	if (rc == 0)
		rc = mmf_append_buffer(f, 15 * 4096, "x", 1);
	(void)mmf_close(f);
	return rc;
}

static void test_full_disk_truncate_growth_is_enospc(void **state)
{
	struct disk *d = *state;
	char buf[4096];

	skip_unless_mounted(d);
	memset(buf, 'w', sizeof(buf));
	make_hole_file(d->path, 0);
	{
		int fd = open(d->path, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, sizeof(buf)), 4096);
		assert_int_equal(close(fd), 0);
	}
	fill_disk(d);
	expect_enospc_not_sigbus(d, grow_by_truncate, "mmf_truncate growth");
}

/* Sibling: another process extends the file (ftruncate: a hole) after the
 * handle opened it; the disk fills; the handle appends into the extension. */
static int append_into_foreign_extension(const struct disk *d)
{
	mmf_file *f;
	int rc = mmf_open(d->path, O_RDWR | O_CREAT, 4096, NULL, &f), fd;

	if (rc < 0)
		return rc;
	fd = open(d->path, O_RDWR);
	if (fd < 0 || ftruncate(fd, 16 * 4096) != 0)
		_exit(3);
	close(fd);
	fill_disk(d);
	rc = mmf_append_buffer(f, 8 * 4096, "x", 1);
	(void)mmf_close(f);
	return rc;
}

static void test_full_disk_foreign_extension_is_enospc(void **state)
{
	struct disk *d = *state;

	skip_unless_mounted(d);
	expect_enospc_not_sigbus(d, append_into_foreign_extension,
				 "file extended by another process");
}

/* MMF_POPULATE without MMF_RESERVE: the grow's prefault fails silently on
 * the full disk, so a large append stored through the mapping would die of
 * SIGBUS; copied by pwrite(2) it is -ENOSPC. */
static int populate_append_until_full(const struct disk *d)
{
	mmf_options o;

	mmf_options_init(&o);
	o.flags = MMF_POPULATE;
	return options_append_until_full(d, &o, "MMF_POPULATE alone");
}

static void test_full_disk_populate_append_is_enospc(void **state)
{
	struct disk *d = *state;

	skip_unless_mounted(d);
	expect_enospc_not_sigbus(d, populate_append_until_full,
				 "MMF_POPULATE without MMF_RESERVE, large appends");
}

/* Fill the filesystem holding dir until `leave` bytes are free. */
static void fill_leaving(const char *dir, unsigned long long leave)
{
	char *path = fu_join(dir, "filler");
	struct statvfs sv;
	unsigned long long avail;
	int fd;

	assert_non_null(path);
	assert_int_equal(statvfs(dir, &sv), 0);
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	assert_true(avail > leave);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(posix_fallocate(fd, 0, (off_t)(avail - leave)), 0);
	assert_int_equal(close(fd), 0);
	free(path);
}

/* BULK STORES: 8 MiB of 64 KiB slices and an 8 MiB sync keep bulk mode;
 * then a small record, ~4 MiB of unsynced stores in the 2 MiB window it is
 * in and the next, and the backing store gets 3 MiB short of them. The
 * record's sync leaves bulk mode, which drops the windows' clean cache:
 * the writeback of the rest fails, and the next mmf_sync must say so
 * (leaving once waited on that writeback with sync_file_range, which took
 * the error from the handle's descriptor: mmf_sync then returned 0 for
 * bytes that were gone). */
static void test_full_disk_write_error_after_bulk_is_reported(void **state)
{
	struct disk *d = *state;
	size_t off = 0, next;
	mmf_file *f;
	void *p;
	int rc1, rc2;

	skip_unless_mounted(d);
	assert_int_equal(mmf_open(d->path, O_RDWR | O_CREAT, 1u << 20, NULL, &f), 0);
	while (off < (8u << 20)) {
		assert_int_equal(mmf_allocate_slice(f, 65532, off, &p, &next), 0);
		memset(p, 'a', 65532);
		off = next;
	}
	assert_int_equal(mmf_sync(f), 0);	/* 8 MiB: not a small sync */
	assert_int_equal(mmf_allocate_slice(f, 1000, off, &p, &next), 0);
	memset(p, 'r', 1000);
	memset((char *)mmf_data(f) + off + (64u << 10), 's', (4u << 20) - (64u << 10));
	fill_leaving(d->mnt, 3u << 20);
	rc1 = mmf_sync_range(f, off, next - off);
	rc2 = mmf_sync(f);
	printf("write error after bulk stores (%s): record sync %d (%s), next "
	       "mmf_sync %d (%s)\n", d->kind, rc1, mmf_strerror(rc1), rc2,
	       mmf_strerror(rc2));
	assert_true(rc2 < 0);
	assert_true(rc1 == 0 || rc1 == rc2);	/* poisoned with its error */
	assert_int_equal(mmf_close(f), rc2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_full_disk_reserve_returns_enospc, tmpfs_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_seed_slice_dies_of_sigbus, tmpfs_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_seed_append_is_enospc, tmpfs_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_reserve_returns_enospc, ext4_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_seed_slice_dies_of_sigbus, ext4_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_seed_append_is_enospc, ext4_setup,
			disk_teardown),
#define HOLE_TESTS(setup) \
		cmocka_unit_test_setup_teardown(test_full_disk_hole_file_is_enospc, setup, disk_teardown), \
		cmocka_unit_test_setup_teardown(test_full_disk_partly_sparse_file_is_enospc, setup, disk_teardown), \
		cmocka_unit_test_setup_teardown(test_full_disk_open_fd_hole_file_is_enospc, setup, disk_teardown), \
		cmocka_unit_test_setup_teardown(test_full_disk_truncate_growth_is_enospc, setup, disk_teardown), \
		cmocka_unit_test_setup_teardown(test_full_disk_foreign_extension_is_enospc, setup, disk_teardown)
		HOLE_TESTS(tmpfs_setup),
		HOLE_TESTS(ext4_setup),
#undef HOLE_TESTS
		cmocka_unit_test_setup_teardown(
			test_full_disk_populate_append_is_enospc, tmpfs_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_populate_append_is_enospc, ext4_setup,
			disk_teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_write_error_after_bulk_is_reported,
			stacked_setup, disk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
