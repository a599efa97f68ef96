/*
 * bench_read - mmap against the copy paths.
 *
 * Question: how much faster (or slower) is reading records through the
 * mapping (mmf_bytes / mmf_slice, zero-copy; or mmap + memcpy) than copying
 * them out with pread(2) or read(2), by record size, access order and cache
 * state, and does MADV_RANDOM change it?
 *
 * One file per record size R (64 MiB of records: a 4-byte big-endian length
 * R - 4, then R - 4 payload bytes, so mmf_slice can walk it). One iteration
 * is one PASS of `records` reads (the counter): seq, 16 MiB of consecutive
 * records; rand, min(1024, 16 MiB / R) records (at least 16) at uniformly
 * random record offsets. Successive passes move on (seq: the next 16 MiB,
 * wrapping at the end of the file; rand: the next slice of a list of 65536
 * random records), so a warm run's working set is the whole 64 MiB file, not
 * one pass that would sit in the CPU's cache. Every record's bytes go
 * through checksum().
 *
 * warm: every page was touched before the loop (page cache and page tables
 *       warm); Google Benchmark picks the number of passes.
 * cold: before the loop the mapping's PTEs are dropped, the file fdatasync'd
 *       and POSIX_FADV_DONTNEED'd, and mincore must find < 5 % resident;
 *       exactly one pass per repetition, so every repetition starts cold.
 *
 * Cold random passes also run what Crotty, Leis & Pavlo (CIDR 2022) tell a
 * user to pick instead of mmap (issue 12 section 5, bench_direct.h):
 * pread_direct (pread(2) with O_DIRECT) and io_uring_direct (io_uring with
 * O_DIRECT, qd 1 and 32 reads in flight), with per-read latency.
 * Every row also counts TLB shootdowns and PSI memory/io pressure
 * (pressure_counters).
 */
#include "bench_direct.h"

#include <map>
#include <memory>
#include <random>

namespace {

using namespace mmfb;

constexpr size_t kFileSize = 64 * MiB;
constexpr size_t kRandomList = 65536;	/* a multiple of every rand pass */

enum class Api { bytes, slice, mmap_memcpy, pread, read, pread_direct, io_uring_direct };

const char *api_name(Api a)
{
	switch (a) {
	case Api::bytes: return "bytes";
	case Api::slice: return "slice";
	case Api::mmap_memcpy: return "mmap_memcpy";
	case Api::pread: return "pread";
	case Api::read: return "read";
	case Api::pread_direct: return "pread_direct";
	case Api::io_uring_direct: return "io_uring_direct";
	}
	return "?";
}

bool is_mmap(Api a) { return a == Api::bytes || a == Api::slice || a == Api::mmap_memcpy; }
bool is_direct(Api a) { return a == Api::pread_direct || a == Api::io_uring_direct; }

/* The file of one record size, opened read-only, and its two passes. */
struct ReadFile {
	explicit ReadFile(size_t rec) : path("read-" + num(rec) + ".dat"), rec(rec)
	{
		err = write_file(path.c_str(), kFileSize, rec, [rec](unsigned char *c, size_t n) {
			uint32_t len = uint32_t(rec - 4);
			for (size_t o = 0; o + rec <= n; o += rec) {
				c[o] = uint8_t(len >> 24);
				c[o + 1] = uint8_t(len >> 16);
				c[o + 2] = uint8_t(len >> 8);
				c[o + 3] = uint8_t(len);
			}
		});
		if (err == 0)
			err = mmf_open(path.c_str(), O_RDONLY, 0, nullptr, &f);
		records = kFileSize / rec;
		nseq = std::min(records, std::max<size_t>(16, 16 * MiB / rec));
		nrnd = std::min<size_t>(1024, std::max<size_t>(16, 16 * MiB / rec));
		std::mt19937_64 rng(rec);
		std::uniform_int_distribution<size_t> pick(0, records - 1);
		for (size_t i = 0; i < kRandomList; i++)
			rnd.push_back(pick(rng) * rec);
	}
	~ReadFile() { mmf_close(f); }

