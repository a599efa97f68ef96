/*
 * bench_growth - what growing a file costs under each policy and flag set.
 *
 * Question: growing a file from 1 MiB to a target size by 4 KiB appends, how
 * many grows and remaps does each policy make, how much time goes into them,
 * how many bytes does it leave reserved beyond the data, and how many page
 * faults does it take -- for every policy (double, exact, chunk, seed) and
 * every combination of the flags (reserve, populate, sync_before_grow)?
 *
 * One repetition = one fresh file opened at 1 MiB (before the loop), exactly
 * (target - 1 MiB) / 4 KiB iterations of mmf_append_buffer(4096) (or
 * mmf_allocate_slice(4092) + memcpy, a 4 KiB record), then the counters and
 * the file's deletion (after the loop). The row mmf_options_seed() gives is
 * labelled "seed_compat", the defaults "default" (the words of mmf_cli.h).
 *
 * Targets: 256 MiB in the full profile, 32 MiB in the quick one. Rows that
 * grow on EVERY append and msync before each grow (exact or seed policy with
 * sync_before_grow: 0.5-2 ms a grow here, more as the mapping grows) use
 * 8 MiB (full) and 4 MiB (quick) so that a repetition stays in seconds; the
 * target is in the name. The full profile adds 64 MiB and 512 MiB targets for
 * the default, seed_compat (allocate_slice), exact and chunk+reserve options:
 * cost against size.
 */
#include "bench_fixture.h"

#include <atomic>
#include <pthread.h>
#include <thread>

namespace {

using namespace mmfb;

constexpr size_t kStart = MiB;
constexpr size_t kRec = 4096;

struct GrowthCase {
	enum mmf_grow grow;
	unsigned flags;
	bool slice;		/* mmf_allocate_slice instead of mmf_append_buffer */
	size_t target;
};

std::string flags_name(unsigned f)
{
	char buf[64];
	return mmf_cli_flags_name(f, "+", buf, sizeof(buf));
}

/* The option set's word (mmf_cli.h: "default", "seed_compat") or "". */
std::string label_of(const GrowthCase &c)
{
	mmf_options o;
	mmf_options_init(&o);
	o.grow = c.grow;
	o.flags = c.flags;
	const char *w = mmf_cli_option_set_name(&o);
	return w ? w : "";
}

/* Append one kRec-byte record at *off (a slice or append_buffer, as the
 * case says); 0 or an error. */
int append_one(const GrowthCase &c, mmf_file *f, const unsigned char *buf, size_t *off)
{
	size_t next;
	void *p;
	int rc;

	if (!c.slice) {
		rc = mmf_append_buffer(f, *off, buf, kRec);
		*off += kRec;
		return rc;
	}
	rc = mmf_allocate_slice(f, kRec - 4, *off, &p, &next);
	if (rc == 0) {
		std::memcpy(p, buf, kRec - 4);
		*off = next;
	}
	return rc;
}

void bm_growth(benchmark::State &st, GrowthCase c)
{
	TempPath path("growth.dat");
	std::vector<unsigned char> buf(kRec);
	mmf_options o;
	mmf_file *f = nullptr;
	size_t off = 0;

	fill_pattern(buf.data(), buf.size(), 42);
	mmf_options_init(&o);
	o.grow = c.grow;
	o.flags = c.flags;
	const double warm_ns = warm_up([&] {	/* the same appends */
		mmf_file *w;
		size_t at = 0;
		if (mmf_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, kStart, &o, &w) != 0)
			return;
		for (int64_t i = 0; i < int64_t(st.max_iterations); i++)
			if (append_one(c, w, buf.data(), &at) != 0)
				break;
		(void)mmf_delete(w);
	});
	int rc = mmf_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, kStart, &o, &f);
	if (rc != 0) {
		st.SkipWithError(errstr("mmf_open", rc).c_str());
		return;
	}
	mmf_stats s0;
	mmf_stats_get(f, &s0);	/* the open's own sizing is not growth */
	settle_scratch();
	DevIO d0 = devio_now();
	Faults f0 = Faults::now();
	for (auto _ : st) {
		rc = append_one(c, f, buf.data(), &off);
		if (rc != 0) {
			st.SkipWithError(errstr("append", rc).c_str());
			break;
		}
	}
	device_counters(st, d0, double(st.iterations()) * double(kRec), 0);
	fault_counters(st, f0);
	mmf_stats s;
	mmf_stats_get(f, &s);
	s.grows -= s0.grows;
	s.remaps -= s0.remaps;
	s.moves -= s0.moves;
	s.syncs -= s0.syncs;
	s.bytes_grown -= s0.bytes_grown;
	s.bytes_reserved -= s0.bytes_reserved;
	s.grow_ns -= s0.grow_ns;
	s.sync_ns -= s0.sync_ns;
	stats_counters(st, s);
	st.counters["warm_ns"] = warm_ns;
	st.counters["final_size"] = double(mmf_size(f));
	st.counters["data_bytes"] = double(off);
	st.counters["overalloc_bytes"] = double(mmf_size(f)) - double(off);
	st.counters["reserved_beyond_data"] =
		(c.flags & MMF_RESERVE) ? double(mmf_size(f)) - double(off) : 0;
	st.SetLabel(label_of(c));
	st.SetItemsProcessed(int64_t(st.iterations()));
	st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kRec));
	/* mmf_delete, not mmf_close: closing would msync every dirty page. */
	rc = mmf_delete(f);
	if (rc != 0)
		st.SkipWithError(errstr("mmf_delete", rc).c_str());
}

