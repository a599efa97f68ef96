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

void bm_growth(benchmark::State &st, GrowthCase c)
{
	TempPath path("growth.dat");
	std::vector<unsigned char> buf(kRec);
	mmf_options o;
	mmf_file *f = nullptr;
	size_t off = 0, next;
	void *p;

	fill_pattern(buf.data(), buf.size(), 42);
	mmf_options_init(&o);
	o.grow = c.grow;
	o.flags = c.flags;
	int rc = mmf_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, kStart, &o, &f);
	if (rc != 0) {
		st.SkipWithError(errstr("mmf_open", rc).c_str());
		return;
	}
	mmf_stats s0;
	mmf_stats_get(f, &s0);	/* the open's own sizing is not growth */
	Faults f0 = Faults::now();
	for (auto _ : st) {
		if (c.slice) {
			rc = mmf_allocate_slice(f, kRec - 4, off, &p, &next);
			if (rc == 0)
				std::memcpy(p, buf.data(), kRec - 4);
			off = next;
		} else {
			rc = mmf_append_buffer(f, off, buf.data(), kRec);
			off += kRec;
		}
		if (rc != 0) {
			st.SkipWithError(errstr("append", rc).c_str());
			break;
		}
	}
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
	if (!full())
		return;
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
