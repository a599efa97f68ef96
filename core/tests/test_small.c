/* Unit: SMALL WRITES (mmapfile.h): a record sync into a file whose page
 * cache held large folios dirties (and so writes) 4 KiB pages, not folios;
 * MMF_KEEP_FOLIOS turns it off; the bytes are never changed by it.
 *
 * Dirtied bytes come from /proc/self/io write_bytes, which the kernel counts
 * per folio when a clean folio turns dirty. The checks that need large
 * folios are skipped when MMF_KEEP_FOLIOS shows the kernel gave none here
 * (Linux < 6.16, a filesystem without large folios, fragmented memory). */
#include "testutil.h"

#include <sys/resource.h>

#define SEG (8u << 20)
#define REC 1024u
#define RECS 32u

static long long dirtied_bytes(void)
{
	FILE *fp = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "write_bytes: %lld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

/* SEG bytes of pattern written with pwrite in 1 MiB chunks (as WAL
 * preallocation and file copies write), fdatasync'ed when synced. */
static void write_segment(const char *path, int synced)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unsigned char *buf = malloc(1u << 20);

	assert_true(fd >= 0);
	assert_non_null(buf);
	for (size_t off = 0; off < SEG; off += 1u << 20) {
		for (size_t i = 0; i < (1u << 20); i++)
			buf[i] = (unsigned char)((off + i) * 7 + 1);
		assert_int_equal(pwrite(fd, buf, 1u << 20, (off_t)off), 1 << 20);
	}
	if (synced)
		assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(close(fd), 0);
	free(buf);
}

/* How the records go in: appended in order, or stored at random pages
 * through mmf_data (re-dirtying single pages of a synced file); DEEP
 * appends to a new file, the first `from` bytes with a sync per DEEP_SYNC
 * (a WAL's writer, past readahead's first windows). */
enum how { APPEND, REPLAY_APPEND, REDIRTY, DEEP };
#define DEEP_SYNC (256u << 10)

/* A new file at path with `to` bytes of rec-byte records appended, a sync
 * per DEEP_SYNC bytes. */
static mmf_file *open_deep(const char *path, const mmf_options *o, size_t to, size_t rec,
			   const unsigned char *buf)
{
	mmf_file *f;
	size_t synced = 0;

	assert_int_equal(mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, o, &f), 0);
	for (size_t off = 0; off < to; off += rec) {
		assert_int_equal(mmf_append_buffer(f, off, buf, rec), 0);
		if (off + rec - synced >= DEEP_SYNC) {
			assert_int_equal(mmf_sync_range(f, synced, off + rec - synced), 0);
			synced = off + rec;
		}
	}
	return f;
}

/* Bytes dirtied per record: n records of rec bytes from `from`, each synced
 * with mmf_sync_range; REPLAY_APPEND reads the first `from` bytes through
 * the mapping first (crash recovery). */
static double dirtied_per_record(const char *path, unsigned flags, enum how how,
				 size_t from, size_t rec, size_t n)
{
	mmf_options o;
	mmf_file *f;
	unsigned char *buf = malloc(rec);
	long long d0;

	assert_non_null(buf);
	mmf_options_init(&o);
	o.flags |= flags;
	memset(buf, 0x5a, rec);
	/* root: compact memory so the kernel can hand out large folios */
	(void)!system("echo 1 > /proc/sys/vm/compact_memory 2>/dev/null");
	if (how == DEEP) {
		f = open_deep(path, &o, from, rec, buf);
	} else {
		write_segment(path, 1);
		assert_int_equal(mmf_open(path, O_RDWR, 0, &o, &f), 0);
	}
	if (how == REPLAY_APPEND) {
		const unsigned char *p;
		unsigned sum = 0;
		assert_int_equal(mmf_bytes(f, 0, from, (const void **)&p), 0);
		for (size_t i = 0; i < from; i += 512)
			sum += p[i];
		assert_true(sum != 0 || from == 0);
	}
	d0 = dirtied_bytes();
	for (size_t i = 0; i < n; i++) {
		size_t off = from + i * rec;
		if (how == REDIRTY) {
			off = (i * 2654435761u) % (SEG / 4096) * 4096;
			memcpy((unsigned char *)mmf_data(f) + off, buf, rec);
		} else {
			assert_int_equal(mmf_append_buffer(f, off, buf, rec), 0);
		}
		assert_int_equal(mmf_sync_range(f, off, rec), 0);
	}
	d0 = dirtied_bytes() - d0;
	assert_int_equal(mmf_close(f), 0);
	free(buf);
	return (double)d0 / (double)n;
}