/*
 * Stable addresses (issue 14): the latency of each grow by mmf_truncate in
 * 64 MiB steps from 64 MiB to `to`, with one byte written every 2 MiB of
 * each new step (so every page-table page exists and a moving mremap has
 * them to move; the writes dirty pages whose writeback runs during later
 * grows): MMF_STABLE (the file mapped over the whole reservation at open: a
 * grow is the file's extension only) against the default handle (mremap
 * MAYMOVE). `space`: sparse (ftruncate) or reserve (MMF_RESERVE:
 * posix_fallocate of each step, which allocates its blocks). `advice:random`
 * (sparse rows): the handle advised MMF_ADVICE_RANDOM, so a store faults in
 * and dirties one 4 KiB page; without it each store reads the readahead
 * window in as zeros and dirties the large folio it hits (8 GiB: ~9 GiB of
 * page cache, ~2.3 GiB dirty by the end: bench/README.md "Stable growth").
 * Counters: per-grow wall p50/p99/max (samples = grows); cpu_p50/p99/max_ns
 * the same grows on the thread's CPU clock (wall minus cpu: time preempted
 * or blocked); moves.
 */
constexpr size_t kGrowStep = 64 * MiB;

void bm_stable_grow(benchmark::State &st, bool stable, bool reserve, size_t to,
		    bool random)
{
	TempPath path("stable_grow.dat");
	std::vector<uint64_t> ns, cpu;
	mmf_options o;
	mmf_file *f = nullptr;
	mmf_stats s;

	mmf_options_init(&o);
	o.flags = (stable ? MMF_STABLE : 0) | (reserve ? MMF_RESERVE : 0);
	o.max_size = to;
	int rc = mmf_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, kGrowStep, &o, &f);
	if (rc != 0) {
		st.SkipWithError(errstr("mmf_open", rc).c_str());
		return;
	}
	if (random && (rc = mmf_advise(f, MMF_ADVICE_RANDOM)) != 0) {
		st.SkipWithError(errstr("mmf_advise", rc).c_str());
		(void)mmf_delete(f);
		return;
	}
	ns.reserve(to / kGrowStep);
	cpu.reserve(to / kGrowStep);
	for (auto _ : st) {
		size_t old = mmf_size(f);
		uint64_t c0 = thread_cpu_ns(), t0 = now_ns();

		rc = mmf_truncate(f, old + kGrowStep);
		ns.push_back(now_ns() - t0);
		cpu.push_back(thread_cpu_ns() - c0);
		if (rc != 0) {
			st.SkipWithError(errstr("mmf_truncate", rc).c_str());
			break;
		}
		for (size_t off = old; off < old + kGrowStep; off += 2 * MiB)
			static_cast<volatile char *>(mmf_data(f))[off] = 1;
	}
	latency_counters(st, ns);
	std::sort(cpu.begin(), cpu.end());
	st.counters["cpu_p50_ns"] = percentile(cpu, 0.50);
	st.counters["cpu_p99_ns"] = percentile(cpu, 0.99);
	st.counters["cpu_max_ns"] = cpu.empty() ? 0 : double(cpu.back());
	mmf_stats_get(f, &s);
	stats_counters(st, s);
	st.SetItemsProcessed(int64_t(st.iterations()));
	rc = mmf_delete(f);
	if (rc != 0)
		st.SkipWithError(errstr("mmf_delete", rc).c_str());
}

