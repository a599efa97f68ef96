/* Unit: mmf_delete and mmf_sync_dir - durable removal. */
#include "testutil.h"

static void test_delete_removes_the_file(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	assert_int_equal(file_size(FX->path), 4096);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(file_size(FX->path), -1);
	assert_int_equal(mmf_delete(NULL), 0);
}

/* Defect fixed: the seed's Delete never fsynced the directory, so the file
 * could come back after a power cut. A failing directory fsync is reported
 * (after the unlink). */
static void test_delete_fsyncs_the_directory(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	fail_on("mmf/os/fsync", EIO);
	assert_int_equal(mmf_delete(f), -EIO);
	fail_off("mmf/os/fsync");
	assert_int_equal(file_size(FX->path), -1);
}

/* A poisoned handle is closed, not deleted: the file stays for recovery. */
static void test_delete_poisoned_handle_keeps_the_file(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	fail_on("mmf/os/msync", EIO);
	assert_int_equal(mmf_sync(f), -EIO);
	fail_off("mmf/os/msync");
	assert_int_equal(mmf_delete(f), -EIO);
	assert_int_equal(file_size(FX->path), 4096);
}

/* A failed unmap or truncate stops before the unlink. */
static void test_delete_stops_before_unlink_on_failure(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	fail_on("mmf/os/ftruncate", EIO);
	assert_int_equal(mmf_delete(f), -EIO);
	fail_off("mmf/os/ftruncate");
	assert_int_equal(file_size(FX->path), 4096);
	f = open_rw(FX->path, 4096, NULL);
	fail_on("mmf/os/unlink", EACCES);
	assert_int_equal(mmf_delete(f), -EACCES);
	fail_off("mmf/os/unlink");
	assert_int_equal(file_size(FX->path), 0);	/* truncated, not unlinked */
}

/* A read-only handle deletes without truncating; an open_fd handle finds
 * its path through /proc. */
static void test_delete_readonly_and_fd_handles(void **state)
{
	mmf_file *f = NULL;
	int fd;

	file_write(FX->path, "abc", 3);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(file_size(FX->path), -1);
	fd = open(FX->path, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 100, true, NULL, &f), 0);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(file_size(FX->path), -1);
}

/* An open_fd handle of an already unlinked file has no path to delete. */
static void test_delete_without_path_is_einval(void **state)
{
	mmf_file *f = NULL;
	int fd = open(FX->path, O_RDWR | O_CREAT, 0644);

	assert_true(fd >= 0);
	assert_int_equal(unlink(FX->path), 0);
	assert_int_equal(mmf_open_fd(fd, 100, true, NULL, &f), 0);
	assert_null(mmf_path(f));
	assert_int_equal(mmf_delete(f), -EINVAL);
}

static void test_delete_sync_dir_errors(void **state)
{
	assert_int_equal(mmf_sync_dir(FX->dir), 0);
	assert_int_equal(mmf_sync_dir(NULL), -EINVAL);
	assert_int_equal(mmf_sync_dir(FX->path), -ENOENT);
	file_write(FX->path, "x", 1);
	assert_int_equal(mmf_sync_dir(FX->path), -ENOTDIR);
	fail_on("mmf/os/close", EIO);
	assert_int_equal(mmf_sync_dir(FX->dir), -EIO);
	fail_off("mmf/os/close");
}

/* A relative path's directory is ".". */
static void test_delete_relative_path(void **state)
{
	char cwd[256];
	mmf_file *f;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(FX->dir), 0);
	f = open_rw("rel", 64, NULL);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(file_size("rel"), -1);
	assert_int_equal(chdir(cwd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_delete_removes_the_file),
		FIXTURE_TEST(test_delete_fsyncs_the_directory),
		FIXTURE_TEST(test_delete_poisoned_handle_keeps_the_file),
		FIXTURE_TEST(test_delete_stops_before_unlink_on_failure),
		FIXTURE_TEST(test_delete_readonly_and_fd_handles),
		FIXTURE_TEST(test_delete_without_path_is_einval),
		FIXTURE_TEST(test_delete_sync_dir_errors),
		FIXTURE_TEST(test_delete_relative_path),
	};

	return cmocka_run_group_tests_name("delete", tests, NULL, NULL);
}
