/* Unit: MMF_STABLE - the mapping never moves; max_size (mmapfile.h STABLE). */
#include "testutil.h"

/* Stable options: policy, flags (MMF_STABLE added), max_size. */
static mmf_options stable(enum mmf_grow grow, unsigned flags, size_t max)
{
	mmf_options o = opts(grow, flags | MMF_STABLE);

	o.grow_chunk = 64 << 10;
	o.max_size = max;
	return o;
}

/* Under every policy and flag set, appends from 4 KiB to 8 MiB never move
 * the mapping: mmf_data is constant, a pointer to the first record stays
 * valid and right, stats.moves and stats.remaps are 0 (no grow maps). */
static void test_stable_address_never_moves(void **state)
{
	static const enum mmf_grow grows[] = {
		MMF_GROW_DOUBLE, MMF_GROW_EXACT, MMF_GROW_CHUNK, MMF_GROW_SEED,
	};
	static const unsigned flags[] = {
		0, MMF_RESERVE, MMF_RESERVE | MMF_POPULATE, MMF_SYNC_BEFORE_GROW,
		MMF_RESERVE | MMF_POPULATE | MMF_SYNC_BEFORE_GROW,
	};
	static char rec[50000];

	memset(rec, 'r', sizeof(rec));
	for (size_t g = 0; g < 4; g++) {
		for (size_t fl = 0; fl < sizeof(flags) / sizeof(flags[0]); fl++) {
			mmf_options o = stable(grows[g], flags[fl], 64 << 20);
			mmf_file *f = open_rw(FX->path, 4096, &o);
			void *base = mmf_data(f), *first;
			size_t off = 0;
			mmf_stats st;

			assert_int_equal(mmf_allocate_slice(f, 5, 0, &first, &off), 0);
			memcpy(first, "first", 5);
			while (off < (8u << 20)) {
				assert_int_equal(mmf_append_buffer(f, off, rec, sizeof(rec)), 0);
				off += sizeof(rec);
				assert_ptr_equal(mmf_data(f), base);
			}
			assert_memory_equal(first, "first", 5);
			mmf_stats_get(f, &st);
			assert_int_equal(st.moves, 0);
			assert_int_equal(st.remaps, 0);
			assert_true(st.grows >= 2);
			assert_int_equal(mmf_delete(f), 0);
		}
	}
}

/* Growth stops at max_size: a policy step is cut to it; a write or truncate
 * past it is -EFBIG and leaves the handle as it was. */
static void test_stable_growth_past_max_size_is_efbig(void **state)
{
	mmf_options o = stable(MMF_GROW_DOUBLE, MMF_RESERVE, 100000);
	mmf_file *f = open_rw(FX->path, 60000, &o);
	void *base = mmf_data(f);
	const void *p;

	memset(base, 'm', 60000);
	assert_int_equal(mmf_append_buffer(f, 60000, "x", 1), 0);
	assert_int_equal(mmf_size(f), 100000);		/* doubling cut to max */
	assert_int_equal(mmf_append_buffer(f, 99999, "yz", 2), -EFBIG);
	assert_int_equal(mmf_truncate(f, 100001), -EFBIG);
	assert_int_equal(mmf_size(f), 100000);
	assert_int_equal(file_size(FX->path), 100000);
	assert_ptr_equal(mmf_data(f), base);
	assert_int_equal(mmf_bytes(f, 59999, 2, &p), 0);
	assert_memory_equal(p, "mx", 2);
	assert_int_equal(mmf_append_buffer(f, 99999, "y", 1), 0);	/* still works */
	assert_int_equal(mmf_sync(f), 0);
	assert_int_equal(mmf_close(f), 0);
}

/* Open limits: a file or new size past max_size is -EFBIG (nothing
 * changed); max_size 0 is -EINVAL; an empty handle has its address. */