	TempPath path;
	size_t rec;
	mmf_file *f = nullptr;
	int err = 0;
	size_t records, nseq, nrnd;	/* records in the file, in a pass */
	std::vector<size_t> rnd;	/* kRandomList random record offsets */
};

ReadFile &file_for(size_t rec)
{
	static std::map<size_t, std::unique_ptr<ReadFile>> files;
	auto &p = files[rec];
	if (!p)
		p = std::make_unique<ReadFile>(rec);
	return *p;
}

/* The pass that starts at record (seq) or list entry (rand) `first`. */
struct Pass {
	size_t first, n;
	const size_t *rnd;	/* nullptr: sequential */
	size_t off(size_t rec, size_t i) const { return rnd ? rnd[first + i] : (first + i) * rec; }
};

/* One pass of api A; *sum gets the checksum. 0 or an error. */
template <Api A>
int one_pass(ReadFile &rf, const Pass &ps, unsigned char *buf, uint64_t *sum)
{
	const size_t rec = rf.rec;
	const int fd = mmf_fd(rf.f);
	const unsigned char *base = static_cast<const unsigned char *>(mmf_data(rf.f));
	uint64_t s = 0;

	if (A == Api::read && lseek(fd, off_t(ps.off(rec, 0)), SEEK_SET) < 0)
		return -errno;
	for (size_t i = 0; i < ps.n; i++) {
		const size_t off = ps.off(rec, i);
		const void *p = nullptr;
		uint32_t len = 0;
		int rc = 0;
		switch (A) {
		case Api::bytes:
			rc = mmf_bytes(rf.f, off, rec, &p);
			len = uint32_t(rec);
			break;
		case Api::slice:
			rc = mmf_slice(rf.f, off, &p, &len);
			s += len;
			break;
		case Api::mmap_memcpy:
			std::memcpy(buf, base + off, rec);
			p = buf;
			len = uint32_t(rec);
			break;
		case Api::pread:
			rc = pread(fd, buf, rec, off_t(off)) == ssize_t(rec) ? 0 : -EIO;
			p = buf;
			len = uint32_t(rec);
			break;
		case Api::read:
			rc = read(fd, buf, rec) == ssize_t(rec) ? 0 : -EIO;
			p = buf;
			len = uint32_t(rec);
			break;
		}
		if (rc != 0)
			return rc;
		s += checksum(p, len);
	}
	*sum = s;
	return 0;
}

using PassFn = int (*)(ReadFile &, const Pass &, unsigned char *, uint64_t *);

PassFn pass_fn(Api a)
{
	switch (a) {
	case Api::bytes: return one_pass<Api::bytes>;
	case Api::slice: return one_pass<Api::slice>;
	case Api::mmap_memcpy: return one_pass<Api::mmap_memcpy>;
	case Api::pread: return one_pass<Api::pread>;
	case Api::read: return one_pass<Api::read>;
	default: return nullptr;	/* the direct apis: direct_pass */
	}
}

/* One pass through a DirectReader; latencies appended to lat. */
int direct_pass(DirectReader &rd, size_t rec, const Pass &ps, uint64_t *sum,
		std::vector<uint64_t> *lat)
{
	size_t i = 0;
	uint64_t s = 0, ns = 0;

	rd.start(ps.n, [&]() { return ps.off(rec, i++); });
	for (size_t k = 0; k < ps.n; k++) {
		int rc = rd.step(&s, &ns);
		if (rc != 0)
			return rc;
		lat->push_back(ns);
	}
	*sum = s;
	return 0;
}

struct ReadCase {
	Api api;
	bool cold, random;
	int madv;		/* MADV_NORMAL or MADV_RANDOM (mmap apis) */
	size_t rec;
	unsigned qd = 0;	/* io_uring_direct: reads in flight */
};

/* Before the loop: advice, then warm or cold page cache. "" or why not. */
std::string prepare(const ReadCase &c, ReadFile &rf)
{
	void *base = mmf_data(rf.f);
	size_t size = mmf_size(rf.f);
	int rc;

	rc = mmf_advise(rf.f, c.madv == MADV_RANDOM ? MMF_ADVICE_RANDOM
						     : MMF_ADVICE_NORMAL);
	if (rc < 0)
		return errstr("mmf_advise", rc);
	if (!c.cold) {
		benchmark::DoNotOptimize(prefault(base, size));
		return "";
	}
	rc = evict(mmf_fd(rf.f), base, size);
	if (rc < 0)
		return errstr("evict", rc);
	double pct = resident_pct(base, size);
	if (pct < 0 || pct > 5)
		return "cold cache not established: " + std::to_string(pct) + "% resident";
	return "";
}

void bm_read(benchmark::State &st, ReadCase c)
{
	ReadFile &rf = file_for(c.rec);
	if (rf.err) {
		st.SkipWithError(errstr("creating the file", rf.err).c_str());
		return;
	}
	Pass ps{0, c.random ? rf.nrnd : rf.nseq, c.random ? rf.rnd.data() : nullptr};
	const size_t wrap = c.random ? rf.rnd.size() : rf.records;
	std::vector<unsigned char> buf(c.rec);
	PassFn pass = pass_fn(c.api);
	std::unique_ptr<DirectReader> rd;
	std::vector<uint64_t> lat;
	if (is_direct(c.api)) {
		rd.reset(new DirectReader(mmf_fd(rf.f), c.rec, c.qd));
		if (!rd->why().empty()) {
			st.SkipWithError(rd->why().c_str());
			return;
		}
		lat.reserve(ps.n);
	}
	std::string why = prepare(c, rf);
	if (!why.empty()) {
		st.SkipWithError(why.c_str());
		return;
	}
	double before = resident_pct(mmf_data(rf.f), mmf_size(rf.f));
	Faults f0 = Faults::now();
	long long io0 = io_read_bytes();
	DevIO d0 = devio_now();
	Pressure p0 = Pressure::now();
	for (auto _ : st) {
		uint64_t sum = 0;
		int rc = rd ? direct_pass(*rd, c.rec, ps, &sum, &lat)
			    : pass(rf, ps, buf.data(), &sum);
		if (rc != 0) {
			st.SkipWithError(errstr(api_name(c.api), rc).c_str());
			break;
		}
		benchmark::DoNotOptimize(sum);
		ps.first = (ps.first + ps.n) % wrap;	/* n divides wrap */
	}
	long long io1 = io_read_bytes();
	double bytes = double(st.iterations()) * double(ps.n) * double(c.rec);
	const double reads = double(st.iterations()) * double(ps.n);
	pressure_counters(st, p0, reads);
	device_counters(st, d0, 0, bytes);
	fault_counters(st, f0);
	if (rd) {
		latency_counters(st, lat);
		rd->counters(st, reads);
	}
	st.counters["minflt"] = benchmark::Counter(st.counters["minflt"], benchmark::Counter::kAvgIterations);
	st.counters["majflt"] = benchmark::Counter(st.counters["majflt"], benchmark::Counter::kAvgIterations);
	st.counters["records"] = double(ps.n);
	st.counters["resident_before_pct"] = before;
	st.counters["resident_after_pct"] = resident_pct(mmf_data(rf.f), mmf_size(rf.f));
	st.counters["io_amplification"] = io0 < 0 || bytes == 0 ? -1 : double(io1 - io0) / bytes;
	st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(ps.n));
	st.SetBytesProcessed(int64_t(bytes));
}

