/* Unit: mmf_open / mmf_open_fd - sizing, refusals, durable create. */
#include "testutil.h"

#include <sys/mman.h>

/* Seed: a new file takes `size`. */
static void test_open_new_file_takes_size(void **state)
{
	mmf_file *f = open_rw(FX->path, 8192, NULL);

	assert_int_equal(mmf_size(f), 8192);
	assert_non_null(mmf_data(f));
	assert_int_equal(file_size(FX->path), 8192);
	assert_string_equal(mmf_path(f), FX->path);
	assert_true(mmf_fd(f) >= 0);
	assert_int_equal(mmf_close(f), 0);
}

/* Seed: an existing non-empty file keeps its own size, `size` is ignored. */
static void test_open_existing_file_keeps_its_size(void **state)
{
	const void *p;
	mmf_file *f;

	file_write(FX->path, "hello, world", 12);
	f = open_rw(FX->path, 1 << 20, NULL);
	assert_int_equal(mmf_size(f), 12);
	assert_int_equal(mmf_bytes(f, 0, 12, &p), 0);
	assert_memory_equal(p, "hello, world", 12);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 12);
}

/* A zero-length file opens unmapped; reads are EOF; the first write grows. */
static void test_open_zero_length_file_is_unmapped(void **state)
{
	const void *p;
	uint32_t n;
	void *out;
	size_t next;
	mmf_file *f = open_rw(FX->path, 0, NULL);

	assert_int_equal(mmf_size(f), 0);
	assert_null(mmf_data(f));
	assert_int_equal(mmf_bytes(f, 0, 0, &p), MMF_EOF);
	assert_int_equal(mmf_bytes(f, 0, 1, &p), MMF_EOF);
	assert_int_equal(mmf_slice(f, 0, &p, &n), MMF_EOF);
	assert_int_equal(mmf_allocate_slice(f, 3, 0, &out, &next), 0);
	memcpy(out, "abc", 3);
	assert_int_equal(next, 7);
	assert_true(mmf_size(f) >= 7);
	assert_non_null(mmf_data(f));
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), (long long)7);
}

/* Reopen after close sees the bytes written and synced by close (and close
 * did sync: counted, as the reopen reads the same page cache). */
static void test_open_reopen_sees_bytes(void **state)
{
	const void *p;
	uint32_t n;
	void *out;
	size_t next;
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	assert_int_equal(mmf_allocate_slice(f, 5, 0, &out, &next), 0);
	memcpy(out, "first", 5);
	close_synced(f);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_size(f), 4096);
	assert_int_equal(mmf_slice(f, 0, &p, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "first", 5);
	assert_int_equal(mmf_close(f), 0);
}

static void test_open_wronly_is_einval(void **state)
{
	mmf_file *f = NULL;

	assert_int_equal(mmf_open(FX->path, O_WRONLY | O_CREAT, 4096, NULL, &f), -EINVAL);
	assert_null(f);
	assert_int_equal(file_size(FX->path), -1);	/* nothing created */
}

static void test_open_null_arguments_are_einval(void **state)
{
	mmf_file *f = NULL;

	assert_int_equal(mmf_open(NULL, O_RDWR, 0, NULL, &f), -EINVAL);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 0, NULL, NULL), -EINVAL);
	assert_int_equal(mmf_open_fd(0, 0, false, NULL, NULL), -EINVAL);
	assert_null(f);
}

static void test_open_bad_options_are_einval_and_create_nothing(void **state)
{
	mmf_options o = opts(MMF_GROW_CHUNK, 0);
	mmf_file *f = NULL;

	o.grow_chunk = 0;
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 4096, &o, &f), -EINVAL);
	o = opts((enum mmf_grow)7, 0);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 4096, &o, &f), -EINVAL);
	o = opts(MMF_GROW_DOUBLE, 1u << 9);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 4096, &o, &f), -EINVAL);
	assert_null(f);
	assert_int_equal(file_size(FX->path), -1);
}

static void test_open_missing_file_is_enoent(void **state)
{
	mmf_file *f = NULL;

	assert_int_equal(mmf_open(FX->path, O_RDWR, 4096, NULL, &f), -ENOENT);
	assert_null(f);
}

