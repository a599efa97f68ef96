/*
 * bench_write - appending records.
 *
 * Question: what does appending a record cost through the library
 * (mmf_allocate_slice + memcpy of the payload, or mmf_append_buffer), under
 * the default options and under the seed's (seed_compat), against write(2)
 * and pwrite(2) into a growing file, and against the physical limit -- memcpy
 * into a mapping already populated to the final size -- with a sync every N
 * records (N = 1, 64, never)?
 *
 * One repetition = one fresh file (made before the loop, deleted after it),
 * exactly `records` iterations, one record appended per iteration, after
 * an untimed pass of the same appends into a file deleted at once
 * (warm_up: the timed pass reuses the memory it freed). The mmf
 * files start at 1 MiB and grow by their policy; the write(2)/pwrite(2) files
 * start empty. A sync is mmf_sync for the library, fdatasync for
 * write/pwrite, msync(MS_SYNC) of the whole mapping for memcpy_limit.
 */
#include "bench_fixture.h"

namespace {

using namespace mmfb;

enum class Api { allocate_slice, append_buffer, write, pwrite, memcpy_limit };

const char *api_name(Api a)
{
	switch (a) {
	case Api::allocate_slice: return "allocate_slice";
	case Api::append_buffer: return "append_buffer";
	case Api::write: return "write";
	case Api::pwrite: return "pwrite";
	case Api::memcpy_limit: return "memcpy_limit";
	}
	return "?";
}

bool is_lib(Api a) { return a == Api::allocate_slice || a == Api::append_buffer; }

struct WriteCase {
	Api api;
	bool seed;		/* mmf_options_seed instead of the defaults */
	bool keep = false;	/* + MMF_KEEP_FOLIOS (the library before small writes) */
	size_t sync_every;	/* 0: never */
	size_t rec;
};

/* Records of one repetition (the iterations:N of the name): bounded by time
 * for the syncing rows and by 16 MiB of data for the others. */
size_t records_of(const WriteCase &c)
{
	size_t by_bytes = std::max<size_t>(16 * MiB / c.rec, 64);

	/* The seed grows append_buffer to the exact end, with an msync before
	 * each grow: every record costs a sync (~0.4 ms here). */
	if (c.api == Api::append_buffer && c.seed)
		return 512;
	if (c.rec >= 256 * KiB)	/* 64 MiB, 128 MiB with syncs: two of them */
		return c.sync_every ? 2 * c.sync_every : 64;
	if (c.sync_every == 1)
		return 256;
	if (c.sync_every > 1)
		return std::min(64 * c.sync_every, std::max(by_bytes, 4 * c.sync_every));
	return std::min<size_t>(by_bytes, 262144);
}

/* The file of one repetition: an mmf handle (library rows, memcpy_limit) or a
 * plain fd (write, pwrite). Deleted when it goes. */
struct Target {
	Target(const WriteCase &c, size_t records) : path("write.dat")
	{
		mmf_options o;
		size_t final_size = records * c.rec;

		if (c.api == Api::write || c.api == Api::pwrite) {
			fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
			err = fd < 0 ? -errno : 0;
			return;
		}
		if (c.seed)
			mmf_options_seed(&o);
		else
			mmf_options_init(&o);
		if (c.keep)
			o.flags |= MMF_KEEP_FOLIOS;
		if (c.api == Api::memcpy_limit)
			o.flags |= MMF_POPULATE;	/* prefault the final size */
		err = mmf_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC,
			       c.api == Api::memcpy_limit ? final_size : MiB, &o, &f);
		if (err == 0 && c.api == Api::memcpy_limit)
			benchmark::DoNotOptimize(prefault(mmf_data(f), mmf_size(f)));
	}
	~Target()
	{
		if (f)
			mmf_delete(f);	/* mmf_close would msync the dirty pages */
		if (fd >= 0)
			close(fd);
	}
	TempPath path;
	mmf_file *f = nullptr;
	int fd = -1;
	int err = 0;
};

/* Append record i (payload buf) at *off; 0 or an error. */
int append_one(const WriteCase &c, Target &t, const unsigned char *buf, size_t *off)
{
	void *p;
	size_t next;
	int rc;

	switch (c.api) {
	case Api::allocate_slice:
		rc = mmf_allocate_slice(t.f, c.rec - 4, *off, &p, &next);
		if (rc == 0) {
			std::memcpy(p, buf, c.rec - 4);
			*off = next;
		}
		return rc;
	case Api::append_buffer:
		rc = mmf_append_buffer(t.f, *off, buf, c.rec);
		*off += c.rec;
		return rc;
	case Api::write:
		rc = write(t.fd, buf, c.rec) == ssize_t(c.rec) ? 0 : -EIO;
		*off += c.rec;
		return rc;
	case Api::pwrite:
		rc = pwrite(t.fd, buf, c.rec, off_t(*off)) == ssize_t(c.rec) ? 0 : -EIO;
		*off += c.rec;
		return rc;
	case Api::memcpy_limit:
		std::memcpy(static_cast<unsigned char *>(mmf_data(t.f)) + *off, buf, c.rec);
		*off += c.rec;
		return 0;
	}
	return -EINVAL;
}