void add_case(const ReadCase &c)
{
	std::string madv = !is_mmap(c.api) ? "none" : c.madv == MADV_RANDOM ? "random" : "normal";
	std::vector<std::pair<std::string, std::string>> keys = {{"api", api_name(c.api)}};
	if (c.api == Api::io_uring_direct)
		keys.push_back({"qd", num(c.qd)});
	keys.insert(keys.end(), {{"cache", c.cold ? "cold" : "warm"},
				 {"order", c.random ? "rand" : "seq"},
				 {"madv", madv},
				 {"rec", num(c.rec)}});
	auto *b = add(name("BM_Read", keys), [c](benchmark::State &st) { bm_read(st, c); });
	if (c.cold)
		b->Iterations(1);
}

void register_read()
{
	std::vector<size_t> recs = {64, 4096, 65536, MiB};
	if (full())
		recs = {64, 256, 1024, 4096, 16384, 65536, 262144, MiB};
	const Api apis[] = {Api::bytes, Api::slice, Api::mmap_memcpy, Api::pread, Api::read};

	for (size_t rec : recs)
		for (int cold = 0; cold < 2; cold++)
			for (int rnd = 0; rnd < 2; rnd++)
				for (Api a : apis) {
					if (a == Api::read && rnd)
						continue;	/* read(2) is sequential */
					add_case({a, cold != 0, rnd != 0, MADV_NORMAL, rec});
					/* MADV_RANDOM: cold mmap rows in full, cold bytes in
					 * quick (warm pages are mapped: advice changes nothing) */
					bool r = is_mmap(a) && cold && (full() || a == Api::bytes);
					if (r)
						add_case({a, cold != 0, rnd != 0, MADV_RANDOM, rec});
				}
	/* What a user would pick instead of mmap (CIDR 2022): cold random,
	 * every record size, both profiles. */
	for (size_t rec : recs) {
		add_case({Api::pread_direct, true, true, MADV_NORMAL, rec});
		for (unsigned qd : {1u, 32u})
			add_case({Api::io_uring_direct, true, true, MADV_NORMAL, rec, qd});
	}
}

} /* namespace */

MMF_BENCH_MAIN(register_read)
