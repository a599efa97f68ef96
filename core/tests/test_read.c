/* Unit: mmf_bytes, mmf_slice, the reader - bounds-safe reads. */
#include "testutil.h"

/* A 64-byte file: "0123456789..." pattern. */
static mmf_file *open_pattern(const char *path)
{
	char buf[64];
	mmf_file *f = NULL;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('0' + i % 10);
	file_write(path, buf, sizeof(buf));
	assert_int_equal(mmf_open(path, O_RDWR, 0, NULL, &f), 0);
	return f;
}

static void test_read_bytes_returns_the_range(void **state)
{
	mmf_file *f = open_pattern(FX->path);
	const void *p = NULL;

	assert_int_equal(mmf_bytes(f, 10, 5, &p), 0);
	assert_memory_equal(p, "01234", 5);
	assert_ptr_equal(p, (char *)mmf_data(f) + 10);
	assert_int_equal(mmf_bytes(f, 0, 64, &p), 0);
	assert_int_equal(mmf_bytes(f, 64, 0, &p), 0);	/* empty range at the end */
	assert_int_equal(mmf_close(f), 0);
}

/* Defect fixed: the seed panicked when off > len(Data). */
static void test_read_bytes_past_end_is_eof_never_a_crash(void **state)
{
	mmf_file *f = open_pattern(FX->path);
	const void *p = (const void *)0x1;

	assert_int_equal(mmf_bytes(f, 60, 5, &p), MMF_EOF);
	assert_int_equal(mmf_bytes(f, 65, 0, &p), MMF_EOF);
	assert_int_equal(mmf_bytes(f, SIZE_MAX, 1, &p), MMF_EOF);
	assert_int_equal(mmf_bytes(f, SIZE_MAX, 0, &p), MMF_EOF);
	assert_int_equal(mmf_bytes(f, 1, SIZE_MAX, &p), MMF_EOF);	/* off+len wraps */
	assert_int_equal(mmf_bytes(f, SIZE_MAX - 1, 4, &p), MMF_EOF);
	assert_ptr_equal(p, (const void *)0x1);	/* untouched on error */
	assert_int_equal(mmf_close(f), 0);
}

/* Seed: the slice prefix is a 4-byte big-endian length. */
static void test_read_slice_prefix_is_big_endian(void **state)
{
	unsigned char rec[4 + 258] = {0, 0, 1, 2};
	mmf_file *f = NULL;
	const void *p;
	uint32_t n = 0;

	memset(rec + 4, 'x', 258);
	file_write(FX->path, rec, sizeof(rec));
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_slice(f, 0, &p, &n), 0);
	assert_int_equal(n, 0x0102);
	assert_ptr_equal(p, (char *)mmf_data(f) + 4);
	assert_int_equal(mmf_close(f), 0);
}

/* allocate_slice writes the prefix big-endian too: the bytes on disk. */
static void test_read_allocate_slice_writes_big_endian_prefix(void **state)
{
	unsigned char head[4];
	void *out;
	size_t next;
	mmf_file *f = open_rw(FX->path, 4096, NULL);

	assert_int_equal(mmf_allocate_slice(f, 0x010203, 8, &out, &next), 0);
	assert_int_equal(next, 8 + 4 + 0x010203);
	assert_ptr_equal(out, (char *)mmf_data(f) + 12);
	close_synced(f);
	file_read(FX->path, 8, head, 4);
	assert_int_equal(head[0], 0x00);
	assert_int_equal(head[1], 0x01);
	assert_int_equal(head[2], 0x02);
	assert_int_equal(head[3], 0x03);
}

/* Defect fixed: a length past the end was an empty slice in the seed,
 * indistinguishable from an empty record. */
static void test_read_slice_payload_past_end_is_ecorrupt(void **state)
{
	unsigned char rec[10] = {0, 0, 0, 7, 'a', 'b', 'c', 'd', 'e', 'f'};
	unsigned char huge[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
	mmf_file *f = NULL;
	const void *p;
	uint32_t n = 99;

	file_write(FX->path, rec, sizeof(rec));
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_slice(f, 0, &p, &n), MMF_ECORRUPT);
	assert_int_equal(n, 99);
	assert_int_equal(mmf_close(f), 0);
	file_write(FX->path, huge, sizeof(huge));
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_slice(f, 0, &p, &n), MMF_ECORRUPT);
	assert_int_equal(mmf_close(f), 0);
}

static void test_read_slice_prefix_past_end_is_eof(void **state)
{
	mmf_file *f = open_pattern(FX->path);
	const void *p;
	uint32_t n;

	assert_int_equal(mmf_slice(f, 61, &p, &n), MMF_EOF);
	assert_int_equal(mmf_slice(f, 64, &p, &n), MMF_EOF);
	assert_int_equal(mmf_slice(f, SIZE_MAX, &p, &n), MMF_EOF);
	assert_int_equal(mmf_slice(f, SIZE_MAX - 3, &p, &n), MMF_EOF);
	assert_int_equal(mmf_close(f), 0);
}

