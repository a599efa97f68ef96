/* Unit: growth - the seed's doubling, the policies, the flags, truncate. */
#include "testutil.h"

#include <sys/mman.h>

#define GIB ((size_t)1 << 30)

/* The seed's AllocateSlice growth, transcribed from its Go source. */
static size_t seed_allocate_grow(size_t size, size_t sz, size_t offset)
{
	size_t start = offset + 4, grow_by;

	if (start + sz <= size)
		return size;
	grow_by = size > GIB ? GIB : size;
	if (grow_by < sz + 4)
		grow_by = sz + 4;
	return size + grow_by;
}

static size_t allocate(mmf_file *f, size_t len, size_t off)
{
	void *out;
	size_t next;

	assert_int_equal(mmf_allocate_slice(f, len, off, &out, &next), 0);
	assert_int_equal(next, off + 4 + len);
	return next;
}

/* Seed: allocate_slice sizes follow the seed's formula exactly. */
static void test_grow_seed_doubling_sizes_match_the_seed(void **state)
{
	mmf_options o;
	size_t off = 0, expect = 100, lens[] = {10, 50, 300, 7, 5000, 1, 70000, 3};
	mmf_file *f;

	mmf_options_seed(&o);
	f = open_rw(FX->path, 100, &o);
	for (int round = 0; round < 40; round++) {
		size_t len = lens[round % 8];

		expect = seed_allocate_grow(expect, len, off);
		off = allocate(f, len, off);
		assert_int_equal(mmf_size(f), expect);
	}
	assert_int_equal(file_size(FX->path), (long long)expect);
	assert_int_equal(mmf_close(f), 0);
}

/* Seed: one doubling step is capped at 1 GiB (a sparse file, no RESERVE). */
static void test_grow_doubling_step_is_capped_at_one_gib(void **state)
{
	mmf_options o;
	size_t size = GIB + GIB / 2;
	mmf_file *f;

	mmf_options_seed(&o);
	f = open_rw(FX->path, size, &o);
	allocate(f, 10, size - 4);
	assert_int_equal(mmf_size(f), size + GIB);
	assert_int_equal(mmf_size(f), seed_allocate_grow(size, 10, size - 4));
	allocate(f, 10, mmf_size(f));
	assert_int_equal(mmf_size(f), size + 2 * GIB);
	assert_true(file_allocated(FX->path) < 1 << 20);	/* sparse */
	assert_int_equal(mmf_close(f), 0);
}

/* A small file grows by len + 4 when that beats doubling. */
static void test_grow_doubling_step_at_least_the_record(void **state)
{
	mmf_options o = opts(MMF_GROW_DOUBLE, 0);
	mmf_file *f = open_rw(FX->path, 16, &o);

	allocate(f, 100, 0);
	assert_int_equal(mmf_size(f), 16 + 104);
	assert_int_equal(mmf_close(f), 0);
}

/* Defect fixed: the seed's AppendBuffer computed growBy, then grew to the
 * exact end anyway. The default policy doubles; seed-compat stays exact. */
static void test_grow_append_buffer_follows_the_policy(void **state)
{
	char buf[100] = {0};
	mmf_options seed, dbl = opts(MMF_GROW_DOUBLE, MMF_RESERVE);
	mmf_file *f = open_rw(FX->path, 4096, &dbl);

	assert_int_equal(mmf_append_buffer(f, 4090, buf, sizeof(buf)), 0);
	assert_int_equal(mmf_size(f), 8192);
	assert_int_equal(mmf_delete(f), 0);
	mmf_options_seed(&seed);
	f = open_rw(FX->path, 4096, &seed);
	assert_int_equal(mmf_append_buffer(f, 4090, buf, sizeof(buf)), 0);
	assert_int_equal(mmf_size(f), 4190);
	assert_int_equal(mmf_close(f), 0);
}

static void test_grow_exact_goes_to_the_needed_end(void **state)
{
	mmf_options o = opts(MMF_GROW_EXACT, 0);
	mmf_file *f = open_rw(FX->path, 4096, &o);

	allocate(f, 100, 4090);
	assert_int_equal(mmf_size(f), 4194);
	assert_int_equal(mmf_append_buffer(f, 5000, "x", 1), 0);
	assert_int_equal(mmf_size(f), 5001);
	assert_int_equal(mmf_close(f), 0);
}