/* The goal of issue 12: <= 2x the record rounded up to 4 KiB pages; n
 * records checked (the MMF_KEEP_FOLIOS run does RECS). */
static void check_small(const char *path, enum how how, size_t from, size_t rec, size_t n)
{
	double keep = dirtied_per_record(path, MMF_KEEP_FOLIOS, how, from, rec, RECS);
	double small = dirtied_per_record(path, 0, how, from, rec, n);
	double goal = 2.0 * (double)((rec + 4095) / 4096 * 4096);

	print_message("dirtied per %zu B record: %.0f B (keep: %.0f B)\n", rec, small, keep);
	assert_true(small <= goal);
	if (keep <= goal)
		skip();	/* the kernel gave no large folios: nothing was at stake */
}

static void test_small_reused_segment(void **state)
{
	check_small(FX->path, APPEND, 0, REC, RECS);
}

static void test_small_replayed_then_appended(void **state)
{
	check_small(FX->path, REPLAY_APPEND, SEG / 2, REC, RECS);
}

/* Raw stores into single pages of a synced file: only the open's drop of
 * the cache can help them. */
static void test_small_redirty_single_pages(void **state)
{
	check_small(FX->path, REDIRTY, 0, REC, RECS);
}

/* 4 MiB of 4 KiB records: far enough for readahead to ramp its folio
 * sizes up where nothing keeps the faults at 4 KiB. */
static void test_small_long_append(void **state)
{
	check_small(FX->path, APPEND, 0, 4096, 1024);
}

/* Space the library grew, 24 MiB into a new file: readahead of the
 * writer's faults made large folios there before (issue 12, "Still open"). */
static void test_small_deep_grown_space(void **state)
{
	check_small(FX->path, DEEP, 24u << 20, REC, RECS);
}

/* BULK STORES: 64 KiB slices by a writer that has not synced put
 * MADV_HUGEPAGE ("hg") on the mapping; the first small sync takes it off
 * ("nh"), and the records after it dirty 4 KiB pages, not 2 MiB folios. */
static void test_small_bulk_then_small_syncs(void **state)
{
	mmf_file *f;
	void *p;
	size_t off = 0, next;
	unsigned char rec[REC];
	long long d0;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
		skip();	/* a kernel without THP: MADV_HUGEPAGE is EINVAL */
	memset(rec, 0x33, sizeof(rec));
	(void)!system("echo 1 > /proc/sys/vm/compact_memory 2>/dev/null");
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, NULL, &f), 0);
	for (int i = 0; i < 40; i++, off = next) {
		assert_int_equal(mmf_allocate_slice(f, 65532, off, &p, &next), 0);
		memset(p, i + 1, 65532);
	}
	assert_true(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_sync_range(f, 0, off), 0);	/* 2.5 MiB: small */
	assert_false(has_vm_flag(mmf_data(f), "hg"));
	d0 = dirtied_bytes();
	for (unsigned i = 0; i < RECS; i++, off += REC) {
		assert_int_equal(mmf_append_buffer(f, off, rec, REC), 0);
		assert_int_equal(mmf_sync_range(f, off, REC), 0);
	}
	d0 = dirtied_bytes() - d0;
	print_message("dirtied per %u B record after bulk stores: %lld B\n", REC, d0 / RECS);
	assert_true(d0 / RECS <= 2 * 4096);
	for (size_t i = 0; i < 40; i++) {
		const unsigned char *b;
		assert_int_equal(mmf_bytes(f, i * 65536 + 4, 65532, (const void **)&b), 0);
		assert_int_equal(b[0], i + 1);
		assert_int_equal(b[65531], i + 1);
	}
	assert_int_equal(mmf_close(f), 0);
}

