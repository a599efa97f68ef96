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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misc_options_defaults),
		cmocka_unit_test(test_misc_options_seed),
		cmocka_unit_test(test_misc_strerror_names_every_code),
		FIXTURE_TEST(test_misc_stats_start_at_zero),
	};

	return cmocka_run_group_tests_name("misc", tests, NULL, NULL);
}
