/*
 * bench_ltm - random reads of a file larger than memory.
 *
 * Question: when the file does not fit in memory, how do random 4 KiB reads
 * through the mapping (MADV_NORMAL, MADV_RANDOM) compare with pread(2)? This
 * is the finding of Crotty, Leis & Pavlo, "Are You Sure You Want to Use MMAP
 * in Your DBMS?" (CIDR 2022), at small scale.
 *
 * "Memory" is a memory cgroup the process moves itself into (root only):
 * cgroup v1 memory.limit_in_bytes, or cgroup v2 memory.max, on a child of the
 * process's own cgroup, removed at exit and on SIGTERM, SIGINT or SIGHUP (a
 * handler moves the process back and removes the child before the signal's
 * default action ends it: a cancelled run leaves no cgroup). Without root or a usable memory
 * controller every row is skipped with the reason (an error message that
 * starts with "skipped:", which scripts/bench does not count as a failure).
 *
 * The file (default 3 GiB; $MMF_LTM_FILE_MIB) is cached between runs in
 * $MMF_BENCH_CACHE (default /var/tmp/mmf-bench-cache-<euid>), a directory
 * that must be this user's with mode 0700 (checked at start, see
 * cache_path; "off" = make it in the scratch directory, delete it at exit). The limit defaults to 512 MiB
 * ($MMF_LTM_LIMIT_MIB). One repetition: the file evicted (PTEs dropped,
 * POSIX_FADV_DONTNEED, mincore < 5 % resident), then a fixed number of reads
 * at uniformly random 4 KiB-aligned offsets, each checksummed. The counts
 * differ by row (MADV_NORMAL is ~100x slower) and are in the names.
 */
#include "bench_fixture.h"
#include "private_dir.h"

#include <csignal>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <sys/stat.h>