static void test_stable_open_limits(void **state)
{
	mmf_options o = stable(MMF_GROW_DOUBLE, MMF_RESERVE, 8192);
	mmf_file *f = NULL;
	void *base;

	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 8193, &o, &f), -EFBIG);
	assert_int_equal(file_size(FX->path), 0);	/* created, left empty */
	file_write(FX->path, "0123456789", 10);
	o.max_size = 9;
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, &o, &f), -EFBIG);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, &o, &f), -EFBIG);
	assert_int_equal(file_size(FX->path), 10);
	o.max_size = 0;
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, &o, &f), -EINVAL);
	o.max_size = SIZE_MAX;
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, &o, &f), -EINVAL);
	assert_null(f);
	file_write(FX->path, "", 0);
	o.max_size = 1 << 20;
	f = open_rw(FX->path, 0, &o);
	base = mmf_data(f);
	assert_non_null(base);
	assert_int_equal(mmf_size(f), 0);
	assert_int_equal(mmf_append_buffer(f, 0, "a", 1), 0);
	assert_ptr_equal(mmf_data(f), base);
	close_synced(f);
}

/* Existing files, mmf_open_fd and read-only handles map into the
 * reservation too; the bytes are the file's. */
static void test_stable_existing_fd_and_readonly(void **state)
{
	mmf_options o = stable(MMF_GROW_EXACT, MMF_RESERVE, 1 << 20);
	mmf_file *f = NULL, *r = NULL;
	const void *p;
	void *base;
	int fd;

	file_write(FX->path, "existing", 8);
	fd = open(FX->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(mmf_open_fd(fd, 0, true, &o, &f), 0);
	base = mmf_data(f);
	assert_int_equal(mmf_append_buffer(f, 5000, "grown", 5), 0);
	assert_ptr_equal(mmf_data(f), base);
	assert_int_equal(mmf_bytes(f, 0, 8, &p), 0);
	assert_memory_equal(p, "existing", 8);
	assert_int_equal(mmf_open(FX->path, O_RDONLY, 0, &o, &r), 0);
	assert_int_equal(mmf_size(r), 5005);
	assert_int_equal(mmf_bytes(r, 5000, 5, &p), 0);
	assert_memory_equal(p, "grown", 5);
	assert_int_equal(mmf_close(r), 0);
	close_synced(f);
}

/* The permissions ("rw-s", "---p", ...) of the mapping holding addr, from
 * /proc/self/maps. */
static void map_perms(const void *addr, char perms[5])
{
	FILE *fp = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];

	assert_non_null(fp);
	perms[0] = '\0';
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			break;
	fclose(fp);
	assert_int_equal(strlen(perms), 4);
}

/* Shrinking and growing keep the one mapping (the pages past the end are
 * the file's, beyond its end); bytes past a shrink read as zero after the
 * regrow; an empty stable handle syncs with fdatasync. */
static void test_stable_shrink_and_regrow(void **state)
{
	mmf_options o = stable(MMF_GROW_EXACT, MMF_RESERVE, 1 << 20);
	mmf_file *f = open_rw(FX->path, 3 * 4096, &o);
	char *base = mmf_data(f), zero[8192];
	mmf_stats st;

	memset(zero, 0, sizeof(zero));
	memset(base, 's', 3 * 4096);
	char perms[5];

	assert_int_equal(mmf_truncate(f, 5000), 0);
	assert_int_equal(file_size(FX->path), 5000);
	map_perms(base + 4096, perms);
	assert_string_equal(perms, "rw-s");	/* the page holding the end */
	map_perms(base + 8192, perms);
	assert_string_equal(perms, "rw-s");	/* past the end: still the file's */
	assert_int_equal(mmf_truncate(f, 3 * 4096), 0);
	assert_ptr_equal(mmf_data(f), base);
	assert_int_equal(base[4999], 's');
	assert_memory_equal(base + 5000, zero, 3 * 4096 - 5000);
	assert_int_equal(mmf_truncate(f, 0), 0);
	assert_ptr_equal(mmf_data(f), base);
	assert_int_equal(mmf_sync(f), 0);
	fail_on("mmf/os/fdatasync", EIO);
	assert_int_equal(mmf_sync(f), -EIO);	/* the sync of size 0 */
	fail_off("mmf/os/fdatasync");
	mmf_stats_get(f, &st);
	assert_int_equal(st.shrinks, 2);
	assert_int_equal(st.moves, 0);
	assert_int_equal(mmf_close(f), -EIO);
}