/* 4 MiB of small appends without a sync make a bulk writer too; in bulk
 * mode large records are stored through the mapping (a failing write(2) is
 * never met). */
static void test_small_bulk_after_4_mib_unsynced(void **state)
{
	unsigned char rec[8192];
	mmf_file *f;
	const void *p;
	size_t off = 0;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
		skip();	/* a kernel without THP: MADV_HUGEPAGE is EINVAL */
	memset(rec, 0x44, sizeof(rec));
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, NULL, &f), 0);
	for (; off < (4u << 20) - REC; off += REC)
		assert_int_equal(mmf_append_buffer(f, off, rec, REC), 0);
	assert_false(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_append_buffer(f, off, rec, REC), 0);
	off += REC;
	assert_true(has_vm_flag(mmf_data(f), "hg"));
	fail_on("mmf/os/pwrite", EIO);
	assert_int_equal(mmf_append_buffer(f, off, rec, sizeof(rec)), 0);
	fail_off("mmf/os/pwrite");
	assert_int_equal(mmf_bytes(f, off, sizeof(rec), &p), 0);
	assert_memory_equal(p, rec, sizeof(rec));
	assert_int_equal(mmf_close(f), 0);
}

/* BULK STORES: a failed MADV_NOHUGEPAGE at the first small sync leaves
 * bulk mode on, and the next small sync tries again (else the mapping kept
 * MADV_HUGEPAGE for good: 2 MiB folios in new space, each small sync
 * writing up to 2 MiB). */
static void test_small_bulk_leave_retried_after_failure(void **state)
{
	mmf_file *f;
	void *p;
	size_t off = 0, next;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
		skip();	/* a kernel without THP: MADV_HUGEPAGE is EINVAL */
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, NULL, &f), 0);
	for (int i = 0; i < 8; i++, off = next) {
		assert_int_equal(mmf_allocate_slice(f, 65532, off, &p, &next), 0);
		memset(p, i + 1, 65532);
	}
	assert_true(has_vm_flag(mmf_data(f), "hg"));
	fail_on("mmf/os/advise", EINVAL);
	assert_int_equal(mmf_sync_range(f, 0, off), 0);	/* small: advisory */
	fail_off("mmf/os/advise");
	assert_true(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_append_buffer(f, off, "rec", 3), 0);
	assert_int_equal(mmf_sync_range(f, off, 3), 0);
	assert_false(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_close(f), 0);
}

/* A WAL reopened at 8 MiB that appends and syncs one small record syncs
 * small amounts: a 64 KiB slice after that is no bulk store (appends are
 * counted from the open, not from offset 0). */
static void test_small_reopened_small_syncer_no_bulk(void **state)
{
	mmf_file *f;
	void *p;
	size_t next;

	write_segment(FX->path, 1);
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &f), 0);
	assert_int_equal(mmf_append_buffer(f, SEG, "rec", 3), 0);
	assert_int_equal(mmf_sync_range(f, SEG, 3), 0);
	assert_int_equal(mmf_allocate_slice(f, 65532, SEG + 3, &p, &next), 0);
	assert_false(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_close(f), 0);
}

/* A writer that syncs small amounts never gets bulk stores; nor does one
 * without MMF_RESERVE (whole folios would fill a sparse file). */