void add_stable_grow(bool stable, bool reserve, size_t to, bool random = false)
{
	std::vector<std::pair<std::string, std::string>> args = {
		{"mode", stable ? "stable" : "mremap"},
		{"space", reserve ? "reserve" : "sparse"},
		{"step", mib(kGrowStep)}, {"to", mib(to)}};

	if (random)
		args.push_back({"advice", "random"});
	add(name("BM_StableGrow", args),
	    [stable, reserve, to, random](benchmark::State &st) {
		    bm_stable_grow(st, stable, reserve, to, random);
	    })
		->Iterations(int64_t(to / kGrowStep - 1));
}

/*
 * Readers while one thread appends (issue 14): one writer appends 16384
 * records of 4 KiB (1 MiB -> 64 MiB, default growth) and publishes each
 * (release); 2 reader threads read random published records through
 * mmf_bytes and checksum them until the writer is done. "stable": a
 * MMF_STABLE handle, no lock. "lock": a default handle and what bbolt does:
 * the writer takes a write lock around each append that grows (the remap),
 * readers a read lock around each read. One iteration = one such run.
 * Counters: reader reads/s, per-read p50/p99/max (ns), writer MB/s, moves.
 */
constexpr size_t kReaderRecs = 16384;
constexpr int kReaders = 2;

struct ReadersRun {
	mmf_file *f = nullptr;
	bool stable = false;
	pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
	std::atomic<size_t> published{0};
	std::atomic<bool> done{false};
	std::vector<uint64_t> lat[kReaders];
};

void readers_reader(ReadersRun *r, int id)
{
	uint64_t x = uint64_t(id) * 0x9e3779b97f4a7c15u + 1, sum = 0;
	const void *p;

	while (!r->done.load(std::memory_order_acquire)) {
		size_t n = r->published.load(std::memory_order_acquire);

		if (n == 0)
			continue;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t t0 = now_ns();
		if (!r->stable)
			pthread_rwlock_rdlock(&r->lock);
		if (mmf_bytes(r->f, (x % n) * kRec, kRec, &p) == 0)
			sum += checksum(p, kRec);
		if (!r->stable)
			pthread_rwlock_unlock(&r->lock);
		r->lat[id].push_back(now_ns() - t0);
	}
	benchmark::DoNotOptimize(sum);
}

int readers_writer(ReadersRun *r, const unsigned char *rec)
{
	for (size_t i = 0; i < kReaderRecs; i++) {
		bool grows = (i + 1) * kRec > mmf_size(r->f);
		int rc;

		if (!r->stable && grows)
			pthread_rwlock_wrlock(&r->lock);
		rc = mmf_append_buffer(r->f, i * kRec, rec, kRec);
		if (!r->stable && grows)
			pthread_rwlock_unlock(&r->lock);
		if (rc != 0)
			return rc;
		r->published.store(i + 1, std::memory_order_release);
	}
	return 0;
}

