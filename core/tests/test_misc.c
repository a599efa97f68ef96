/* Unit: options, strerror, stats. */
#include "testutil.h"

static void test_misc_options_defaults(void **state)
{
	mmf_options o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	mmf_options_init(&o);
	assert_int_equal(o.grow, MMF_GROW_DOUBLE);
	assert_int_equal(o.grow_max_step, (size_t)1 << 30);
	assert_int_equal(o.grow_chunk, (size_t)64 << 20);
	assert_int_equal(o.flags, MMF_RESERVE);
	assert_int_equal(o.mode, 0666);
}

static void test_misc_options_seed(void **state)
{
	mmf_options o;

	(void)state;
	mmf_options_seed(&o);
	assert_int_equal(o.grow, MMF_GROW_SEED);
	assert_int_equal(o.grow_max_step, (size_t)1 << 30);
	assert_int_equal(o.flags, MMF_SYNC_BEFORE_GROW);
	assert_int_equal(o.mode, 0666);
}

static void test_misc_strerror_names_every_code(void **state)
{
	(void)state;
	assert_string_equal(mmf_strerror(0), "success");
	assert_string_equal(mmf_strerror(MMF_EOF), "range passes the end of the file");
	assert_string_equal(mmf_strerror(MMF_ECORRUPT),
			    "record length prefix points past the end of the file");
	assert_string_equal(mmf_strerror(-ENOSPC), strerror(ENOSPC));
	assert_string_equal(mmf_strerror(-EIO), strerror(EIO));
	assert_string_equal(mmf_strerror(1), "unknown mmapfile error");
	assert_string_equal(mmf_strerror(-5000), "unknown mmapfile error");
	assert_true(MMF_EOF < -4095 && MMF_ECORRUPT < -4095);
}

/* A fresh handle on an existing file has every counter at zero. */
static void test_misc_stats_start_at_zero(void **state)
{
	mmf_stats st;
	mmf_file *f;

	file_write(FX->path, "abc", 3);
	f = open_rw(FX->path, 0, NULL);
	memset(&st, 0xff, sizeof(st));
	mmf_stats_get(f, &st);
	assert_int_equal(st.grows + st.shrinks + st.remaps + st.moves + st.syncs, 0);
	assert_int_equal(st.bytes_grown + st.bytes_reserved + st.grow_ns + st.sync_ns, 0);
	assert_int_equal(mmf_sync(f), 0);
	mmf_stats_get(f, &st);
	assert_int_equal(st.syncs, 1);
	assert_int_equal(mmf_close(f), 0);
}

/* Issue 11, API gap: access advice through the library, kept across growth
 * and moves, and for the first mapping of an empty file. */
static void test_misc_advice_is_kept_across_growth(void **state)
{
	mmf_file *f = open_rw(FX->path, 0, NULL);
	char *big = malloc(1 << 20);
	mmf_stats st;

	assert_non_null(big);
	memset(big, 'g', 1 << 20);
	assert_int_equal(mmf_advise(f, MMF_ADVICE_RANDOM), 0);	/* nothing mapped */
	assert_int_equal(mmf_append_buffer(f, 0, "a", 1), 0);
	assert_true(has_vm_flag(mmf_data(f), "rr"));
	for (size_t off = 1; off < (8u << 20); off += 1 << 20)
		assert_int_equal(mmf_append_buffer(f, off, big, 1 << 20), 0);
	mmf_stats_get(f, &st);
	assert_true(st.remaps >= 3);
	assert_true(has_vm_flag(mmf_data(f), "rr"));
	assert_int_equal(mmf_truncate(f, 4096), 0);		/* shrink */
	assert_true(has_vm_flag(mmf_data(f), "rr"));
	assert_int_equal(mmf_advise(f, MMF_ADVICE_SEQUENTIAL), 0);
	assert_int_equal(mmf_truncate(f, 1 << 20), 0);
	assert_true(has_vm_flag(mmf_data(f), "sr"));
	assert_false(has_vm_flag(mmf_data(f), "rr"));
	assert_int_equal(mmf_advise(f, MMF_ADVICE_NORMAL), 0);
	assert_false(has_vm_flag(mmf_data(f), "sr"));
	assert_int_equal(mmf_close(f), 0);
	free(big);
}

/* WILLNEED / DONTNEED act once and keep the pattern; DONTNEED loses no
 * written byte; ranges are checked; unknown advice is -EINVAL; a failing
 * madvise is returned and leaves the kept pattern. */
