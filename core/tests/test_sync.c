/* Unit: mmf_sync, mmf_sync_range, poisoning, mmf_close. */
#include "testutil.h"

static void test_sync_counts_and_returns_zero(void **state)
{
	mmf_file *f = open_rw(FX->path, 8192, NULL);
	mmf_stats st;

	assert_int_equal(mmf_append_buffer(f, 0, "data", 4), 0);
	assert_int_equal(mmf_sync(f), 0);
	assert_int_equal(mmf_sync_range(f, 0, 4), 0);
	assert_int_equal(mmf_sync_range(f, 5000, 3000), 0);	/* unaligned */
	assert_int_equal(mmf_sync_range(f, 8192, 0), 0);
	mmf_stats_get(f, &st);
	assert_int_equal(st.syncs, 3);
	assert_int_equal(mmf_close(f), 0);
}

static void test_sync_range_past_end_is_eof(void **state)
{
	mmf_file *f = open_rw(FX->path, 8192, NULL);

	assert_int_equal(mmf_sync_range(f, 8000, 193), MMF_EOF);
	assert_int_equal(mmf_sync_range(f, 8193, 0), MMF_EOF);
	assert_int_equal(mmf_sync_range(f, 1, SIZE_MAX), MMF_EOF);
	assert_int_equal(mmf_sync_range(f, SIZE_MAX, 1), MMF_EOF);
	assert_int_equal(mmf_close(f), 0);
}

/* An unmapped (empty) writable file syncs with fdatasync. */
static void test_sync_unmapped_file_uses_fdatasync(void **state)
{
	mmf_file *f = open_rw(FX->path, 0, NULL);

	assert_int_equal(mmf_sync(f), 0);
	fail_on("mmf/os/fdatasync", EIO);
	assert_int_equal(mmf_sync(f), -EIO);
	fail_off("mmf/os/fdatasync");
	assert_int_equal(mmf_close(f), -EIO);
}

/* Defect fixed: the seed returned whatever the retried msync said, so a
 * second Sync could report success for pages the kernel had dropped. After
 * one failure every sync and mutation returns that error; reads still work. */
static void test_sync_failure_poisons_the_handle(void **state)
{
	mmf_file *f = open_rw(FX->path, 8192, NULL);
	const void *p;
	void *out;
	size_t next;

	assert_int_equal(mmf_append_buffer(f, 0, "synced", 6), 0);
	assert_int_equal(mmf_sync(f), 0);
	fail_on("mmf/os/msync", EIO);
	assert_int_equal(mmf_sync(f), -EIO);
	fail_off("mmf/os/msync");
	assert_int_equal(mmf_sync(f), -EIO);	/* the seed: 0 */
	assert_int_equal(mmf_sync_range(f, 0, 6), -EIO);
	assert_int_equal(mmf_sync_range(f, 0, SIZE_MAX), -EIO);	/* not MMF_EOF */
	assert_int_equal(mmf_allocate_slice(f, 1, 100, &out, &next), -EIO);
	assert_int_equal(mmf_append_buffer(f, 0, "x", 1), -EIO);
	assert_int_equal(mmf_truncate(f, 100), -EIO);
	assert_int_equal(mmf_bytes(f, 0, 6, &p), 0);
	assert_memory_equal(p, "synced", 6);
	assert_int_equal(mmf_size(f), 8192);
	assert_int_equal(mmf_close(f), -EIO);
}

/* The error is the one the kernel gave, not a generic one. */
static void test_sync_poison_keeps_the_first_errno(void **state)
{
	mmf_file *f = open_rw(FX->path, 8192, NULL);

	fail_on("mmf/os/msync", ENOSPC);
	assert_int_equal(mmf_sync_range(f, 100, 10), -ENOSPC);
	fail_off("mmf/os/msync");
	fail_on("mmf/os/msync", EIO);
	assert_int_equal(mmf_sync(f), -ENOSPC);
	fail_off("mmf/os/msync");
	assert_int_equal(mmf_close(f), -ENOSPC);
}

/* SYNC_BEFORE_GROW: a failed msync before a grow poisons too, and the grow
 * does not happen. */
static void test_sync_before_grow_failure_poisons(void **state)
{
	mmf_options o;
	void *out;
	size_t next;
	mmf_file *f;

	mmf_options_seed(&o);
	f = open_rw(FX->path, 64, &o);
	fail_on("mmf/os/msync", EIO);
	assert_int_equal(mmf_allocate_slice(f, 100, 0, &out, &next), -EIO);
	fail_off("mmf/os/msync");
	assert_int_equal(mmf_size(f), 64);
	assert_int_equal(mmf_sync(f), -EIO);
	assert_int_equal(mmf_close(f), -EIO);
	assert_int_equal(file_size(FX->path), 64);
}

/* close syncs: one msync (counted through its failure point: a pread of the
 * same page cache would pass without it), then the bytes read back without
 * the library; an empty handle syncs with fdatasync. */
static void test_sync_close_writes_back(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);
	char buf[5];

	assert_int_equal(mmf_append_buffer(f, 100, "hello", 5), 0);
	close_synced(f);
	file_read(FX->path, 100, buf, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(mmf_close(NULL), 0);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_TRUNC, 0, NULL, &f), 0);
	close_synced(f);
}

/* close reports its sync's failure (and still frees the handle). */
static void test_sync_close_reports_sync_failure(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	assert_int_equal(mmf_append_buffer(f, 0, "x", 1), 0);
	fail_on("mmf/os/msync", EIO);
	assert_int_equal(mmf_close(f), -EIO);
	fail_off("mmf/os/msync");
	f = open_rw(FX->path, 0, NULL);
	assert_int_equal(mmf_truncate(f, 0), 0);
	fail_on("mmf/os/fdatasync", ENOSPC);
	assert_int_equal(mmf_close(f), -ENOSPC);
	fail_off("mmf/os/fdatasync");
}

/* close frees the handle and reports the first failure of its steps. */
static void test_sync_close_reports_munmap_and_close_errors(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	fail_on("mmf/os/munmap", EINVAL);
	assert_int_equal(mmf_close(f), -EINVAL);
	fail_off("mmf/os/munmap");
	f = open_rw(FX->path, 4096, NULL);
	fail_on("mmf/os/close", EIO);
	assert_int_equal(mmf_close(f), -EIO);
	fail_off("mmf/os/close");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_sync_counts_and_returns_zero),
		FIXTURE_TEST(test_sync_range_past_end_is_eof),
		FIXTURE_TEST(test_sync_unmapped_file_uses_fdatasync),
		FIXTURE_TEST(test_sync_failure_poisons_the_handle),
		FIXTURE_TEST(test_sync_poison_keeps_the_first_errno),
		FIXTURE_TEST(test_sync_before_grow_failure_poisons),
		FIXTURE_TEST(test_sync_close_writes_back),
		FIXTURE_TEST(test_sync_close_reports_sync_failure),
		FIXTURE_TEST(test_sync_close_reports_munmap_and_close_errors),
	};

	return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