int sync_one(const WriteCase &c, Target &t)
{
	if (is_lib(c.api))
		return mmf_sync(t.f);
	if (c.api == Api::memcpy_limit)
		return msync(mmf_data(t.f), mmf_size(t.f), MS_SYNC) < 0 ? -errno : 0;
	return fdatasync(t.fd) < 0 ? -errno : 0;
}

void bm_write(benchmark::State &st, WriteCase c)
{
	const size_t records = records_of(c);
	std::vector<unsigned char> buf(c.rec);
	fill_pattern(buf.data(), buf.size(), c.rec);
	const double warm_ns = warm_up([&] {	/* the same appends, no syncs */
		Target w(c, records);
		size_t at = 0;
		for (size_t i = 0; i < records && w.err == 0; i++)
			if (append_one(c, w, buf.data(), &at) != 0)
				break;
	});
	Target t(c, records);
	if (t.err) {
		st.SkipWithError(errstr("opening the file", t.err).c_str());
		return;
	}
	std::vector<uint64_t> sync_lat;
	sync_lat.reserve(c.sync_every ? records / c.sync_every + 1 : 0);
	size_t off = 0, i = 0;
	settle_scratch();
	st.counters["warm_ns"] = warm_ns;
	DevIO d0 = devio_now();
	Faults f0 = Faults::now();
	for (auto _ : st) {
		int rc = append_one(c, t, buf.data(), &off);
		if (rc == 0 && c.sync_every && ++i % c.sync_every == 0) {
			uint64_t t0 = now_ns();
			rc = sync_one(c, t);
			sync_lat.push_back(now_ns() - t0);
		}
		if (rc != 0) {
			st.SkipWithError(errstr(api_name(c.api), rc).c_str());
			break;
		}
	}
	device_counters(st, d0, double(off), 0);
	fault_counters(st, f0);
	if (t.f) {
		mmf_stats s;
		mmf_stats_get(t.f, &s);
		stats_counters(st, s);
		st.counters["overalloc_bytes"] = double(mmf_size(t.f)) - double(off);
	}
	latency_counters(st, sync_lat);
	for (const char *k : {"p50_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns", "samples"}) {
		st.counters[std::string("sync_") + k] = st.counters[k];
		st.counters.erase(k);
	}
	st.counters["records"] = double(records);
	st.counters["rec"] = double(c.rec);
	st.counters["faults_per_mib"] = (st.counters["minflt"] + st.counters["majflt"]) /
					(double(off) / double(MiB));
	st.SetItemsProcessed(int64_t(st.iterations()));
	st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(c.rec));
}

void add_case(const WriteCase &c)
{
	std::string opts = !is_lib(c.api) ? "none"
			   : c.seed   ? "seed_compat"
			   : c.keep   ? "keep_folios"
				      : "default";
	add(name("BM_Write", {{"api", api_name(c.api)},
			      {"opts", opts},
			      {"sync", c.sync_every ? num(c.sync_every) : "never"},
			      {"rec", num(c.rec)}}),
	    [c](benchmark::State &st) { bm_write(st, c); })
		->Iterations(int64_t(records_of(c)));
}

/*
 * Calibration (issue 12 section 4): what one 4 KiB page costs on this
 * machine, per way of making it. One repetition = a fresh 16 MiB file
 * (4096 pages), mapped; the op is timed alone and ns_per_page is its time
 * per page:
 *   fault_ftruncate  first write fault (one 8-byte store per page) after
 *                    ftruncate (holes)
 *   fault_fallocate  the same after posix_fallocate (unwritten extents)
 *   populate_write   MADV_POPULATE_WRITE of the fallocated file
 *   store_populated  memcpy of 4 KiB into each page populated just before
 *   populate_read    MADV_POPULATE_READ of the fallocated file (clean pages)
 *   fault_after_read the first write (write-protect) fault of a page
 *                    populated for read
 *   write_4k         write(2) of 4 KiB at the end of an empty file
 * The summary turns faults_per_mib of the BM_Write rows into time in faults
 * with fault_fallocate (the library's default reserves with fallocate).
 */
enum class Calib { fault_ftruncate, fault_fallocate, populate_write, store_populated,
		   populate_read, fault_after_read, write_4k };

const char *calib_name(Calib c)
{
	switch (c) {
	case Calib::fault_ftruncate: return "fault_ftruncate";
	case Calib::fault_fallocate: return "fault_fallocate";
	case Calib::populate_write: return "populate_write";
	case Calib::store_populated: return "store_populated";
	case Calib::populate_read: return "populate_read";
	case Calib::fault_after_read: return "fault_after_read";
	case Calib::write_4k: return "write_4k";
	}
	return "?";
}