namespace {

using namespace mmfb;

constexpr size_t kRec = 4096;

/* $name in MiB (1 .. 1 TiB), or dflt when unset; anything else is one line
 * and exit 2. */
size_t env_mib(const char *name, size_t dflt)
{
	const char *v = std::getenv(name);
	uint64_t mib;

	if (!v || !*v)
		return dflt;
	if (mmf_cli_u64(v, 1, 1u << 20, &mib) < 0) {
		std::fprintf(stderr, "bench_ltm: %s: '%s' is not a number of MiB in 1..1048576\n",
			     name, v);
		std::exit(2);
	}
	return size_t(mib) * MiB;
}

size_t file_size() { return env_mib("MMF_LTM_FILE_MIB", 3 * GiB); }

/* The cgroup to leave on a signal, as plain C strings (the handler may only
 * make async-signal-safe calls: open, write, close, rmdir, raise). */
struct CgroupExit {
	char procs[4096];	/* the parent's cgroup.procs */
	char child[4096];	/* the child to remove */
	char pid[32];
	size_t pid_len;
};
CgroupExit g_cgroup_exit;
volatile sig_atomic_t g_cgroup_armed;

extern "C" void leave_cgroup_on_signal(int sig)
{
	if (g_cgroup_armed) {
		g_cgroup_armed = 0;
		int fd = open(g_cgroup_exit.procs, O_WRONLY);
		if (fd >= 0) {
			ssize_t n = write(fd, g_cgroup_exit.pid, g_cgroup_exit.pid_len);
			(void)n;
			close(fd);
		}
		rmdir(g_cgroup_exit.child);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Arm the handler for the cgroup child of parent (0), or -1 when a path is
 * too long for it. */
int arm_cgroup_exit(const std::string &parent, const std::string &child)
{
	std::string procs = parent + "/cgroup.procs", pid = std::to_string(getpid());
	if (procs.size() >= sizeof(g_cgroup_exit.procs) || child.size() >= sizeof(g_cgroup_exit.child))
		return -1;
	std::memcpy(g_cgroup_exit.procs, procs.c_str(), procs.size() + 1);
	std::memcpy(g_cgroup_exit.child, child.c_str(), child.size() + 1);
	std::memcpy(g_cgroup_exit.pid, pid.c_str(), pid.size() + 1);
	g_cgroup_exit.pid_len = pid.size();
	g_cgroup_armed = 1;
	for (int sig : { SIGTERM, SIGINT, SIGHUP })
		signal(sig, leave_cgroup_on_signal);
	return 0;
}
size_t limit_size() { return env_mib("MMF_LTM_LIMIT_MIB", 512 * MiB); }

/*
 * This process inside a child memory cgroup limited to `limit` bytes, for as
 * long as the object lives. why() is "" when that worked.
 */
class MemLimit {
public:
	explicit MemLimit(size_t limit)
	{
		if (geteuid() != 0) {
			why_ = "skipped: needs root to make a memory cgroup";
			return;
		}
		std::string v1 = cgroup_mount("cgroup", "memory"), v2 = cgroup_mount("cgroup2", "");
		if (!v1.empty() && join(v1, cgroup_own_path("memory"), "memory.limit_in_bytes", limit))
			return;
		if (!v2.empty() && read_text(v2 + "/cgroup.controllers").find("memory") !=
					   std::string::npos &&
		    join(v2, cgroup_own_path(""), "memory.max", limit))
			return;
		if (why_.empty())
			why_ = "skipped: no memory cgroup controller (v1 or v2) to limit the process";
	}
	~MemLimit()
	{
		if (child_.empty())
			return;
		g_cgroup_armed = 0;
		write_text(parent_ + "/cgroup.procs", std::to_string(getpid()));
		rmdir(child_.c_str());
	}
	const std::string &why() const { return why_; }
	/* Peak memory of the cgroup (bytes), -1 if unknown. */
	double peak() const
	{
		std::string v = read_text(child_ + (v1_ ? "/memory.max_usage_in_bytes"
							 : "/memory.peak"));
		return v.empty() ? -1 : std::strtod(v.c_str(), nullptr);
	}
	void reset_peak() const
	{
		if (v1_)
			write_text(child_ + "/memory.max_usage_in_bytes", "0");
	}

private:
	bool join(const std::string &mnt, const std::string &own, const char *knob, size_t limit)
	{
		parent_ = mnt + (own == "/" ? "" : own);
		std::string child = parent_ + "/mmf-bench-" + std::to_string(getpid());
		/* Made fresh, never joined when it exists (bench_fixture.h OwnIO) */
		if (mkdir(child.c_str(), 0755) < 0) {
			why_ = "skipped: cannot make " + child + ": " + std::strerror(errno);
			return false;
		}
		v1_ = std::string(knob) == "memory.limit_in_bytes";
		if (!write_text(child + "/" + knob, std::to_string(limit)) ||
		    !write_text(child + "/cgroup.procs", std::to_string(getpid()))) {
			why_ = "skipped: cannot limit or join " + child;
			rmdir(child.c_str());
			return false;
		}
		if (arm_cgroup_exit(parent_, child) < 0) {
			why_ = "skipped: cgroup path too long: " + child;
			write_text(parent_ + "/cgroup.procs", std::to_string(getpid()));
			rmdir(child.c_str());
			return false;
		}
		child_ = child;
		return true;
	}

	std::string why_, parent_, child_;
	bool v1_ = false;
};

/*
 * The cache directory (issue 16): $MMF_BENCH_CACHE, default
 * /var/tmp/mmf-bench-cache-<euid> (a disk, not a tmpfs: the file must be
 * able to leave memory). It must be a directory of this user with mode 0700
 * (private_dir.h), made here if absent; anything else -- a symlink, another
 * user's directory, one others can write -- is refused with one line and
 * exit 1 before any benchmark runs. "off": no cache, the file is made in the
 * scratch directory and deleted at exit.
 */
std::string cache_path()
{
	const char *c = std::getenv("MMF_BENCH_CACHE");
	return c && *c ? c : "/var/tmp/mmf-bench-cache-" + std::to_string(geteuid());
}

int &cache_fd()
{
	static int fd = -1;
	return fd;
}

void open_cache_or_exit()
{
	char why[512];
	std::string path = cache_path();

	if (path == "off")
		return;
	cache_fd() = mmf_private_dir(path.c_str(), true, why, sizeof(why));
	if (cache_fd() < 0) {
		std::fprintf(stderr, "bench_ltm: refusing the cache directory %s "
			     "(set MMF_BENCH_CACHE to a private directory, or off)\n", why);
		std::exit(1);
	}
}

/* The cached file, opened relative to the checked directory: a regular file
 * of this user of the right size, or -1 (then it is rewritten). */
int open_cached(int dfd, const std::string &leaf)
{
	struct stat st;
	int fd = openat(dfd, leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    size_t(st.st_size) == file_size())
		return fd;
	close(fd);
	return -1;
}

/* Write the file as leaf.part in dfd and rename it to leaf: a partial file
 * never passes for a cached one. Then open it. fd or -errno. */
int write_cached(int dfd, const std::string &leaf)
{
	std::string part = leaf + ".part";
	int fd = openat(dfd, part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			0600);
	int rc;

	if (fd < 0)
		return -errno;
	std::fprintf(stderr, "bench_ltm: writing %s/%s (%zu MiB), once\n", cache_path().c_str(),
		     leaf.c_str(), file_size() / MiB);
	rc = write_fd(fd, file_size(), 99, nullptr);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, part.c_str(), dfd, leaf.c_str()) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, part.c_str(), 0);
		return rc;
	}
	fd = open_cached(dfd, leaf);
	return fd < 0 ? -EIO : fd;
}