static void test_misc_advice_once_and_errors(void **state)
{
	mmf_file *f = open_rw(FX->path, 8192, NULL);
	const void *p;

	assert_int_equal(mmf_advise(f, MMF_ADVICE_RANDOM), 0);
	memset(mmf_data(f), 'w', 8192);
	assert_int_equal(mmf_advise(f, MMF_ADVICE_DONTNEED), 0);
	assert_int_equal(mmf_advise_range(f, 4095, 2, MMF_ADVICE_WILLNEED), 0);
	assert_int_equal(mmf_advise_range(f, 100, 0, MMF_ADVICE_DONTNEED), 0);
	assert_true(has_vm_flag(mmf_data(f), "rr"));
	assert_int_equal(mmf_bytes(f, 8191, 1, &p), 0);
	assert_int_equal(*(const char *)p, 'w');
	assert_int_equal(mmf_advise(f, (enum mmf_advice)5), -EINVAL);
	assert_int_equal(mmf_advise_range(f, 0, 1, (enum mmf_advice)-1), -EINVAL);
	assert_int_equal(mmf_advise_range(f, 8192, 1, MMF_ADVICE_RANDOM), MMF_EOF);
	assert_int_equal(mmf_advise_range(f, SIZE_MAX, 2, MMF_ADVICE_RANDOM), MMF_EOF);
	fail_on("mmf/os/advise", EAGAIN);
	assert_int_equal(mmf_advise(f, MMF_ADVICE_SEQUENTIAL), -EAGAIN);
	/* a failing re-application after a grow is advisory */
	assert_int_equal(mmf_truncate(f, 3 << 20), 0);
	fail_off("mmf/os/advise");
	assert_int_equal(mmf_truncate(f, 4 << 20), 0);
	assert_true(has_vm_flag(mmf_data(f), "rr"));
	assert_int_equal(mmf_close(f), 0);
}

/* A pattern on part of the mapping splits it; grows (mremap, which may
 * move) and shrinks still work, and the kept pattern is on all of it after. */
static void test_misc_range_pattern_then_grow_and_shrink(void **state)
{
	mmf_file *f = open_rw(FX->path, 1 << 20, NULL);
	const void *p;

	memset(mmf_data(f), 'r', 1 << 20);
	assert_int_equal(mmf_advise(f, MMF_ADVICE_SEQUENTIAL), 0);
	assert_int_equal(mmf_advise_range(f, 0, 4096, MMF_ADVICE_RANDOM), 0);
	assert_true(has_vm_flag(mmf_data(f), "rr"));
	assert_int_equal(mmf_append_buffer(f, (1 << 20) - 1, "grow", 4), 0);
	assert_true(mmf_size(f) > 1 << 20);
	assert_true(has_vm_flag(mmf_data(f), "sr"));
	assert_int_equal(mmf_bytes(f, 4096, 1, &p), 0);
	assert_int_equal(*(const char *)p, 'r');
	assert_int_equal(mmf_advise_range(f, 8192, 4096, MMF_ADVICE_RANDOM), 0);
	assert_int_equal(mmf_truncate(f, 65536), 0);
	assert_int_equal(mmf_size(f), 65536);
	assert_true(has_vm_flag(mmf_data(f), "sr"));
	/* a failing merge fails the grow, which keeps the old size */
	assert_int_equal(mmf_advise_range(f, 0, 4096, MMF_ADVICE_NORMAL), 0);
	fail_on("mmf/os/advise", EAGAIN);
	assert_int_equal(mmf_truncate(f, 1 << 20), -EAGAIN);
	fail_off("mmf/os/advise");
	assert_int_equal(mmf_size(f), 65536);
	assert_int_equal(mmf_truncate(f, 1 << 20), 0);
	/* a shrink to 0 that fails maps the file again, with the pattern */
	fail_on("mmf/os/ftruncate", EIO);
	assert_int_equal(mmf_truncate(f, 0), -EIO);
	fail_off("mmf/os/ftruncate");
	assert_int_equal(mmf_size(f), 1 << 20);
	assert_true(has_vm_flag(mmf_data(f), "sr"));
	assert_int_equal(mmf_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misc_options_defaults),
		cmocka_unit_test(test_misc_options_seed),
		cmocka_unit_test(test_misc_strerror_names_every_code),
		FIXTURE_TEST(test_misc_stats_start_at_zero),
		FIXTURE_TEST(test_misc_advice_is_kept_across_growth),
		FIXTURE_TEST(test_misc_advice_once_and_errors),
		FIXTURE_TEST(test_misc_range_pattern_then_grow_and_shrink),
	};

	return cmocka_run_group_tests_name("misc", tests, NULL, NULL);
}
