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

/* The shared file: made once, deleted at exit. */
struct SyncFile {
	SyncFile() : path("sync.dat")
	{
		err = write_file(path.c_str(), kFileSize, 7, nullptr);
		if (err == 0)
			err = mmf_open(path.c_str(), O_RDWR, 0, nullptr, &f);
	}
	~SyncFile() { mmf_close(f); }
	TempPath path;
	mmf_file *f = nullptr;
	int err = 0;
};

SyncFile &sync_file()
{
	static std::unique_ptr<SyncFile> s(new SyncFile);
	return *s;
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

void bm_sync(benchmark::State &st, Call c, size_t dirty)
{
	SyncFile &sf = sync_file();
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

void register_sync()
{
	const Call calls[] = {Call::mmf_sync, Call::mmf_sync_range, Call::msync,
			      Call::msync_async, Call::fdatasync, Call::fsync};

	for (size_t dirty : {1, 16, 256, 4096})
		for (Call c : calls)
			add(name("BM_Sync", {{"call", call_name(c)}, {"dirty", num(dirty)}}),
			    [c, dirty](benchmark::State &st) { bm_sync(st, c, dirty); })
				->Iterations(int64_t(iterations_of(dirty)));
}

} /* namespace */

MMF_BENCH_MAIN(register_sync)