/* The big file: cached in the cache directory, or a scratch file. */
struct BigFile {
	BigFile()
	{
		std::string leaf = "ltm-" + mib(file_size()) + ".dat";
		int fd;

		if (cache_fd() < 0) {
			tmp.reset(new TempPath(leaf));
			err = write_file(tmp->c_str(), file_size(), 99, nullptr);
			fd = err ? err : open(tmp->c_str(), O_RDONLY | O_CLOEXEC);
			if (fd < 0 && !err)
				fd = -errno;
		} else {
			fd = open_cached(cache_fd(), leaf);
			if (fd < 0)
				fd = write_cached(cache_fd(), leaf);
		}
		if (fd < 0) {
			err = fd;
			return;
		}
		err = mmf_open_fd(fd, 0, false, nullptr, &f);
		if (err)
			close(fd);
	}
	~BigFile() { mmf_close(f); }
	std::unique_ptr<TempPath> tmp;
	mmf_file *f = nullptr;
	int err = 0;
};

/* File first (outside the limit: writing it is not the question), then the
 * cgroup. Both live until exit. */
struct World {
	BigFile file;
	MemLimit limit{limit_size()};
};

World &world()
{
	static std::unique_ptr<World> w(new World);
	return *w;
}

enum class Api { mmap_normal, mmap_random, pread };

void bm_ltm(benchmark::State &st, Api api)
{
	if (geteuid() != 0) {	/* before making a 3 GiB file for nothing */
		st.SkipWithError("skipped: needs root to make a memory cgroup");
		return;
	}
	World &w = world();
	if (w.file.err) {
		st.SkipWithError(errstr("the big file", w.file.err).c_str());
		return;
	}
	if (!w.limit.why().empty()) {
		st.SkipWithError(w.limit.why().c_str());
		return;
	}
	mmf_file *f = w.file.f;
	unsigned char *base = static_cast<unsigned char *>(mmf_data(f));
	size_t size = mmf_size(f);
	/* The advice through the library (kept across growth; issue 11). */
	int rc = mmf_advise(f, api == Api::mmap_normal ? MMF_ADVICE_NORMAL
						   : MMF_ADVICE_RANDOM);
	if (rc == 0)
		rc = evict(mmf_fd(f), base, size);
	double before = resident_pct(base, size);
	if (rc != 0 || before > 5) {
		st.SkipWithError(rc ? errstr("evict", rc).c_str() : "cold cache not established");
		return;
	}
	std::mt19937_64 rng{now_ns()};
	std::uniform_int_distribution<size_t> pick(0, size / kRec - 1);
	std::vector<unsigned char> buf(kRec);
	std::vector<uint64_t> lat;
	lat.reserve(size_t(st.max_iterations));
	w.limit.reset_peak();
	Faults f0 = Faults::now();
	long long io0 = io_read_bytes();
	DevIO d0 = devio_now();
	for (auto _ : st) {
		size_t off = pick(rng) * kRec;
		uint64_t t0 = now_ns(), sum;
		if (api == Api::pread) {
			if (pread(mmf_fd(f), buf.data(), kRec, off_t(off)) != ssize_t(kRec)) {
				st.SkipWithError("pread failed");
				break;
			}
			sum = checksum(buf.data(), kRec);
		} else {
			sum = checksum(base + off, kRec);
		}
		benchmark::DoNotOptimize(sum);
		lat.push_back(now_ns() - t0);
	}
	long long io1 = io_read_bytes();
	double bytes = double(st.iterations()) * double(kRec);
	device_counters(st, d0, 0, bytes);
	fault_counters(st, f0);
	latency_counters(st, lat);
	st.counters["io_amplification"] = io0 < 0 || bytes == 0 ? -1 : double(io1 - io0) / bytes;
	st.counters["resident_before_pct"] = before;
	st.counters["resident_after_pct"] = resident_pct(base, size);
	st.counters["cgroup_peak_bytes"] = w.limit.peak();
	st.counters["file_bytes"] = double(size);
	st.counters["limit_bytes"] = double(limit_size());
	st.SetItemsProcessed(int64_t(st.iterations()));
	st.SetBytesProcessed(int64_t(bytes));
}

void register_ltm()
{
	open_cache_or_exit();
	struct {
		Api api;
		const char *name, *madv;
		int64_t reads;
	} rows[] = {
		{Api::mmap_normal, "mmap", "normal", 300},
		{Api::mmap_random, "mmap", "random", 10000},
		{Api::pread, "pread", "none", 10000},
	};
	for (const auto &r : rows) {
		Api api = r.api;
		add(name("BM_LTM", {{"api", r.name},
				    {"madv", r.madv},
				    {"file", mib(file_size())},
				    {"limit", mib(limit_size())},
				    {"rec", num(kRec)}}),
		    [api](benchmark::State &st) { bm_ltm(st, api); })
			->Iterations(r.reads);
	}
}

} /* namespace */

MMF_BENCH_MAIN(register_ltm)