/* An empty record at the very end is valid. */
static void test_read_slice_empty_record_at_end(void **state)
{
	unsigned char rec[4] = {0, 0, 0, 0};
	mmf_file *f = NULL;
	const void *p;
	uint32_t n = 1;

	file_write(FX->path, rec, sizeof(rec));
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, NULL, &f), 0);
	assert_int_equal(mmf_slice(f, 0, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mmf_close(f), 0);
}

/* Walk records written with allocate_slice, as a log reader does. */
static void test_read_slices_walk_back_what_was_allocated(void **state)
{
	size_t off = 0, next;
	void *out;
	const void *p;
	uint32_t n;
	mmf_file *f = open_rw(FX->path, 64, NULL);

	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(mmf_allocate_slice(f, i, off, &out, &next), 0);
		memset(out, (int)i, i);
		off = next;
	}
	off = 0;
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(mmf_slice(f, off, &p, &n), 0);
		assert_int_equal(n, i);
		for (uint32_t j = 0; j < i; j++)
			assert_int_equal(((const unsigned char *)p)[j], i);
		off += 4 + n;
	}
	assert_int_equal(mmf_close(f), 0);
}

static void test_read_reader_copies_then_returns_zero_at_end(void **state)
{
	mmf_file *f = open_pattern(FX->path);
	mmf_reader r;
	char buf[100];

	mmf_reader_init(&r, f, 60);
	assert_int_equal(mmf_reader_read(&r, buf, 3), 3);
	assert_memory_equal(buf, "012", 3);
	assert_int_equal(mmf_reader_read(&r, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], '3');
	assert_int_equal(mmf_reader_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(mmf_reader_read(&r, NULL, 0), 0);
	assert_int_equal(mmf_reader_read(&r, NULL, 1), -EINVAL);
	mmf_reader_init(&r, f, SIZE_MAX);
	assert_int_equal(mmf_reader_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(mmf_close(f), 0);
}

/* Defect fixed: the Go reader kept the slice it was made with, so it read
 * a stale (unmapped, after mremap moved it) buffer and missed new bytes. */
static void test_read_reader_follows_growth_and_moves(void **state)
{
	mmf_options o = opts(MMF_GROW_DOUBLE, 0);
	mmf_file *f = open_rw(FX->path, 16, &o);
	mmf_reader r;
	mmf_stats st;
	unsigned char buf[4096];
	size_t total = 0, off = 0;
	ssize_t n;

	assert_int_equal(mmf_append_buffer(f, 0, "0123456789abcdef", 16), 0);
	mmf_reader_init(&r, f, 8);
	assert_int_equal(mmf_reader_read(&r, buf, 4), 4);
	/* Grow a lot, so the mapping moves at least once. */
	for (int i = 0; i < 2000; i++) {
		memset(buf, i & 0xff, 1024);
		assert_int_equal(mmf_append_buffer(f, 16 + (size_t)i * 1024, buf, 1024), 0);
	}
	mmf_stats_get(f, &st);
	assert_true(st.moves >= 1);
	assert_int_equal(mmf_reader_read(&r, buf, 4), 4);
	assert_memory_equal(buf, "cdef", 4);
	while ((n = mmf_reader_read(&r, buf, sizeof(buf))) > 0) {
		for (ssize_t j = 0; j < n && off + (size_t)j < 2000 * 1024; j++)
			assert_int_equal(buf[j], ((off + (size_t)j) / 1024) & 0xff);
		off += (size_t)n;
		total += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, mmf_size(f) - 16);
	assert_int_equal(mmf_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_read_bytes_returns_the_range),
		FIXTURE_TEST(test_read_bytes_past_end_is_eof_never_a_crash),
		FIXTURE_TEST(test_read_slice_prefix_is_big_endian),
		FIXTURE_TEST(test_read_allocate_slice_writes_big_endian_prefix),
		FIXTURE_TEST(test_read_slice_payload_past_end_is_ecorrupt),
		FIXTURE_TEST(test_read_slice_prefix_past_end_is_eof),
		FIXTURE_TEST(test_read_slice_empty_record_at_end),
		FIXTURE_TEST(test_read_slices_walk_back_what_was_allocated),
		FIXTURE_TEST(test_read_reader_copies_then_returns_zero_at_end),
		FIXTURE_TEST(test_read_reader_follows_growth_and_moves),
	};

	return cmocka_run_group_tests_name("read", tests, NULL, NULL);
}
