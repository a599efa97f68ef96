/*
 * bench_sync - what making writes durable costs, by the number of dirty pages.
 *
 * Question: latency (p50, p99, p999) of mmf_sync, mmf_sync_range (of just the
 * dirty range), msync(MS_SYNC) of the whole mapping, fdatasync, fsync, and
 * msync(MS_ASYNC), when 1, 16, 256 or 4096 pages are dirty.
 *
 * One 64 MiB file, mapped read-write with mmf_open and written out once at
 * startup. One repetition = the file synced clean before the loop, then a
 * fixed number of iterations, each: dirty `dirty` consecutive pages through
 * the mapping (one 8-byte store per page, at a position that moves on every
 * iteration), then the sync call, timed alone with CLOCK_MONOTONIC. The
 * per-call latencies are the p50_ns/p99_ns/p999_ns counters; the iteration
 * time includes the stores (and the write faults they take after a sync has
 * write-protected the pages again).
 *
 * MS_ASYNC has been a no-op on Linux since 2.6.19: it shows the floor, and
 * its pages are written back by the flusher later (and by the clean sync
 * before the next repetition).
 */
#include "bench_fixture.h"

#include <memory>
#include <random>

namespace {

using namespace mmfb;

constexpr size_t kFileSize = 64 * MiB;

enum class Call { mmf_sync, mmf_sync_range, msync, msync_async, fdatasync, fsync };

const char *call_name(Call c)
{
	switch (c) {
	case Call::mmf_sync: return "mmf_sync";
	case Call::mmf_sync_range: return "mmf_sync_range";
	case Call::msync: return "msync";
	case Call::msync_async: return "msync_async";
	case Call::fdatasync: return "fdatasync";
	case Call::fsync: return "fsync";
	}
	return "?";
}

/* Compact memory when allowed (root); true when it was done. */
bool compact_memory()
{
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, "1", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The shared file (keep: opened with MMF_KEEP_FOLIOS, its own file): made
 * once with write(2), so its page cache starts in large folios; deleted at
 * exit. */
struct SyncFile {
	explicit SyncFile(bool keep) : path(keep ? "sync-keep.dat" : "sync.dat")
	{
		mmf_options o;
		mmf_options_init(&o);
		if (keep)
			o.flags |= MMF_KEEP_FOLIOS;
		(void)compact_memory();	/* so write(2) can get large folios */
		err = write_file(path.c_str(), kFileSize, 7, nullptr);
		if (err == 0)
			err = mmf_open(path.c_str(), O_RDWR, 0, &o, &f);
	}
	~SyncFile() { mmf_close(f); }
	TempPath path;
	mmf_file *f = nullptr;
	int err = 0;
};

SyncFile &sync_file(bool keep)
{
	static std::unique_ptr<SyncFile> s(new SyncFile(false)), k(new SyncFile(true));
	return keep ? *k : *s;
}

int do_sync(Call c, mmf_file *f, size_t off, size_t len)
{
	void *base = mmf_data(f);

	switch (c) {
	case Call::mmf_sync: return mmf_sync(f);
	case Call::mmf_sync_range: return mmf_sync_range(f, off, len);
	case Call::msync: return msync(base, mmf_size(f), MS_SYNC) < 0 ? -errno : 0;
	case Call::msync_async: return msync(base, mmf_size(f), MS_ASYNC) < 0 ? -errno : 0;
	case Call::fdatasync: return fdatasync(mmf_fd(f)) < 0 ? -errno : 0;
	case Call::fsync: return fsync(mmf_fd(f)) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/* Iterations of one repetition: about a third of a second here. */
size_t iterations_of(size_t dirty)
{
	return dirty <= 1 ? 200 : dirty <= 16 ? 100 : dirty <= 256 ? 40 : 8;
}

void bm_sync(benchmark::State &st, Call c, size_t dirty, bool keep)
{
	SyncFile &sf = sync_file(keep);
	if (sf.err) {
		st.SkipWithError(errstr("creating the file", sf.err).c_str());
		return;
	}
	mmf_file *f = sf.f;
	unsigned char *base = static_cast<unsigned char *>(mmf_data(f));
	const size_t span = dirty * kPage, slots = kFileSize / span;
	int rc = mmf_sync(f);	/* start clean, whatever ran before */
	if (rc != 0) {
		st.SkipWithError(errstr("mmf_sync", rc).c_str());
		return;
	}
	std::vector<uint64_t> lat;
	lat.reserve(size_t(st.max_iterations));
	uint64_t stamp = 0;
	size_t slot = 0;
	DevIO d0 = devio_now();
	Faults f0 = Faults::now();
	for (auto _ : st) {
		size_t off = (slot++ % slots) * span;
		for (size_t p = 0; p < dirty; p++) {
			++stamp;
			std::memcpy(base + off + p * kPage, &stamp, sizeof(stamp));
		}
		uint64_t t0 = now_ns();
		rc = do_sync(c, f, off, span);
		lat.push_back(now_ns() - t0);
		if (rc != 0) {
			st.SkipWithError(errstr(call_name(c), rc).c_str());
			break;
		}
	}
	device_counters(st, d0, double(st.iterations()) * double(span), 0);
	fault_counters(st, f0);
	latency_counters(st, lat);
	st.counters["dirty_pages"] = double(dirty);
	st.SetItemsProcessed(int64_t(st.iterations()));
	st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(span));
	if (c == Call::msync_async)
		(void)mmf_sync(f);	/* leave no dirty pages to the next row */
}

/*
 * Record scenarios (issue 12 section 2): per-record syncs of `rec` bytes,
 * each record appended (mmf_append_buffer) then made durable with
 * mmf_sync_range of just that record, into
 *   fresh:        a new file sized 1 MiB by the library;
 *   reused_write: a 16 MiB segment written with write(2) in 1 MiB chunks
 *                 and fdatasync'ed (the page cache holds its large folios),
 *                 reopened through the library and overwritten from 0;
 *   reused_pread: the same segment dropped from the cache, read back with
 *                 pread in 1 MiB chunks (readahead's large folios), reopened,
 *                 overwritten from 0;
 *   replayed:     a WAL of 8 MiB of records in a 16 MiB segment, opened
 *                 writable, replayed (checksummed through the mapping from
 *                 0 to the end of the records, as crash recovery does), then
 *                 appended after its last record;
 *   redirty:      a 16 MiB file, fully synced through the handle, then one
 *                 record stored at the start of a random page and that page
 *                 synced, each iteration;
 *   deep:         a new file sized 1 MiB by the library, first 24 MiB of
 *                 records appended with a sync per 256 KiB (not timed:
 *                 this takes the writer past readahead's first windows,
 *                 where new space came in large folios before the fix),
 *                 then appended after its last record.
 * folios:small is the default (SMALL WRITES in mmapfile.h); folios:keep opens
 * with MMF_KEEP_FOLIOS (the library before the fix), interleaved in the same
 * run. Before each repetition memory is compacted when the process may
 * (root: /proc/sys/vm/compact_memory), so the kernel can hand out large
 * folios, and the filesystem is synced (syncfs) before the window opens.
 */
enum class Scenario { fresh, reused_write, reused_pread, replayed, redirty, deep };

const char *scenario_name(Scenario s)
{
	switch (s) {
	case Scenario::fresh: return "fresh";
	case Scenario::reused_write: return "reused_write";
	case Scenario::reused_pread: return "reused_pread";
	case Scenario::replayed: return "replayed";
	case Scenario::redirty: return "redirty";
	case Scenario::deep: return "deep";
	}
	return "?";
}

constexpr size_t kSegment = 16 * MiB, kReplayed = 8 * MiB, kRecords = 128;
constexpr size_t kDeep = 24 * MiB, kDeepSync = 256 * KiB;

/* The deep scenario's writer: rec-byte records from 0 to kDeep, a sync
 * per kDeepSync bytes. 0 or -errno. */
int append_deep(mmf_file *f, size_t rec)
{
	std::vector<unsigned char> buf(rec);
	size_t off = 0, synced = 0;
	int rc = 0;

	fill_pattern(buf.data(), rec, 3);
	for (; rc == 0 && off < kDeep; off += rec) {
		rc = mmf_append_buffer(f, off, buf.data(), rec);
		if (rc == 0 && off + rec - synced >= kDeepSync) {
			rc = mmf_sync_range(f, synced, off + rec - synced);
			synced = off + rec;
		}
	}
	return rc;
}

/* Read path from 0 with pread in 1 MiB chunks. 0 or -errno. */
int pread_all(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	std::vector<unsigned char> buf(MiB);

	if (fd < 0)
		return -errno;
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
		rc = -EIO;
	for (size_t off = 0; rc == 0 && off < kSegment; off += MiB)
		if (pread(fd, buf.data(), MiB, off_t(off)) != ssize_t(MiB))
			rc = errno ? -errno : -EIO;
	close(fd);
	return rc;
}

/* Make the scenario's file for rec-byte records and open it; *start = the
 * first record's offset. */
int scenario_open(Scenario s, size_t rec, bool keep, const char *path, mmf_file **f,
		  size_t *start)
{
	mmf_options o;
	int rc = 0;

	mmf_options_init(&o);
	if (keep)
		o.flags |= MMF_KEEP_FOLIOS;
	*start = s == Scenario::replayed ? kReplayed : 0;
	if (s == Scenario::fresh)
		return mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, MiB, &o, f);
	if (s == Scenario::deep) {
		*start = kDeep / rec * rec;
		rc = mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, MiB, &o, f);
		return rc == 0 ? append_deep(*f, rec) : rc;
	}
	rc = write_file(path, kSegment, 11, nullptr);
	if (rc == 0 && s == Scenario::reused_pread)
		rc = pread_all(path);
	if (rc == 0)
		rc = mmf_open(path, O_RDWR, 0, &o, f);
	if (rc == 0 && s == Scenario::replayed) {
		const void *p;
		rc = mmf_bytes(*f, 0, kReplayed, &p);
		if (rc == 0)
			benchmark::DoNotOptimize(checksum(p, kReplayed));
	}
	if (rc == 0 && s == Scenario::redirty)
		rc = mmf_sync(*f);
	return rc;
}

/*
 * Folios of [base, base + len) as the kernel holds them (needs root:
 * /proc/self/pagemap's PFNs and /proc/kpageflags; bit 15 compound head, 16
 * compound tail). *large_pct = % of resident pages in large folios,
 * *max_kib = the largest folio met. false when unreadable.
 */
bool folio_sizes(const void *base, size_t len, double *large_pct, double *max_kib)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	size_t resident = 0, large = 0, maxp = 0;
	bool ok = pm >= 0 && kf >= 0;
	auto flags = [kf](uint64_t pfn) {
		uint64_t v = 0;
		return pread(kf, &v, 8, off_t(pfn * 8)) == 8 ? v : 0;
	};

