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

/* A failed unmap stops before the unlink; a failed unlink leaves the file
 * whole (delete never truncates). */
static void test_delete_stops_before_unlink_on_failure(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	fail_on("mmf/os/munmap", EINVAL);
	assert_int_equal(mmf_delete(f), -EINVAL);
	fail_off("mmf/os/munmap");
	assert_int_equal(file_size(FX->path), 4096);
	f = open_rw(FX->path, 4096, NULL);
	fail_on("mmf/os/unlink", EACCES);
	assert_int_equal(mmf_delete(f), -EACCES);
	fail_off("mmf/os/unlink");
	assert_int_equal(file_size(FX->path), 4096);
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

/* dir/name of the fixture directory, in buf. */
static const char *in_dir(const char *dir, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

/* A handle of path holding 4096 bytes 'a', synced. */
static mmf_file *filled(const char *path)
{
	mmf_file *f = open_rw(path, 4096, NULL);

	memset(mmf_data(f), 'a', 4096);
	assert_int_equal(mmf_sync(f), 0);
	return f;
}

/* The file at path is 4096 bytes of c. */
static void assert_filled(const char *path, char c)
{
	char buf[4096], want[4096];

	memset(want, c, sizeof(want));
	assert_int_equal(file_size(path), 4096);
	file_read(path, 0, buf, sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
}

/* Rename f's file (4096 bytes 'a') in dir to `to`, put another file of
 * 4096 'o' in its place: mmf_delete(f) is -ESTALE and both files stay. */
static void rename_replace_delete(mmf_file *f, const char *dir,
				  const char *path, const char *to)
{
	char moved[160], other[4096];

	assert_int_equal(rename(path, in_dir(dir, to, moved, sizeof(moved))), 0);
	memset(other, 'o', sizeof(other));
	file_write(path, other, sizeof(other));
	assert_int_equal(mmf_delete(f), -ESTALE);
	assert_filled(path, 'o');
	assert_filled(moved, 'a');
}

/* Issue 11, kind 2 (smallest, Kafka's rename-to-.deleted): the file was
 * renamed and another file took its name. Delete refuses with -ESTALE; the
 * other file and the renamed one keep every byte. */
static void test_delete_after_rename_is_estale(void **state)
{
	rename_replace_delete(filled(FX->path), FX->dir, FX->path, "file.deleted");
}

/* Sibling: renamed, nothing in its place: -ESTALE, the file is kept. */
static void test_delete_after_rename_away_is_estale(void **state)
{
	char moved[160];
	mmf_file *f = filled(FX->path);

	assert_int_equal(rename(FX->path, in_dir(FX->dir, "elsewhere", moved,
						 sizeof(moved))), 0);
	assert_int_equal(mmf_delete(f), -ESTALE);
	assert_filled(moved, 'a');
}

/* Sibling: the name now is a hard link to the same file: it is the file. */
static void test_delete_through_a_second_link(void **state)
{
	char link2[160];
	mmf_file *f = filled(FX->path);

	in_dir(FX->dir, "link2", link2, sizeof(link2));
	assert_int_equal(link(FX->path, link2), 0);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(file_size(FX->path), -1);
	assert_filled(link2, 'a');	/* the other name keeps it alive */
}

/* Sibling: the directory was renamed after open. The handle's file is still
 * in it: delete removes it there (the directory opened at open time). */
static void test_delete_after_directory_rename(void **state)
{
	char moved_dir[80], moved[160];
	mmf_file *f = filled(FX->path);

	snprintf(moved_dir, sizeof(moved_dir), "%s.moved", FX->dir);
	assert_int_equal(rename(FX->dir, moved_dir), 0);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(file_size(in_dir(moved_dir, "file", moved, sizeof(moved))), -1);
	assert_int_equal(rename(moved_dir, FX->dir), 0);
}

/* Sibling: the directory was renamed and a new one with a file of the same
 * name took its place: that file is not ours and stays. */
static void test_delete_after_directory_swap(void **state)
{
	char moved_dir[80], moved[160], other[4096];
	mmf_file *f = filled(FX->path);

	snprintf(moved_dir, sizeof(moved_dir), "%s.moved", FX->dir);
	assert_int_equal(rename(FX->dir, moved_dir), 0);
	assert_int_equal(mkdir(FX->dir, 0700), 0);
	memset(other, 'o', sizeof(other));
	file_write(FX->path, other, sizeof(other));
	assert_int_equal(mmf_delete(f), 0);
	assert_filled(FX->path, 'o');
	assert_int_equal(file_size(in_dir(moved_dir, "file", moved, sizeof(moved))), -1);
	assert_int_equal(unlink(FX->path), 0);
	assert_int_equal(rmdir(FX->dir), 0);
	assert_int_equal(rename(moved_dir, FX->dir), 0);
}

/* Sibling: a relative path, then the process changes directory: delete
 * removes the file it opened, not "rel" in the new working directory. */
static void test_delete_relative_path_after_chdir(void **state)
{
	char cwd[256], there[160], other_dir[80], decoy[160];
	mmf_file *f;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(other_dir, sizeof(other_dir), "%s/sub", FX->dir);
	assert_int_equal(mkdir(other_dir, 0700), 0);
	file_write(in_dir(other_dir, "rel", decoy, sizeof(decoy)), "decoy", 5);
	assert_int_equal(chdir(FX->dir), 0);
	f = open_rw("rel", 64, NULL);
	assert_int_equal(chdir(other_dir), 0);
	assert_int_equal(mmf_delete(f), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(file_size(in_dir(FX->dir, "rel", there, sizeof(there))), -1);
	assert_int_equal(file_size(decoy), 5);
}

/* Sibling: an mmf_open_fd handle found its name through /proc at open; the
 * file renamed after that and replaced: -ESTALE, both files kept. */
static void test_delete_fd_handle_after_rename_is_estale(void **state)
{
	mmf_file *f = NULL;
	int fd = open(FX->path, O_RDWR | O_CREAT, 0644);

	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 4096, true, NULL, &f), 0);
	memset(mmf_data(f), 'a', 4096);
	assert_int_equal(mmf_sync(f), 0);
	rename_replace_delete(f, FX->dir, FX->path, "moved");
}

/* Issue 11, kind 4 (smallest): delete through a writable handle while a
 * read-only handle of the same file is open. B keeps reading its bytes
 * (the seed truncated before unlinking: B's read died of SIGBUS). */
static void test_delete_leaves_other_handles_readable(void **state)
{
	char want[4096], got[4096];
	mmf_file *a = filled(FX->path), *b = NULL;
	const void *p;
	mmf_reader r;

	memset(want, 'a', sizeof(want));
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &b), 0);
	assert_int_equal(mmf_delete(a), 0);
	assert_int_equal(file_size(FX->path), -1);
	assert_int_equal(mmf_bytes(b, 0, 1, &p), 0);
	assert_int_equal(*(const char *)p, 'a');
	assert_int_equal(mmf_bytes(b, 0, 4096, &p), 0);
	assert_memory_equal(p, want, sizeof(want));
	mmf_reader_init(&r, b, 0);
	assert_int_equal(mmf_reader_read(&r, got, sizeof(got)), 4096);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(mmf_close(b), 0);
}