void bm_readers(benchmark::State &st, bool stable)
{
	TempPath path("readers.dat");
	std::vector<unsigned char> rec(kRec);
	std::vector<uint64_t> all;
	ReadersRun r;
	mmf_options o;
	mmf_stats s;
	uint64_t write_ns = 0;
	int rc = 0;

	fill_pattern(rec.data(), kRec, 7);
	mmf_options_init(&o);
	o.flags |= stable ? MMF_STABLE : 0;
	o.max_size = GiB;
	r.stable = stable;
	for (auto _ : st) {
		rc = mmf_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, kStart, &o, &r.f);
		if (rc != 0)
			break;
		r.published = 0;
		r.done = false;
		std::vector<std::thread> ts;
		for (int i = 0; i < kReaders; i++)
			ts.emplace_back(readers_reader, &r, i);
		uint64_t t0 = now_ns();
		rc = readers_writer(&r, rec.data());
		write_ns += now_ns() - t0;
		r.done.store(true, std::memory_order_release);
		for (auto &t : ts)
			t.join();
		mmf_stats_get(r.f, &s);
		int e = mmf_delete(r.f);
		if (rc == 0)
			rc = e;
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		st.SkipWithError(errstr("readers run", rc).c_str());
		return;
	}
	for (auto &l : r.lat)
		all.insert(all.end(), l.begin(), l.end());
	st.counters["reader_reads_per_s"] = double(all.size()) / (double(write_ns) / 1e9);
	st.counters["writer_MBps"] = double(st.iterations() * kReaderRecs * kRec) /
				     (double(write_ns) / 1e3);
	st.counters["moves"] = double(s.moves);
	latency_counters(st, all);
}

void add_readers(bool stable)
{
	add(name("BM_StableReaders", {{"mode", stable ? "stable" : "lock"},
				      {"readers", std::to_string(kReaders)},
				      {"rec", num(kRec)}, {"to", mib(kReaderRecs * kRec)}}),
	    [stable](benchmark::State &st) { bm_readers(st, stable); })
		->Iterations(1);
}

void add_case(const GrowthCase &c)
{
	add(name("BM_Growth", {{"policy", mmf_cli_growth_name(c.grow)},
			       {"flags", flags_name(c.flags)},
			       {"api", c.slice ? "allocate_slice" : "append_buffer"},
			       {"to", mib(c.target)}}),
	    [c](benchmark::State &st) { bm_growth(st, c); })
		->Iterations(int64_t((c.target - kStart) / kRec));
}

/* Does every append of this case grow the file (and msync first)? */
bool slow_case(enum mmf_grow g, unsigned flags, bool slice)
{
	bool per_append = g == MMF_GROW_EXACT || (g == MMF_GROW_SEED && !slice);
	return per_append && (flags & MMF_SYNC_BEFORE_GROW);
}

void register_growth()
{
	const enum mmf_grow grows[] = {MMF_GROW_DOUBLE, MMF_GROW_EXACT, MMF_GROW_CHUNK,
				       MMF_GROW_SEED};
	size_t big = full() ? 256 * MiB : 32 * MiB, small = full() ? 8 * MiB : 4 * MiB;

	for (enum mmf_grow g : grows)
		for (unsigned fl = 0; fl <= MMF_FLAGS_ALL; fl++)
			add_case({g, fl, false, slow_case(g, fl, false) ? small : big});
	/* The seed's other append path: allocate_slice (DOUBLE under SEED). */
	mmf_options d, s;
	mmf_options_init(&d);
	mmf_options_seed(&s);
	add_case({s.grow, s.flags, true, big});
	add_case({d.grow, d.flags, true, big});
	/* Stable addresses: append throughput against the default, and the
	 * latency of one grow as the mapping gets larger. */
	add_case({d.grow, d.flags | MMF_STABLE, false, big});
	for (bool reserve : {false, true})
		for (bool stable : {true, false})
			add_stable_grow(stable, reserve, 1 * GiB);
	for (bool stable : {true, false})
		add_stable_grow(stable, false, 1 * GiB, true);
	for (bool stable : {true, false})
		add_readers(stable);
	if (!full())
		return;
	for (bool reserve : {false, true})	/* reserve: 8 GiB of disk */
		for (bool stable : {true, false})
			add_stable_grow(stable, reserve, 8 * GiB);
	for (bool stable : {true, false})	/* stores dirtying 4 KiB each */
		add_stable_grow(stable, false, 8 * GiB, true);
	/* Cost against file size (the capacity model): headline options at
	 * two more targets. */
	for (size_t to : {64 * MiB, 512 * MiB}) {
		add_case({d.grow, d.flags, false, to});
		add_case({s.grow, s.flags, true, to});
		add_case({MMF_GROW_EXACT, 0, false, to});
		add_case({MMF_GROW_CHUNK, MMF_RESERVE, false, to});
	}
}

} /* namespace */

MMF_BENCH_MAIN(register_growth)