static void test_small_no_bulk_when_small_or_sparse(void **state)
{
	mmf_options o;
	mmf_file *f;
	void *p;
	size_t next;

	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, NULL, &f), 0);
	assert_int_equal(mmf_append_buffer(f, 0, "wal", 3), 0);
	assert_int_equal(mmf_sync_range(f, 0, 3), 0);
	assert_int_equal(mmf_allocate_slice(f, 1u << 20, 3, &p, &next), 0);
	assert_false(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_close(f), 0);
	mmf_options_init(&o);
	o.flags = 0;
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, &o, &f), 0);
	assert_int_equal(mmf_allocate_slice(f, 1u << 20, 0, &p, &next), 0);
	assert_false(has_vm_flag(mmf_data(f), "hg"));
	assert_int_equal(mmf_close(f), 0);
}

/* Dirty pages of [off, off + len) of fd, by cachestat(2) (Linux 6.5);
 * -1 where the kernel lacks it. */
static long long dirty_pages(int fd, size_t off, size_t len)
{
	struct { unsigned long long off, len; } range = { off, len };
	struct { unsigned long long cache, dirty, writeback, evicted, recent; } cs;

	if (syscall(451 /* __NR_cachestat */, fd, &range, &cs, 0) != 0)
		return -1;
	return (long long)cs.dirty;
}

/* LARGE SLICES: a slice of 64 KiB or more has its fresh pages written with
 * zeros before the caller stores (dirty at once, to the next 1 MiB
 * boundary), never the bytes an append wrote or the file had at open: a
 * slice over them hands them out as they were. */
static void test_small_large_slice_prefill(void **state)
{
	const size_t len = 100u << 10;
	unsigned char *pat = malloc(len);
	long long dirty;
	mmf_file *f;
	void *p;
	size_t next;

	assert_non_null(pat);
	for (size_t i = 0; i < len; i++)
		pat[i] = (unsigned char)(i * 13 + 5);
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, NULL, &f), 0);
	assert_int_equal(mmf_append_buffer(f, 0, pat, len), 0);
	assert_int_equal(mmf_allocate_slice(f, len - 4, 0, &p, &next), 0);
	assert_memory_equal(p, pat + 4, len - 4);	/* appended bytes kept */
	assert_int_equal(mmf_allocate_slice(f, len, 1u << 20, &p, &next), 0);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(((unsigned char *)p)[i], 0);
	dirty = dirty_pages(mmf_fd(f), (3u << 19), 1u << 19);
	print_message("dirty pages in [1.5, 2) MiB after a 100 KiB slice at 1 MiB: %lld\n",
		      dirty);
	if (dirty >= 0)
		assert_int_equal(dirty, 128);
	assert_int_equal(mmf_close(f), 0);

	write_segment(FX->path, 1);	/* a pattern the file has at open */
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &f), 0);
	assert_int_equal(mmf_allocate_slice(f, len, 4096, &p, &next), 0);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(((unsigned char *)p)[i], (unsigned char)((4100 + i) * 7 + 1));
	assert_int_equal(mmf_close(f), 0);
	free(pat);
}

/* LARGE SLICES write zeros only where nothing was ever written: not over
 * bytes stored through mmf_data() past the appends, nor another handle's
 * synced record, nor another descriptor's write (found by a break-it
 * review: all three were zeroed when the handle's own appends were the
 * only bytes it knew of). */