static void test_open_excl_on_existing_is_eexist(void **state)
{
	mmf_file *f = NULL;

	file_write(FX->path, "x", 1);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_EXCL, 4096, NULL, &f), -EEXIST);
	assert_null(f);
}

static void test_open_size_too_large_is_efbig(void **state)
{
	mmf_file *f = NULL;

	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, SIZE_MAX, NULL, &f), -EFBIG);
	assert_int_equal(mmf_open_fd(0, SIZE_MAX, true, NULL, &f), -EFBIG);
	assert_null(f);
}

static void test_open_directory_is_eisdir(void **state)
{
	mmf_file *f = NULL;

	assert_int_equal(mmf_open(FX->dir, O_RDONLY, 0, NULL, &f), -EISDIR);
	assert_int_equal(mmf_open(FX->dir, O_RDWR, 0, NULL, &f), -EISDIR);
	assert_null(f);
}

/* A FIFO is refused at once (it must not block waiting for a writer). */
static void test_open_fifo_is_enodev(void **state)
{
	mmf_file *f = NULL;

	assert_int_equal(mkfifo(FX->path, 0600), 0);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), -ENODEV);
	assert_null(f);
}

/* Writes through a read-only handle are -EBADF; the file is unchanged. */
static void test_open_readonly_writes_are_ebadf(void **state)
{
	void *out;
	size_t next;
	mmf_file *f = NULL;

	file_write(FX->path, "abcd", 4);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_allocate_slice(f, 1, 0, &out, &next), -EBADF);
	assert_int_equal(mmf_append_buffer(f, 0, "z", 1), -EBADF);
	assert_int_equal(mmf_truncate(f, 100), -EBADF);
	assert_int_equal(mmf_sync(f), 0);
	assert_int_equal(mmf_sync_range(f, 0, 4), 0);
	assert_int_equal(mmf_size(f), 4);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 4);
}

/* A read-only handle never sizes an empty file. */
static void test_open_readonly_empty_file_stays_empty(void **state)
{
	mmf_file *f = NULL;

	file_write(FX->path, "", 0);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 4096, NULL, &f), 0);
	assert_int_equal(mmf_size(f), 0);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 0);
}

static void test_open_mode_applies_to_created_file(void **state)
{
	mmf_options o;
	struct stat st;
	mmf_file *f;
	mode_t old = umask(022);

	mmf_options_init(&o);
	o.mode = 0600;
	f = open_rw(FX->path, 4096, &o);
	umask(old);
	assert_int_equal(stat(FX->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mmf_close(f), 0);
}

/* open_fd owns fd on success: mmf_close closes it. */
static void test_open_fd_takes_ownership_on_success(void **state)
{
	int fd = open(FX->path, O_RDWR | O_CREAT, 0644);
	mmf_file *f = NULL;

	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 4096, true, NULL, &f), 0);
	assert_int_equal(mmf_fd(f), fd);
	assert_int_equal(mmf_size(f), 4096);
	assert_non_null(mmf_path(f));
	assert_string_equal(mmf_path(f) + strlen(mmf_path(f)) - 5, "/file");
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* open_fd leaves fd with the caller on error. */
static void test_open_fd_leaves_fd_open_on_error(void **state)
{
	int fd = open(FX->dir, O_RDONLY | O_DIRECTORY);
	mmf_file *f = NULL;

	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 0, false, NULL, &f), -EISDIR);
	assert_null(f);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(mmf_open_fd(-1, 0, false, NULL, &f), -EBADF);
}

/* A writable handle on a read-only fd fails with the kernel's error: -EBADF
 * from reserving the file's blocks (MMF_RESERVE), -EACCES from mmap. */
static void test_open_fd_writable_on_readonly_fd_fails(void **state)
{
	mmf_options o;
	int fd;
	mmf_file *f = NULL;

	file_write(FX->path, "data", 4);
	fd = open(FX->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 0, true, NULL, &f), -EBADF);
	o = opts(MMF_GROW_DOUBLE, 0);
	assert_int_equal(mmf_open_fd(fd, 0, true, &o, &f), -EACCES);
	assert_null(f);
	assert_int_equal(close(fd), 0);
}