static void test_grow_chunk_rounds_up_to_the_chunk(void **state)
{
	mmf_options o = opts(MMF_GROW_CHUNK, 0);
	mmf_file *f;

	o.grow_chunk = 65536;
	f = open_rw(FX->path, 4096, &o);
	allocate(f, 100, 4090);
	assert_int_equal(mmf_size(f), 65536);
	allocate(f, 65536 - 4 - 65536 + 100, 65536 - 100);	/* ends at 65536: no grow */
	assert_int_equal(mmf_size(f), 65536);
	allocate(f, 200000, 65536);
	assert_int_equal(mmf_size(f), 5 * 65536);
	assert_int_equal(mmf_close(f), 0);
}

/* Defect fixed: with off past the end the seed's step could end short of
 * off + 4 + len. A grow never does, whatever the policy. */
static void test_grow_never_ends_short_of_the_write(void **state)
{
	enum mmf_grow pol[] = {MMF_GROW_DOUBLE, MMF_GROW_SEED, MMF_GROW_EXACT};

	for (size_t i = 0; i < 3; i++) {
		mmf_options o = opts(pol[i], 0);
		mmf_file *f = open_rw(FX->path, 4096, &o);

		assert_true(seed_allocate_grow(4096, 10, 100000) < 100014);
		allocate(f, 10, 100000);
		assert_int_equal(mmf_size(f), 100014);
		assert_int_equal(mmf_append_buffer(f, 300000, "abc", 3), 0);
		assert_true(mmf_size(f) >= 300003);
		assert_int_equal(mmf_delete(f), 0);
	}
}

/* RESERVE allocates the new blocks; without it the file stays sparse. */
static void test_grow_reserve_allocates_blocks(void **state)
{
	mmf_options r = opts(MMF_GROW_EXACT, MMF_RESERVE), s = opts(MMF_GROW_EXACT, 0);
	mmf_stats st;
	mmf_file *f = open_rw(FX->path, 4096, &r);

	allocate(f, 8 << 20, 0);
	assert_true(file_allocated(FX->path) >= (long long)mmf_size(f));
	mmf_stats_get(f, &st);
	assert_int_equal(st.bytes_reserved, mmf_size(f));	/* 4096 at open + the grow */
	assert_int_equal(st.bytes_grown, mmf_size(f));
	assert_int_equal(mmf_delete(f), 0);
	f = open_rw(FX->path, 4096, &s);
	allocate(f, 8 << 20, 0);
	assert_true(file_allocated(FX->path) < 1 << 20);
	mmf_stats_get(f, &st);
	assert_int_equal(st.bytes_reserved, 0);
	assert_int_equal(mmf_close(f), 0);
}

static size_t resident_pages(const mmf_file *f)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (mmf_size(f) + page - 1) / page, r = 0;
	unsigned char *vec = calloc(n, 1);

	assert_non_null(vec);
	assert_int_equal(mincore(mmf_data(f), mmf_size(f), vec), 0);
	for (size_t i = 0; i < n; i++)
		r += vec[i] & 1;
	free(vec);
	return r;
}

/* POPULATE prefaults the new space: every page is resident after the grow. */
static void test_grow_populate_prefaults_new_space(void **state)
{
	mmf_options p = opts(MMF_GROW_EXACT, MMF_RESERVE | MMF_POPULATE);
	mmf_options n = opts(MMF_GROW_EXACT, 0);
	size_t pages = (4 << 20) / (size_t)sysconf(_SC_PAGESIZE);
	mmf_file *f = open_rw(FX->path, 0, &n);

	assert_int_equal(mmf_truncate(f, 4 << 20), 0);
	assert_true(resident_pages(f) < pages);
	assert_int_equal(mmf_delete(f), 0);
	f = open_rw(FX->path, 0, &p);
	assert_int_equal(mmf_truncate(f, 4 << 20), 0);
	assert_int_equal(resident_pages(f), pages);
	assert_int_equal(mmf_close(f), 0);
}