/* Siblings: the other handle is writable (it keeps writing, syncing and
 * growing the unlinked file), or the deleting handle is the read-only one. */
static void test_delete_leaves_other_writable_handle_working(void **state)
{
	mmf_file *a = filled(FX->path), *b = NULL;
	const void *p;

	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &b), 0);
	assert_int_equal(mmf_delete(a), 0);
	assert_int_equal(mmf_append_buffer(b, 4096, "bb", 2), 0);
	assert_int_equal(mmf_sync(b), 0);
	assert_int_equal(mmf_bytes(b, 4095, 3, &p), 0);
	assert_memory_equal(p, "abb", 3);
	assert_int_equal(mmf_close(b), 0);

	a = filled(FX->path);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &b), 0);
	assert_int_equal(mmf_delete(b), 0);	/* a read-only handle may delete */
	assert_int_equal(file_size(FX->path), -1);
	assert_int_equal(mmf_bytes(a, 4095, 1, &p), 0);
	assert_int_equal(*(const char *)p, 'a');
	assert_int_equal(mmf_close(a), 0);
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
		FIXTURE_TEST(test_delete_after_rename_is_estale),
		FIXTURE_TEST(test_delete_after_rename_away_is_estale),
		FIXTURE_TEST(test_delete_through_a_second_link),
		FIXTURE_TEST(test_delete_after_directory_rename),
		FIXTURE_TEST(test_delete_after_directory_swap),
		FIXTURE_TEST(test_delete_relative_path_after_chdir),
		FIXTURE_TEST(test_delete_fd_handle_after_rename_is_estale),
		FIXTURE_TEST(test_delete_leaves_other_handles_readable),
		FIXTURE_TEST(test_delete_leaves_other_writable_handle_working),
	};

	return cmocka_run_group_tests_name("delete", tests, NULL, NULL);
}