/* Defect fixed: the seed's `go SyncDir` never ran before OpenMmapFile
 * returned. Creating a file fsyncs its directory first: a failing fsync is
 * the caller's error, not a silent goroutine's. */
static void test_open_create_fsyncs_directory_before_returning(void **state)
{
	mmf_file *f = NULL;

	fail_on("mmf/os/fsync", EIO);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 4096, NULL, &f), -EIO);
	fail_off("mmf/os/fsync");
	assert_null(f);
	/* An existing non-empty file needs no directory fsync. */
	fail_on("mmf/os/fsync", EIO);
	f = open_rw(FX->path, 4096, NULL);
	fail_off("mmf/os/fsync");
	assert_int_equal(mmf_close(f), 0);
}

/* A failing open of a created file leaves no handle and no leak. */
static void test_open_mmap_failure_closes_everything(void **state)
{
	mmf_file *f = NULL;

	file_write(FX->path, "data", 4);
	fail_on("mmf/os/mmap", ENOMEM);
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &f), -ENOMEM);
	fail_off("mmf/os/mmap");
	assert_null(f);
	assert_int_equal(file_size(FX->path), 4);
}

/* Issue 11, kind 3 (smallest): O_RDONLY | O_TRUNC would empty the file
 * through a read-only handle (Linux truncates). Refused; the bytes stay. */
static void test_open_rdonly_trunc_is_einval_and_keeps_bytes(void **state)
{
	char buf[4096];
	mmf_file *f = NULL;

	memset(buf, 'k', sizeof(buf));
	file_write(FX->path, buf, sizeof(buf));
	assert_int_equal(mmf_open(FX->path, O_RDONLY | O_TRUNC, 0, NULL, &f), -EINVAL);
	assert_null(f);
	assert_int_equal(file_size(FX->path), 4096);
	file_read(FX->path, 0, buf, sizeof(buf));
	assert_int_equal(buf[0], 'k');
	assert_int_equal(buf[4095], 'k');
}

/* Every flag mmf_open refuses (header: "oflags"), on an existing file and
 * on a missing one: -EINVAL, nothing opened, created or changed. */
static void test_open_refused_flags_change_nothing(void **state)
{
	static const int refused[] = {
		O_RDONLY | O_TRUNC, O_RDONLY | O_CREAT | O_TRUNC, O_RDWR | O_EXCL, O_RDONLY | O_EXCL, O_RDWR | O_APPEND,
		O_RDWR | O_DIRECT, O_RDONLY | O_DIRECT, O_PATH, O_RDWR | O_PATH,
		O_RDWR | O_TMPFILE, O_RDWR | O_SYNC, O_RDWR | O_DSYNC,
		O_RDONLY | O_SYNC, O_RDWR | O_ASYNC, O_RDONLY | O_DIRECTORY,
		O_RDWR | O_CREAT | O_APPEND, O_RDWR | O_CREAT | O_SYNC,
		O_RDWR | O_CREAT | O_DIRECT, O_WRONLY | O_CREAT, O_WRONLY,
		O_RDWR | O_WRONLY,
	};
	char missing[160];
	mmf_file *f = NULL;

	snprintf(missing, sizeof(missing), "%s/missing", FX->dir);
	file_write(FX->path, "abcd", 4);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(mmf_open(FX->path, refused[i], 8192, NULL, &f), -EINVAL);
		assert_int_equal(mmf_open(missing, refused[i], 8192, NULL, &f), -EINVAL);
		assert_null(f);
		assert_int_equal(file_size(FX->path), 4);
		assert_int_equal(file_size(missing), -1);
	}
	/* O_TMPFILE names a directory: refused there too, nothing made. */
	assert_int_equal(mmf_open(FX->dir, O_RDWR | O_TMPFILE, 8192, NULL, &f), -EINVAL);
}

/* The flags accepted besides O_RDONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC:
 * they change nothing a handle does. */