	for (size_t i = 0; ok && i < len / kPage; i++) {
		uint64_t e = 0, vpn = (uintptr_t(base) / kPage) + i;
		if (pread(pm, &e, 8, off_t(vpn * 8)) != 8) {
			ok = false;
			break;
		}
		uint64_t pfn = e & ((uint64_t(1) << 55) - 1);
		if (!(e >> 63 & 1) || pfn == 0)
			continue;	/* not mapped here, or PFN hidden */
		resident++;
		uint64_t fl = flags(pfn);
		if (fl & (3u << 15))
			large++;
		if (fl & (1u << 15)) {
			size_t n = 1;
			while (n < 512 && (flags(pfn + n) & (1u << 16)))
				n++;
			maxp = std::max(maxp, n);
		} else if (!(fl & (1u << 16))) {
			maxp = std::max<size_t>(maxp, 1);
		}
	}
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	if (!ok || resident == 0)
		return false;
	*large_pct = 100.0 * double(large) / double(resident);
	*max_kib = double(maxp) * 4;
	return true;
}

void bm_scenario(benchmark::State &st, Scenario s, size_t rec, bool keep)
{
	TempPath path("scenario.dat");
	mmf_file *f = nullptr;
	size_t off, first;
	bool compacted = compact_memory();
	int rc = scenario_open(s, rec, keep, path.c_str(), &f, &off);
	if (rc != 0) {
		st.SkipWithError(errstr("making the scenario's file", rc).c_str());
		if (f)
			mmf_delete(f);
		return;
	}
	first = off;
	std::vector<unsigned char> buf(rec);
	fill_pattern(buf.data(), rec, rec);
	std::vector<uint64_t> lat;
	lat.reserve(kRecords);
	std::mt19937_64 rng(rec);
	settle_scratch();
	DevIO d0 = devio_now();
	Faults f0 = Faults::now();
	for (auto _ : st) {
		if (s == Scenario::redirty)
			off = (rng() % (kSegment / kPage)) * kPage;
		rc = mmf_append_buffer(f, off, buf.data(), rec);
		uint64_t t0 = now_ns();
		if (rc == 0)
			rc = mmf_sync_range(f, off, rec);
		lat.push_back(now_ns() - t0);
		if (rc != 0) {
			st.SkipWithError(errstr("append + mmf_sync_range", rc).c_str());
			break;
		}
		off += rec;
	}
	const double n = double(st.iterations());
	device_counters(st, d0, n * double(rec), 0);
	fault_counters(st, f0);
	latency_counters(st, lat);
	for (const char *k : {"p50_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns", "samples"}) {
		st.counters[std::string("sync_") + k] = st.counters[k];
		st.counters.erase(k);
	}
	const double pages = double((rec + kPage - 1) / kPage * kPage);
	st.counters["dev_write_bytes_per_sync"] = st.counters["dev_write_bytes"] / n;
	st.counters["dirtied_bytes_per_sync"] = st.counters["proc_dirtied_bytes"] / n;
	st.counters["own_write_bytes_per_sync"] = st.counters["own_write_bytes"] / n;
	st.counters["goal_ratio"] = st.counters["own_write_bytes"] < 0
					    ? st.counters["dev_write_bytes"] / n / pages
					    : st.counters["own_write_bytes"] / n / pages;
	st.counters["dirty_goal_ratio"] = st.counters["proc_dirtied_bytes"] / n / pages;
	double pct = -1, kib = -1;
	size_t lo = s == Scenario::redirty ? 0 : first - first % kPage;
	size_t hi = s == Scenario::redirty ? kSegment : std::min(mmf_size(f), off + kPage - 1);
	if (folio_sizes(static_cast<unsigned char *>(mmf_data(f)) + lo, (hi - lo) / kPage * kPage,
			&pct, &kib)) {
		st.counters["folio_large_pct"] = pct;
		st.counters["folio_max_kib"] = kib;
	}
	st.counters["compacted"] = compacted ? 1 : 0;
	st.counters["rec"] = double(rec);
	st.SetItemsProcessed(int64_t(n));
	st.SetBytesProcessed(int64_t(n) * int64_t(rec));
	rc = mmf_delete(f);
	if (rc != 0)
		st.SkipWithError(errstr("mmf_delete", rc).c_str());
}