/* SYNC_BEFORE_GROW msyncs once per grow (the seed's Truncature did). */
static void test_grow_sync_before_grow_syncs_each_grow(void **state)
{
	mmf_options o = opts(MMF_GROW_EXACT, MMF_SYNC_BEFORE_GROW), d = opts(MMF_GROW_EXACT, 0);
	mmf_stats st;
	mmf_file *f = open_rw(FX->path, 64, &o);

	for (size_t i = 0; i < 5; i++)
		allocate(f, 100, 64 + i * 104);
	mmf_stats_get(f, &st);
	assert_int_equal(st.grows, 6);		/* sizing at open + 5 */
	assert_int_equal(st.syncs, 5);		/* the first grow had no mapping */
	assert_int_equal(st.remaps, 6);
	assert_true(st.grow_ns > 0);
	assert_int_equal(mmf_delete(f), 0);
	f = open_rw(FX->path, 64, &d);
	allocate(f, 100, 64);
	mmf_stats_get(f, &st);
	assert_int_equal(st.syncs, 0);
	assert_int_equal(mmf_close(f), 0);
}

/* Truncate: bytes below min(old, new) kept, new bytes zero, 0 unmaps. */
static void test_grow_truncate_keeps_bytes_and_zeroes_new_ones(void **state)
{
	mmf_file *f = open_rw(FX->path, 100, NULL);
	const void *p;
	mmf_stats st;

	assert_int_equal(mmf_append_buffer(f, 0, "abcdefghij", 10), 0);
	assert_int_equal(mmf_truncate(f, 5), 0);
	assert_int_equal(mmf_size(f), 5);
	assert_int_equal(file_size(FX->path), 5);
	assert_int_equal(mmf_truncate(f, 5), 0);
	assert_int_equal(mmf_truncate(f, 10000), 0);
	assert_int_equal(mmf_size(f), 10000);
	assert_int_equal(mmf_bytes(f, 0, 10, &p), 0);
	assert_memory_equal(p, "abcde\0\0\0\0\0", 10);
	assert_int_equal(mmf_truncate(f, 0), 0);
	assert_int_equal(mmf_size(f), 0);
	assert_null(mmf_data(f));
	assert_int_equal(file_size(FX->path), 0);
	assert_int_equal(mmf_append_buffer(f, 0, "z", 1), 0);
	assert_int_equal(mmf_size(f), 1);
	mmf_stats_get(f, &st);
	assert_int_equal(st.shrinks, 2);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 1);
}

static void test_grow_bad_sizes_are_refused(void **state)
{
	void *out = NULL;
	size_t next = 0;
	mmf_file *f = open_rw(FX->path, 64, NULL);

	assert_int_equal(mmf_allocate_slice(f, (size_t)UINT32_MAX + 1, 0, &out, &next), -EINVAL);
	assert_int_equal(mmf_allocate_slice(f, 1, 0, NULL, &next), -EINVAL);
	assert_int_equal(mmf_allocate_slice(f, 1, 0, &out, NULL), -EINVAL);
	assert_int_equal(mmf_allocate_slice(f, 1, SIZE_MAX - 2, &out, &next), -EFBIG);
	assert_int_equal(mmf_allocate_slice(f, 1, SIZE_MAX / 2 - 4, &out, &next), -EFBIG);
	assert_int_equal(mmf_append_buffer(f, SIZE_MAX, "x", 1), -EFBIG);
	assert_int_equal(mmf_append_buffer(f, 0, NULL, 1), -EINVAL);
	assert_int_equal(mmf_append_buffer(f, 1000, NULL, 0), 0);	/* nothing to do */
	assert_int_equal(mmf_truncate(f, SIZE_MAX), -EFBIG);
	assert_null(out);
	assert_int_equal(mmf_size(f), 64);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 64);
}