static void test_open_accepted_flags(void **state)
{
	static const int accepted[] = {
		O_RDWR | O_NOATIME, O_RDONLY | O_NOATIME, O_RDWR | O_NOFOLLOW,
		O_RDWR | O_CLOEXEC, O_RDWR | O_NONBLOCK, O_RDWR | O_NOCTTY,
		O_RDONLY | O_LARGEFILE,
	};
	mmf_file *f = NULL;

	file_write(FX->path, "abcd", 4);
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		assert_int_equal(mmf_open(FX->path, accepted[i], 8192, NULL, &f), 0);
		assert_int_equal(mmf_size(f), 4);
		assert_int_equal(mmf_close(f), 0);
	}
	/* O_RDONLY | O_CREAT (| O_EXCL) creates an empty file, durably (its
	 * directory fsynced), and leaves it empty. */
	unlink(FX->path);
	fail_on("mmf/os/fsync", EIO);
	assert_int_equal(mmf_open(FX->path, O_RDONLY | O_CREAT, 8192, NULL, &f), -EIO);
	fail_off("mmf/os/fsync");
	unlink(FX->path);
	assert_int_equal(mmf_open(FX->path, O_RDONLY | O_CREAT | O_EXCL, 8192, NULL, &f), 0);
	assert_int_equal(mmf_size(f), 0);
	assert_false(mmf_created(f));
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 0);
	file_write(FX->path, "abcd", 4);
	/* O_RDWR | O_TRUNC empties the file; it is then sized like a new one. */
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_TRUNC, 8192, NULL, &f), 0);
	assert_int_equal(mmf_size(f), 8192);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 8192);
}

/* Issue 11, API gap: was the file just created and sized (Badger's
 * z.NewFile)? True for a new file, an O_TRUNC'd one and an empty one found
 * by a writable handle; false for a file with bytes and for read-only. */
static void test_open_created_tells_a_fresh_file(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);
	int fd;

	assert_true(mmf_created(f));
	assert_int_equal(mmf_close(f), 0);
	f = open_rw(FX->path, 4096, NULL);
	assert_false(mmf_created(f));
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_false(mmf_created(f));
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_TRUNC, 100, NULL, &f), 0);
	assert_true(mmf_created(f));
	assert_int_equal(mmf_close(f), 0);
	file_write(FX->path, "", 0);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 100, NULL, &f), 0);
	assert_false(mmf_created(f));	/* read-only: left empty */
	assert_int_equal(mmf_close(f), 0);
	fd = open(FX->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 100, true, NULL, &f), 0);
	assert_true(mmf_created(f));
	assert_int_equal(mmf_size(f), 100);
	assert_int_equal(mmf_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_open_new_file_takes_size),
		FIXTURE_TEST(test_open_existing_file_keeps_its_size),
		FIXTURE_TEST(test_open_zero_length_file_is_unmapped),
		FIXTURE_TEST(test_open_reopen_sees_bytes),
		FIXTURE_TEST(test_open_wronly_is_einval),
		FIXTURE_TEST(test_open_null_arguments_are_einval),
		FIXTURE_TEST(test_open_bad_options_are_einval_and_create_nothing),
		FIXTURE_TEST(test_open_missing_file_is_enoent),
		FIXTURE_TEST(test_open_excl_on_existing_is_eexist),
		FIXTURE_TEST(test_open_size_too_large_is_efbig),
		FIXTURE_TEST(test_open_directory_is_eisdir),
		FIXTURE_TEST(test_open_fifo_is_enodev),
		FIXTURE_TEST(test_open_readonly_writes_are_ebadf),
		FIXTURE_TEST(test_open_readonly_empty_file_stays_empty),
		FIXTURE_TEST(test_open_mode_applies_to_created_file),
		FIXTURE_TEST(test_open_fd_takes_ownership_on_success),
		FIXTURE_TEST(test_open_fd_leaves_fd_open_on_error),
		FIXTURE_TEST(test_open_fd_writable_on_readonly_fd_fails),
		FIXTURE_TEST(test_open_create_fsyncs_directory_before_returning),
		FIXTURE_TEST(test_open_mmap_failure_closes_everything),
		FIXTURE_TEST(test_open_rdonly_trunc_is_einval_and_keeps_bytes),
		FIXTURE_TEST(test_open_refused_flags_change_nothing),
		FIXTURE_TEST(test_open_accepted_flags),
		FIXTURE_TEST(test_open_created_tells_a_fresh_file),
	};

	return cmocka_run_group_tests_name("open", tests, NULL, NULL);
}