/* Growth and shrink make no mapping call at all (the mapping covers the
 * whole reservation since open: a grow is the file's extension only), and
 * the pattern mmf_advise keeps covers all the handle will grow into, even
 * when set while the file is empty. */
static void test_stable_growth_maps_nothing_and_keeps_advice(void **state)
{
	static const unsigned flags[] = { 0, MMF_RESERVE, MMF_RESERVE | MMF_POPULATE };
	static char rec[100000];

	memset(rec, 'a', sizeof(rec));
	for (size_t fl = 0; fl < sizeof(flags) / sizeof(flags[0]); fl++) {
		mmf_options o = stable(MMF_GROW_DOUBLE, flags[fl], 16 << 20);
		mmf_file *f = open_rw(FX->path, 0, &o);
		char *base = mmf_data(f);
		size_t off = 0;

		assert_int_equal(mmf_advise(f, MMF_ADVICE_RANDOM), 0);
		fail_on("mmf/os/mmap", ENOMEM);
		fail_on("mmf/os/mremap", ENOMEM);
		fail_on("mmf/os/munmap", ENOMEM);
		fail_on("mmf/os/advise", EAGAIN);
		while (off < (8u << 20)) {
			assert_int_equal(mmf_append_buffer(f, off, rec, sizeof(rec)), 0);
			off += sizeof(rec);
		}
		assert_int_equal(mmf_truncate(f, 4096), 0);
		assert_int_equal(mmf_truncate(f, 12 << 20), 0);
		fail_off("mmf/os/mmap");
		fail_off("mmf/os/mremap");
		fail_off("mmf/os/munmap");
		fail_off("mmf/os/advise");
		assert_ptr_equal(mmf_data(f), base);
		assert_true(has_vm_flag(base + (12 << 20) - 1, "rr"));
		assert_int_equal(base[4095], 'a');
		assert_int_equal(base[(8 << 20) - 1], 0);	/* regrown: zeros */
		assert_int_equal(mmf_delete(f), 0);
	}
}

/* A sparse stable grow sets the size and nothing else: no byte written (so
 * no block allocated or reserved, none dirtied: a write at the new end
 * would leave ext4's on-disk size behind until that block is written back,
 * bench/README.md "Stable growth"); the new bytes read as zeros; a failed
 * extension leaves file and handle at the old size. */
static void test_stable_sparse_grow_sets_size_only(void **state)
{
	mmf_options o = stable(MMF_GROW_EXACT, 0, 64 << 20);
	mmf_file *f = open_rw(FX->path, 4096, &o);
	char *base = mmf_data(f), zero[4096];
	long long before;

	memset(zero, 0, sizeof(zero));
	memset(base, 's', 4096);
	assert_int_equal(mmf_sync(f), 0);
	before = file_allocated(FX->path);
	assert_int_equal(mmf_truncate(f, (32 << 20) + 100), 0);
	assert_int_equal(file_size(FX->path), (32 << 20) + 100);
	assert_int_equal(mmf_size(f), (32 << 20) + 100);
	assert_int_equal(file_allocated(FX->path), before);
	assert_memory_equal(base + (32 << 20) + 100 - 4096, zero, 4096);
	assert_memory_equal(base + 4096, zero, 4096);
	assert_int_equal(base[4095], 's');
	fail_on("mmf/os/ftruncate", ENOSPC);
	assert_int_equal(mmf_truncate(f, 48 << 20), -ENOSPC);
	fail_off("mmf/os/ftruncate");
	assert_int_equal(mmf_size(f), (32 << 20) + 100);
	assert_int_equal(file_size(FX->path), (32 << 20) + 100);
	assert_ptr_equal(mmf_data(f), base);
	assert_int_equal(mmf_delete(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_stable_address_never_moves),
		FIXTURE_TEST(test_stable_growth_past_max_size_is_efbig),
		FIXTURE_TEST(test_stable_open_limits),
		FIXTURE_TEST(test_stable_existing_fd_and_readonly),
		FIXTURE_TEST(test_stable_shrink_and_regrow),
		FIXTURE_TEST(test_stable_growth_maps_nothing_and_keeps_advice),
		FIXTURE_TEST(test_stable_sparse_grow_sets_size_only),
	};

	return cmocka_run_group_tests_name("stable", tests, NULL, NULL);
}