/* A grow that the kernel refuses leaves the old size and mapping. */
static void test_grow_failure_keeps_the_old_file(void **state)
{
	mmf_file *f = open_rw(FX->path, 4096, NULL);
	void *base = mmf_data(f);

	assert_int_equal(mmf_append_buffer(f, 0, "keep", 4), 0);
	assert_int_equal(mmf_truncate(f, (size_t)INT64_MAX), -EFBIG);
	assert_int_equal(mmf_append_buffer(f, (size_t)1 << 62, "x", 1), -EFBIG);
	assert_int_equal(mmf_size(f), 4096);
	assert_ptr_equal(mmf_data(f), base);
	assert_memory_equal(base, "keep", 4);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), 4096);
}

/* LARGE APPENDS: a record of MMF_APPEND_BY_WRITE bytes or more (copied by
 * pwrite) and one below (stored) read the same through the mapping, a
 * reader and the file, at an unaligned offset, across a grow. */
static void test_grow_large_append_is_seen_everywhere(void **state)
{
	const size_t sizes[] = { MMF_APPEND_BY_WRITE - 1, MMF_APPEND_BY_WRITE,
				 65536 + 3 };
	unsigned char *buf = malloc(70000), *got = malloc(70000);
	mmf_file *f = open_rw(FX->path, 4096, NULL);
	const void *p;
	size_t off = 13;
	mmf_reader r;

	assert_non_null(buf);
	assert_non_null(got);
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			buf[j] = (unsigned char)(j * 7 + i + 1);
		assert_int_equal(mmf_append_buffer(f, off, buf, sizes[i]), 0);
		assert_int_equal(mmf_bytes(f, off, sizes[i], &p), 0);
		assert_memory_equal(p, buf, sizes[i]);
		mmf_reader_init(&r, f, off);
		assert_int_equal(mmf_reader_read(&r, got, sizes[i]), (ssize_t)sizes[i]);
		assert_memory_equal(got, buf, sizes[i]);
		assert_int_equal(mmf_sync_range(f, off, sizes[i]), 0);
		file_read(FX->path, off, got, sizes[i]);
		assert_memory_equal(got, buf, sizes[i]);
		off += sizes[i];
	}
	assert_int_equal(mmf_close(f), 0);
	free(buf);
	free(got);
}

/* An fd with O_APPEND (every write(2) lands at the end on Linux) or
 * O_DIRECT (aligned buffers only) given to mmf_open_fd: large records are
 * stored through the mapping, at their offset. */
static void check_positional(const char *path, int extra)
{
	unsigned char old[16384], rec[8192], got[8192];
	mmf_file *f = NULL;
	int fd;

	memset(old, 'o', sizeof(old));
	memset(rec, 'r', sizeof(rec));
	file_write(path, old, sizeof(old));
	fd = open(path, O_RDWR | extra);
	if (fd < 0 && errno == EINVAL)
		skip();	/* this filesystem has no O_DIRECT */
	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 0, true, NULL, &f), 0);
	assert_int_equal(mmf_append_buffer(f, 100, rec, sizeof(rec)), 0);
	assert_int_equal(mmf_size(f), sizeof(old));
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(path), (long long)sizeof(old));
	file_read(path, 100, got, sizeof(got));
	assert_memory_equal(got, rec, sizeof(rec));
	file_read(path, 0, got, 100);
	assert_memory_equal(got, old, 100);
}

static void test_grow_large_append_on_o_append_fd_lands_at_off(void **state)
{
	check_positional(FX->path, O_APPEND);
}

static void test_grow_large_append_on_o_direct_fd_lands_at_off(void **state)
{
	check_positional(FX->path, O_DIRECT);
}

/* A failed copy (write(2) says -EIO) after the grow: the handle keeps the
 * growth and works on, not poisoned, every old byte there. */
static void test_grow_large_append_copy_failure_keeps_growth(void **state)
{
	unsigned char rec[8192];
	mmf_file *f = open_rw(FX->path, 4096, NULL);
	const void *p;

	memset(rec, 'r', sizeof(rec));
	assert_int_equal(mmf_append_buffer(f, 0, "keep", 4), 0);
	fail_on("mmf/os/pwrite", EIO);
	assert_int_equal(mmf_append_buffer(f, 4096, rec, sizeof(rec)), -EIO);
	fail_off("mmf/os/pwrite");
	assert_true(mmf_size(f) >= 4096 + sizeof(rec));
	assert_int_equal(mmf_bytes(f, 0, 4, &p), 0);
	assert_memory_equal(p, "keep", 4);
	assert_int_equal(mmf_sync(f), 0);
	assert_int_equal(mmf_append_buffer(f, 4096, rec, sizeof(rec)), 0);
	assert_int_equal(mmf_close(f), 0);
}