static void test_small_large_slice_spares_other_writers(void **state)
{
	mmf_file *a, *b;
	void *p;
	size_t next;
	const void *q;
	uint32_t n;
	char buf[6];
	int fd;

	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 4u << 20, NULL, &a), 0);
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &b), 0);
	memcpy((char *)mmf_data(a) + (512u << 10), "FOOTER", 6);
	assert_int_equal(mmf_allocate_slice(b, 100, 700u << 10, &p, &next), 0);
	memset(p, 'B', 100);
	assert_int_equal(mmf_sync(b), 0);
	fd = open(FX->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "OTHER", 5, (2u << 20) + (300u << 10)), 5);
	assert_int_equal(mmf_allocate_slice(a, 65532, 0, &p, &next), 0);
	assert_int_equal(mmf_allocate_slice(a, 200u << 10, 2u << 20, &p, &next), 0);
	assert_memory_equal((char *)mmf_data(a) + (512u << 10), "FOOTER", 6);
	assert_int_equal(mmf_slice(b, 700u << 10, &q, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(((const char *)q)[99], 'B');
	assert_int_equal(pread(fd, buf, 5, (2u << 20) + (300u << 10)), 5);
	assert_memory_equal(buf, "OTHER", 5);
	assert_int_equal(close(fd), 0);
	assert_int_equal(mmf_close(b), 0);
	assert_int_equal(mmf_close(a), 0);
}

/* SMALL CHUNKS: a writer of 4 KiB slices that syncs every 256 KiB gets its
 * grown space in 64 KiB folios from its second sync on: far fewer than a
 * fault per page (also past the clean folios readahead made ahead of its
 * first records' faults), and each sync writes at most 1.5x what it
 * dirtied. */
static void test_small_chunks_for_256k_syncer(void **state)
{
	const size_t rec = 4096, per_sync = 256u << 10, total = (1u << 20) + 2 * per_sync;
	struct rusage r0, r1;
	mmf_file *f;
	void *p;
	size_t off = 0, next;
	long long d0 = 0;
	double faults;

	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, NULL, &f), 0);
	for (; off < total; off = next) {
		if (off == 2 * per_sync) {	/* after two syncs */
			getrusage(RUSAGE_SELF, &r0);
			d0 = dirtied_bytes();
		}
		assert_int_equal(mmf_allocate_slice(f, rec - 4, off, &p, &next), 0);
		memset(p, 0x61, rec - 4);
		if (next % per_sync == 0)
			assert_int_equal(mmf_sync(f), 0);
	}
	getrusage(RUSAGE_SELF, &r1);
	d0 = dirtied_bytes() - d0;
	faults = (double)(r1.ru_minflt - r0.ru_minflt) / ((double)(total - 2 * per_sync) / (1u << 20));
	print_message("256 KiB syncer of 4 KiB slices: %.1f faults per MiB, dirtied %.2fx appended\n",
		      faults, (double)d0 / (double)(total - 2 * per_sync));
	assert_true(faults < 64);	/* 20-22 here; 142 without the drop, 256 without chunks */
	assert_true((double)d0 <= 1.5 * (double)(total - 2 * per_sync));
	assert_int_equal(mmf_close(f), 0);
}

/* LARGE SLICES then small syncs: a writer's 840 KiB slices (no sync) are
 * prefilled with zeros (the pages of each slice and ahead of it), then it
 * turns to 1 KiB records with a sync each. Those records must dirty 4 KiB
 * pages, not the large folios the zeros came in; for a handle with
 * MMF_RESERVE (bulk stores too) and one without (prefill alone). */
#define LARGE_REC (840u << 10)	/* 3 end at 2520 KiB: zeros to 3 MiB */

static void check_large_then_small(void **state, unsigned flags)
{
	mmf_options o;
	mmf_file *f;
	void *p;
	size_t off = 0, next;
	unsigned char rec[REC];
	long long d0;

	memset(rec, 0x5a, sizeof(rec));
	mmf_options_init(&o);
	o.flags = flags;
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, &o, &f), 0);
	for (int i = 0; i < 3; i++, off = next) {
		assert_int_equal(mmf_allocate_slice(f, LARGE_REC - 4, off, &p, &next), 0);
		memset(p, i + 1, LARGE_REC - 4);
	}
	assert_int_equal(mmf_sync_range(f, 0, off), 0);	/* 2520 KiB: small */
	d0 = dirtied_bytes();
	for (unsigned i = 0; i < RECS; i++, off += REC) {
		assert_int_equal(mmf_append_buffer(f, off, rec, REC), 0);
		assert_int_equal(mmf_sync_range(f, off, REC), 0);
	}
	d0 = dirtied_bytes() - d0;
	print_message("flags %#x: dirtied per %u B record after large slices: %lld B\n",
		      flags, REC, d0 / RECS);
	assert_true(d0 / RECS <= 2 * 4096);
	for (size_t i = 0; i < 3; i++) {
		const unsigned char *b;
		size_t at = i * (LARGE_REC);
		assert_int_equal(mmf_bytes(f, at + 4, LARGE_REC - 8, (const void **)&b), 0);
		assert_int_equal(b[0], i + 1);
		assert_int_equal(b[LARGE_REC - 9], i + 1);
	}
	assert_int_equal(mmf_close(f), 0);
}