void register_scenarios()
{
	const Scenario all[] = {Scenario::fresh,      Scenario::reused_write, Scenario::reused_pread,
				Scenario::replayed,   Scenario::redirty,      Scenario::deep};
	std::vector<size_t> recs = {1024};
	if (full())
		recs = {64, 1024, 4096};
	for (size_t rec : recs)
		for (Scenario s : all)
			for (bool keep : {false, true})
				add(name("BM_Sync", {{"scenario", scenario_name(s)},
						     {"rec", num(rec)},
						     {"folios", keep ? "keep" : "small"}}),
				    [s, rec, keep](benchmark::State &st) {
					    bm_scenario(st, s, rec, keep);
				    })
					->Iterations(int64_t(kRecords));
}

void register_sync()
{
	const Call calls[] = {Call::mmf_sync, Call::mmf_sync_range, Call::msync,
			      Call::msync_async, Call::fdatasync, Call::fsync};

	for (size_t dirty : {1, 16, 256, 4096}) {
		for (Call c : calls)
			add(name("BM_Sync", {{"call", call_name(c)}, {"dirty", num(dirty)}}),
			    [c, dirty](benchmark::State &st) { bm_sync(st, c, dirty, false); })
				->Iterations(int64_t(iterations_of(dirty)));
		/* the same file and call before the fix (MMF_KEEP_FOLIOS) */
		add(name("BM_Sync", {{"call", "mmf_sync_range"},
				     {"dirty", num(dirty)},
				     {"folios", "keep"}}),
		    [dirty](benchmark::State &st) {
			    bm_sync(st, Call::mmf_sync_range, dirty, true);
		    })
			->Iterations(int64_t(iterations_of(dirty)));
	}
	register_scenarios();
}

} /* namespace */

MMF_BENCH_MAIN(register_sync)