/* The timed op of one repetition; ns of it, or 0 with *err set. */
uint64_t calib_once(Calib c, const char *path, int *err)
{
	const size_t size = 16 * MiB, pages = size / kPage;
	std::vector<unsigned char> page(kPage);
	fill_pattern(page.data(), kPage, 3);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t t0 = 0, ns = 0;
	unsigned char *m = nullptr;

	*err = fd < 0 ? -errno : 0;
	if (*err == 0 && c == Calib::write_4k) {
		t0 = now_ns();
		for (size_t i = 0; i < pages && *err == 0; i++)
			if (write(fd, page.data(), kPage) != ssize_t(kPage))
				*err = -EIO;
		ns = now_ns() - t0;
	} else if (*err == 0) {
		int rc = c == Calib::fault_ftruncate ? ftruncate(fd, off_t(size))
						      : posix_fallocate(fd, 0, off_t(size));
		*err = rc < 0 ? -errno : -rc;
		void *p = *err ? MAP_FAILED
			       : mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*err == 0 && p == MAP_FAILED)
			*err = -errno;
		m = p == MAP_FAILED ? nullptr : static_cast<unsigned char *>(p);
	}
	if (m && (c == Calib::store_populated || c == Calib::fault_after_read))
		*err = madvise(m, size, c == Calib::store_populated ? MADV_POPULATE_WRITE
								    : MADV_POPULATE_READ)
			       ? -errno : 0;
	if (m && *err == 0) {
		t0 = now_ns();
		switch (c) {
		case Calib::fault_ftruncate:
		case Calib::fault_fallocate:
		case Calib::fault_after_read:
			for (size_t i = 0; i < pages; i++)
				std::memcpy(m + i * kPage, &t0, sizeof(t0));
			break;
		case Calib::populate_write:
		case Calib::populate_read:
			if (madvise(m, size, c == Calib::populate_write ? MADV_POPULATE_WRITE
									: MADV_POPULATE_READ))
				*err = -errno;
			break;
		case Calib::store_populated:
			for (size_t i = 0; i < pages; i++)
				std::memcpy(m + i * kPage, page.data(), kPage);
			break;
		case Calib::write_4k:
			break;
		}
		ns = now_ns() - t0;
		benchmark::DoNotOptimize(m[0]);
	}
	if (m)
		munmap(m, size);
	if (fd >= 0)
		close(fd);
	unlink(path);
	return ns;
}

void bm_calib(benchmark::State &st, Calib c)
{
	TempPath path("calib.dat");
	std::vector<double> per;
	int err = 0;

	for (auto _ : st) {
		uint64_t ns = calib_once(c, path.c_str(), &err);
		if (err) {
			st.SkipWithError(errstr(calib_name(c), err).c_str());
			return;
		}
		per.push_back(double(ns) / double(16 * MiB / kPage));
	}
	std::sort(per.begin(), per.end());
	st.counters["ns_per_page"] = per.empty() ? 0 : per[per.size() / 2];
	st.counters["pages"] = double(16 * MiB / kPage);
}

void register_write()
{
	std::vector<size_t> recs = {64, 4096};
	if (full())
		recs = {64, 512, 4096, 65536};
	const size_t syncs[] = {1, 64, 0};
	const Api raw[] = {Api::write, Api::pwrite, Api::memcpy_limit};

	for (Calib c : {Calib::fault_ftruncate, Calib::fault_fallocate, Calib::populate_write,
			Calib::store_populated, Calib::populate_read, Calib::fault_after_read,
			Calib::write_4k})
		add(name("BM_Calib", {{"op", calib_name(c)}}),
		    [c](benchmark::State &st) { bm_calib(st, c); })
			->Iterations(3);
	/* issue 17: every record size against write(2); the quick profile
	 * carries 64 KiB, the full one 1 MiB too (the rest of 64 KiB's rows
	 * are in the loop below) */
	std::vector<size_t> more = {65536};
	if (full())
		more = {1048576};
	for (size_t rec : more)
		for (size_t n : {size_t(64), size_t(0)}) {
			add_case({Api::allocate_slice, false, false, n, rec});
			add_case({Api::append_buffer, false, false, n, rec});
			add_case({Api::append_buffer, false, true, n, rec});
			add_case({Api::write, false, false, n, rec});
		}

	for (size_t rec : recs)
		for (size_t n : syncs) {
			for (Api a : {Api::allocate_slice, Api::append_buffer})
				for (bool seed : {false, true})
					add_case({a, seed, false, n, rec});
			add_case({Api::append_buffer, false, true, n, rec});
			for (Api a : raw)
				add_case({a, false, false, n, rec});
		}
}

} /* namespace */

MMF_BENCH_MAIN(register_write)