static void test_small_large_slices_then_small_syncs(void **state)
{
	check_large_then_small(state, MMF_RESERVE);
	check_large_then_small(state, 0);
}

/* Dropping the cache at open never loses bytes: pages written with write(2)
 * and not yet synced are written back before they go. */
static void test_small_open_keeps_unsynced_bytes(void **state)
{
	mmf_file *f;
	const unsigned char *p;

	write_segment(FX->path, 0);
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &f), 0);
	assert_int_equal(mmf_bytes(f, 0, SEG, (const void **)&p), 0);
	for (size_t i = 0; i < SEG; i += 4093)
		assert_int_equal(p[i], (unsigned char)(i * 7 + 1));
	assert_int_equal(mmf_append_buffer(f, SEG - 3, "end", 3), 0);
	assert_int_equal(mmf_close(f), 0);
	assert_int_equal(file_size(FX->path), SEG);
}

/* Defect found by fault.soak: advice on a window split the mapping, and
 * mremap cannot grow a split mapping (EFAULT). Appends into old data, then
 * past the end, must grow. */
static void test_small_window_then_grow(void **state)
{
	mmf_file *f;
	const unsigned char *p;

	write_segment(FX->path, 1);
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, NULL, &f), 0);
	assert_int_equal(mmf_append_buffer(f, 4096, "window", 6), 0);
	assert_int_equal(mmf_append_buffer(f, SEG, "grown", 5), 0);
	assert_true(mmf_size(f) >= SEG + 5);
	assert_int_equal(mmf_bytes(f, 4096, 6, (const void **)&p), 0);
	assert_memory_equal(p, "window", 6);
	assert_int_equal(mmf_close(f), 0);
}

static void test_small_keep_folios_is_a_flag(void **state)
{
	mmf_options o;
	mmf_file *f;

	mmf_options_init(&o);
	o.flags |= MMF_KEEP_FOLIOS;
	assert_int_equal(mmf_open(FX->path, O_RDWR | O_CREAT, 4096, &o, &f), 0);
	assert_int_equal(mmf_close(f), 0);
	o.flags = MMF_KEEP_FOLIOS << 1;
	assert_int_equal(mmf_open(FX->path, O_RDWR, 0, &o, &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_small_reused_segment),
		FIXTURE_TEST(test_small_replayed_then_appended),
		FIXTURE_TEST(test_small_redirty_single_pages),
		FIXTURE_TEST(test_small_long_append),
		FIXTURE_TEST(test_small_deep_grown_space),
		FIXTURE_TEST(test_small_bulk_then_small_syncs),
		FIXTURE_TEST(test_small_bulk_after_4_mib_unsynced),
		FIXTURE_TEST(test_small_bulk_leave_retried_after_failure),
		FIXTURE_TEST(test_small_reopened_small_syncer_no_bulk),
		FIXTURE_TEST(test_small_no_bulk_when_small_or_sparse),
		FIXTURE_TEST(test_small_large_slice_prefill),
		FIXTURE_TEST(test_small_large_slice_spares_other_writers),
		FIXTURE_TEST(test_small_chunks_for_256k_syncer),
		FIXTURE_TEST(test_small_large_slices_then_small_syncs),
		FIXTURE_TEST(test_small_open_keeps_unsynced_bytes),
		FIXTURE_TEST(test_small_window_then_grow),
		FIXTURE_TEST(test_small_keep_folios_is_a_flag),
	};

	return cmocka_run_group_tests_name("small", tests, NULL, NULL);
}