/* MMF_POPULATE faults new space in at the grow, so large records are stored
 * through the mapping there: a failing write(2) is never met. */
static void test_grow_large_append_with_populate_stores(void **state)
{
	unsigned char rec[8192];
	mmf_options o = opts(MMF_GROW_DOUBLE, MMF_RESERVE | MMF_POPULATE);
	mmf_file *f = open_rw(FX->path, 4096, &o);
	const void *p;

	memset(rec, 'p', sizeof(rec));
	fail_on("mmf/os/pwrite", EIO);
	assert_int_equal(mmf_append_buffer(f, 100, rec, sizeof(rec)), 0);
	fail_off("mmf/os/pwrite");
	assert_int_equal(mmf_bytes(f, 100, sizeof(rec), &p), 0);
	assert_memory_equal(p, rec, sizeof(rec));
	assert_int_equal(mmf_close(f), 0);
}

/* Without MMF_RESERVE a prefault that finds the disk full fails silently
 * (it is advisory) and a store into that page would die of SIGBUS: large
 * records are copied by pwrite there, whose error is returned. */
static void test_grow_large_append_with_populate_unreserved_writes(void **state)
{
	unsigned char rec[8192];
	mmf_options o = opts(MMF_GROW_DOUBLE, MMF_POPULATE);
	mmf_file *f = open_rw(FX->path, 4096, &o);
	const void *p;

	memset(rec, 'u', sizeof(rec));
	fail_on("mmf/os/pwrite", ENOSPC);
	assert_int_equal(mmf_append_buffer(f, 100, rec, sizeof(rec)), -ENOSPC);
	fail_off("mmf/os/pwrite");
	assert_int_equal(mmf_append_buffer(f, 100, rec, sizeof(rec)), 0);
	assert_int_equal(mmf_bytes(f, 100, sizeof(rec), &p), 0);
	assert_memory_equal(p, rec, sizeof(rec));
	assert_int_equal(mmf_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_grow_seed_doubling_sizes_match_the_seed),
		FIXTURE_TEST(test_grow_doubling_step_is_capped_at_one_gib),
		FIXTURE_TEST(test_grow_doubling_step_at_least_the_record),
		FIXTURE_TEST(test_grow_append_buffer_follows_the_policy),
		FIXTURE_TEST(test_grow_exact_goes_to_the_needed_end),
		FIXTURE_TEST(test_grow_chunk_rounds_up_to_the_chunk),
		FIXTURE_TEST(test_grow_never_ends_short_of_the_write),
		FIXTURE_TEST(test_grow_reserve_allocates_blocks),
		FIXTURE_TEST(test_grow_populate_prefaults_new_space),
		FIXTURE_TEST(test_grow_sync_before_grow_syncs_each_grow),
		FIXTURE_TEST(test_grow_truncate_keeps_bytes_and_zeroes_new_ones),
		FIXTURE_TEST(test_grow_bad_sizes_are_refused),
		FIXTURE_TEST(test_grow_failure_keeps_the_old_file),
		FIXTURE_TEST(test_grow_large_append_is_seen_everywhere),
		FIXTURE_TEST(test_grow_large_append_on_o_append_fd_lands_at_off),
		FIXTURE_TEST(test_grow_large_append_with_populate_stores),
		FIXTURE_TEST(test_grow_large_append_with_populate_unreserved_writes),
		FIXTURE_TEST(test_grow_large_append_on_o_direct_fd_lands_at_off),
		FIXTURE_TEST(test_grow_large_append_copy_failure_keeps_growth),
	};

	return cmocka_run_group_tests_name("grow", tests, NULL, NULL);
}
