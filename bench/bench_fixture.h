/*
 * bench_fixture.h - what every mmapfile benchmark driver shares.
 *
 * One binary per question (bench_read, bench_write, bench_growth, bench_sync,
 * bench_ltm). Each registers its rows with mmfb::add(), named
 *
 *	BM_<Driver>/<key>:<value>/<key>:<value>...
 *
 * (see bench/README.md), and ends with MMF_BENCH_MAIN(register_fn).
 *
 * Habits (STYLE.md 9): the fixture owns its files (a scratch directory under
 * $MMF_BENCH_DIR, default /var/tmp, removed at exit; each benchmark's file is
 * deleted by the object that made it); a failed setup calls SkipWithError;
 * results go through DoNotOptimize; nothing pauses the timer inside the loop:
 * setup and teardown happen before and after it, with a fixed iteration count
 * where a repetition must do a fixed amount of work. Every row is wall-clock
 * (UseRealTime): all of them fault pages, and most wait for the disk.
 *
 * Profiles: --mmf_profile=quick|full (or $MMF_BENCH_PROFILE) picks which rows
 * are registered. A row's work never depends on the profile, so a row has the
 * same name and meaning in both; the full profile only adds rows (and
 * scripts/bench gives it more repetitions).
 */
#ifndef MMF_BENCH_FIXTURE_H
#define MMF_BENCH_FIXTURE_H

#include <benchmark/benchmark.h>

#include "mmapfile.h"
#include "mmf_cli.h"
#include "private_dir.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <ftw.h>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <climits>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace mmfb {

constexpr size_t KiB = size_t(1) << 10;
constexpr size_t MiB = size_t(1) << 20;
constexpr size_t GiB = size_t(1) << 30;
constexpr size_t kPage = 4096;

enum class Profile { quick, full };

inline Profile &profile_ref()
{
	static Profile p = Profile::quick;
	return p;
}
inline bool full() { return profile_ref() == Profile::full; }

inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}
inline uint64_t now_ns() { return clock_ns(CLOCK_MONOTONIC); }
/* CPU time of the calling thread (excludes time preempted or blocked). */
inline uint64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

inline std::string errstr(const std::string &what, int err)
{
	return what + ": " + mmf_strerror(err < 0 ? err : -err);
}

/* A 64-bit sum of every byte range it is given: makes a read touch each
 * byte, so zero-copy access is not measured as free. */
inline uint64_t checksum(const void *p, size_t n)
{
	const unsigned char *c = static_cast<const unsigned char *>(p);
	uint64_t a = 0, b = 0, w0, w1;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		std::memcpy(&w0, c + i, 8);
		std::memcpy(&w1, c + i + 8, 8);
		a += w0;
		b += w1;
	}
	for (; i < n; i++)
		a += c[i];
	return a + b;
}

/* Deterministic filler: xorshift bytes, never all zero (a sparse or zero
 * page would not need the disk). */
inline void fill_pattern(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed | 1, *w = static_cast<uint64_t *>(buf);

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

/* Whole file as text ("" when unreadable); write text to a file (sysfs,
 * cgroupfs knobs): true when it took. */
inline std::string read_text(const std::string &path)
{
	std::ifstream i(path);
	std::stringstream ss;
	ss << i.rdbuf();
	return ss.str();
}

inline bool write_text(const std::string &path, const std::string &text)
{
	std::ofstream o(path);
	o << text;
	o.flush();
	return bool(o);
}

/* Mount point of a cgroup filesystem of type fstype ("cgroup", "cgroup2")
 * with mount option opt (a v1 controller; "" for any), or "". */
inline std::string cgroup_mount(const std::string &fstype, const std::string &opt)
{
	std::ifstream m("/proc/mounts");
	std::string dev, dir, type, opts, rest;
	while (m >> dev >> dir >> type >> opts && std::getline(m, rest))
		if (type == fstype &&
		    (opt.empty() || ("," + opts + ",").find("," + opt + ",") != std::string::npos))
			return dir;
	return "";
}

/* This process's cgroup path in the hierarchy with controller ctl ("" = the
 * v2 line "0::"), "/" when not found. */
inline std::string cgroup_own_path(const std::string &ctl)
{
	std::ifstream c("/proc/self/cgroup");
	std::string line;
	while (std::getline(c, line)) {
		size_t a = line.find(':'), b = line.find(':', a + 1);
		std::string ctls = line.substr(a + 1, b - a - 1);
		if (ctl.empty() ? ctls.empty() && line.compare(0, 1, "0") == 0
				: ("," + ctls + ",").find("," + ctl + ",") != std::string::npos)
			return line.substr(b + 1);
	}
	return "/";
}

/* Minor and major page faults of this process so far (getrusage). */
struct Faults {
	long minflt = 0, majflt = 0;
	static Faults now()
	{
		struct rusage ru;
		Faults f;
		if (getrusage(RUSAGE_SELF, &ru) == 0) {
			f.minflt = ru.ru_minflt;
			f.majflt = ru.ru_majflt;
		}
		return f;
	}
};

/* Bytes this process caused to be read from storage (/proc/self/io
 * read_bytes; counts readahead). -1 when unknown. */
inline long long io_read_bytes()
{
	FILE *fp = std::fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	if (!fp)
		return -1;
	while (std::fgets(line, sizeof(line), fp))
		if (std::sscanf(line, "read_bytes: %lld", &v) == 1)
			break;
	std::fclose(fp);
	return v;
}

/* Pages of [base, base + len) in the page cache (mincore). -1 on error. */
inline long resident_pages(void *base, size_t len)
{
	size_t pages = (len + kPage - 1) / kPage;
	std::vector<unsigned char> vec(pages);
	long n = 0;

	if (!base || mincore(base, len, vec.data()) < 0)
		return -1;
	for (unsigned char v : vec)
		n += v & 1;
	return n;
}

/* Percent of the mapping resident, for a counter. */
inline double resident_pct(void *base, size_t len)
{
	long r = resident_pages(base, len);
	return r < 0 ? -1.0 : 100.0 * double(r) / double((len + kPage - 1) / kPage);
}

/*
 * Make a file cold: drop the mapping's page-table entries (mapped pages
 * cannot be evicted), write back, then POSIX_FADV_DONTNEED. 0 or -errno.
 */
inline int evict(int fd, void *base, size_t len)
{
	if (base && madvise(base, len, MADV_DONTNEED) < 0)
		return -errno;
	if (fdatasync(fd) < 0)
		return -errno;
	int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return -rc;
}

/* Read one byte of every page: page cache and page tables warm. */
inline uint64_t prefault(const void *base, size_t len)
{
	const unsigned char *c = static_cast<const unsigned char *>(base);
	uint64_t s = 0;

	for (size_t i = 0; i < len; i += kPage)
		s += c[i];
	return s;
}

/* Nearest-rank percentile of sorted samples (q in [0, 1]). */
inline double percentile(const std::vector<uint64_t> &sorted, double q)
{
	if (sorted.empty())
		return 0;
	size_t i = size_t(q * double(sorted.size()));
	return double(sorted[std::min(i, sorted.size() - 1)]);
}

/* Counters p50/p99/p999/max/mean (ns) and samples, from per-op latencies. */
inline void latency_counters(benchmark::State &st, std::vector<uint64_t> &ns)
{
	double sum = 0;

	std::sort(ns.begin(), ns.end());
	for (uint64_t v : ns)
		sum += double(v);
	st.counters["p50_ns"] = percentile(ns, 0.50);
	st.counters["p99_ns"] = percentile(ns, 0.99);
	st.counters["p999_ns"] = percentile(ns, 0.999);
	st.counters["max_ns"] = ns.empty() ? 0 : double(ns.back());
	st.counters["mean_ns"] = ns.empty() ? 0 : sum / double(ns.size());
	st.counters["samples"] = double(ns.size());
}

/* Fault counters of one repetition (per repetition, not per iteration). */
inline void fault_counters(benchmark::State &st, const Faults &before)
{
	Faults after = Faults::now();

	st.counters["minflt"] = double(after.minflt - before.minflt);
	st.counters["majflt"] = double(after.majflt - before.majflt);
}

/* The library's own counters for one handle (see mmf_stats). */
inline void stats_counters(benchmark::State &st, const mmf_stats &s)
{
	st.counters["grows"] = double(s.grows);
	st.counters["remaps"] = double(s.remaps);
	st.counters["moves"] = double(s.moves);
	st.counters["syncs"] = double(s.syncs);
	st.counters["bytes_grown"] = double(s.bytes_grown);
	st.counters["bytes_reserved"] = double(s.bytes_reserved);
	st.counters["grow_ns"] = double(s.grow_ns);
	st.counters["sync_ns"] = double(s.sync_ns);
}

/* Size as it appears in names: 64, 4096, 1048576 (bytes, no unit). */
inline std::string num(size_t v) { return std::to_string(v); }

/* Sizes in MiB as they appear in names: "256MiB". */
inline std::string mib(size_t v) { return std::to_string(v / MiB) + "MiB"; }

/* "BM_Family/k1:v1/k2:v2". */
inline std::string name(const std::string &family,
			const std::vector<std::pair<std::string, std::string>> &kv)
{
	std::string n = family;
	for (const auto &p : kv)
		n += "/" + p.first + ":" + p.second;
	return n;
}

/* Register a row: wall-clock, microseconds. */
inline benchmark::internal::Benchmark *add(const std::string &n,
					   std::function<void(benchmark::State &)> fn)
{
	return benchmark::RegisterBenchmark(n.c_str(), [fn](benchmark::State &st) { fn(st); })
		->UseRealTime()
		->Unit(benchmark::kMicrosecond);
}

/*
 * The scratch directory of this process: $MMF_BENCH_DIR (default /var/tmp)
 * /mmf-bench.XXXXXX, made on first use and removed (with anything left in it)
 * when the program ends. The parent is checked first (mmf_scratch_parent: a
 * directory, not a symlink, of this user or root, sticky if others can
 * write in it); a refusal leaves ok() false and why() says it in one line.
 */
class Scratch {
public:
	static Scratch &get()
	{
		static Scratch s;
		return s;
	}
	const std::string &dir() const { return dir_; }
	std::string path(const std::string &leaf) const { return dir_ + "/" + leaf; }
	bool ok() const { return !dir_.empty(); }
	const std::string &why() const { return why_; }
	~Scratch()
	{
		if (ok() && nftw(dir_.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
			std::fprintf(stderr, "bench: could not remove %s\n", dir_.c_str());
	}
	/* $MMF_BENCH_DIR, default /var/tmp (a disk, not a tmpfs: the files
	 * must be able to leave memory). */
	static std::string base()
	{
		const char *b = std::getenv("MMF_BENCH_DIR");
		return b && *b ? b : "/var/tmp";
	}

private:
	static int remove_one(const char *p, const struct stat *, int, struct FTW *)
	{
		return remove(p);
	}
	Scratch()
	{
		char why[PATH_MAX + 128];

		if (mmf_scratch_parent(base().c_str(), why, sizeof(why)) < 0) {
			why_ = why;
			return;
		}
		/* mkdtemp: a fresh name, mode 0700; nobody else made it first */
		std::string tmpl = base() + "/mmf-bench.XXXXXX";
		std::vector<char> buf(tmpl.begin(), tmpl.end());
		buf.push_back('\0');
		if (mkdtemp(buf.data()))
			dir_ = buf.data();
		else
			why_ = base() + ": cannot make a scratch directory there: " + std::strerror(errno);
	}
	std::string dir_, why_;
};

/* A file path in the scratch directory that is unlinked when this goes. */
class TempPath {
public:
	explicit TempPath(const std::string &leaf) : path_(Scratch::get().path(leaf)) {}
	~TempPath() { unlink(path_.c_str()); }
	TempPath(const TempPath &) = delete;
	TempPath &operator=(const TempPath &) = delete;
	const char *c_str() const { return path_.c_str(); }

private:
	std::string path_;
};

/*
 * Write `size` bytes of fill_pattern data to the open file fd from offset 0,
 * calling stamp on each 1 MiB chunk before it is written, then fdatasync.
 * 0 or -errno; fd stays open.
 */
inline int write_fd(int fd, size_t size, uint64_t seed,
		    const std::function<void(unsigned char *, size_t)> &stamp)
{
	std::vector<unsigned char> chunk(MiB);
	int rc = 0;

	for (size_t off = 0; off < size && rc == 0; off += MiB) {
		size_t n = std::min(MiB, size - off);
		fill_pattern(chunk.data(), n, seed + off);
		if (stamp)
			stamp(chunk.data(), n);
		if (pwrite(fd, chunk.data(), n, off_t(off)) != ssize_t(n))
			rc = errno ? -errno : -EIO;
	}
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	return rc;
}

/* write_fd into path (O_TRUNC, created 0600). 0 or -errno. */
inline int write_file(const char *path, size_t size, uint64_t seed,
		      const std::function<void(unsigned char *, size_t)> &stamp)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	int rc = write_fd(fd, size, seed, stamp);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Filesystem type of the scratch directory (from /proc/self/mountinfo's
 * longest matching mount point), for the context. */
inline std::string fs_type(const std::string &dir)
{
	FILE *fp = std::fopen("/proc/self/mountinfo", "r");
	char line[4096];
	std::string best, type = "unknown";

	if (!fp)
		return type;
	while (std::fgets(line, sizeof(line), fp)) {
		char mnt[1024], fst[64];
		const char *dash = std::strstr(line, " - ");
		if (!dash || std::sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
		    std::sscanf(dash + 3, "%63s", fst) != 1)
			continue;
		std::string m = mnt;
		bool under = dir.compare(0, m.size(), m) == 0 &&
			     (m == "/" || dir.size() == m.size() || dir[m.size()] == '/');
		if (under && m.size() >= best.size()) {
			best = m;
			type = fst;
		}
	}
	std::fclose(fp);
	return type;
}

/*
 * Device work (issue 12 section 1). Two sources, both read before and after
 * a row's counted window:
 *
 * - The block device that holds the scratch folder: /sys/block/<dev>/stat of
 *   the device st_dev names, a partition resolved to its whole disk (the
 *   disk is what gets the flushes); device-mapper and loop devices count
 *   their own I/O and are used as they are. Fields (Documentation/block/
 *   stat.rst, 1-based): 1 reads completed, 3 sectors read, 5 writes
 *   completed, 7 sectors written, 16 flush requests completed; a sector is
 *   512 bytes. DEVICE-WIDE: it includes the journal, metadata, background
 *   writeback of anything on that disk and every other process's I/O.
 * - This process's /proc/self/io read_bytes and write_bytes: bytes it made
 *   the kernel read from storage, and bytes of page cache it DIRTIED (counted
 *   per folio when a clean folio turns dirty: one store into a clean 1 MiB
 *   folio counts 1 MiB). Immune to other processes; what writeback will
 *   write for this process's data.
 */
struct DevIO {
	double reads = 0, read_bytes = 0, writes = 0, write_bytes = 0, flushes = 0;
	double proc_read_bytes = 0, proc_dirtied_bytes = 0;
	double own_reads = 0, own_read_bytes = 0, own_writes = 0, own_write_bytes = 0;
	bool ok = false, own_ok = false;
};

/* /sys/block/<dev>/stat for the device holding dir ("" when unknown). */
inline std::string dev_stat_path(const std::string &dir)
{
	struct stat sb;
	char link[64], real[PATH_MAX];

	if (stat(dir.c_str(), &sb) < 0)
		return "";
	std::snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(sb.st_dev),
		      minor(sb.st_dev));
	if (!realpath(link, real))
		return "";
	std::string p = real;
	if (access((p + "/partition").c_str(), F_OK) == 0)
		p = p.substr(0, p.rfind('/'));
	return access((p + "/stat").c_str(), R_OK) == 0 ? p + "/stat" : "";
}

/* The stat file of the scratch folder's device, resolved once. */
inline const std::string &scratch_dev_stat()
{
	static const std::string p = dev_stat_path(Scratch::get().dir());
	return p;
}

/* The device's name for the context ("vda"), or "unknown". */
inline std::string scratch_dev_name()
{
	const std::string &p = scratch_dev_stat();
	if (p.empty())
		return "unknown";
	std::string d = p.substr(0, p.rfind('/'));
	return d.substr(d.rfind('/') + 1);
}

/* "major:minor" of the device whose stat file is p ("" when unknown). */
inline std::string dev_numbers(const std::string &stat_path)
{
	if (stat_path.empty())
		return "";
	std::string d = read_text(stat_path.substr(0, stat_path.rfind('/')) + "/dev");
	while (!d.empty() && (d.back() == '\n' || d.back() == ' '))
		d.pop_back();
	return d;
}

/*
 * This process's own I/O to the scratch device (root, cgroup v1 blkio): the
 * process moves into a child blkio cgroup mmf-bench-io-<pid> (removed at
 * exit) whose read and write limits on the device are set to 2^50 bytes/s,
 * a limit that never binds but makes the kernel's throttle layer count the
 * cgroup's bios (blkio.throttle.io_service_bytes, .io_serviced). Counted:
 * every bio submitted in this process's context -- reads, write(2)/msync/
 * fdatasync writeback it waits for, discards are excluded. Not counted: the
 * ext4 journal (jbd2 thread), background writeback by the flusher threads,
 * other processes. why() says why it is unavailable ("" when it works).
 */
class OwnIO {
public:
	static OwnIO &get()
	{
		static OwnIO o;
		return o;
	}
	const std::string &why() const { return why_; }
	const std::string &path() const { return child_; }
	/* Read/Write bytes and bios of the cgroup on the device; false when
	 * unavailable. */
	bool read(double *rbytes, double *wbytes, double *rios, double *wios) const
	{
		if (child_.empty())
			return false;
		return parse(child_ + "/blkio.throttle.io_service_bytes", rbytes, wbytes) &&
		       parse(child_ + "/blkio.throttle.io_serviced", rios, wios);
	}
	~OwnIO()
	{
		if (child_.empty())
			return;
		write_text(parent_ + "/cgroup.procs", std::to_string(getpid()));
		rmdir(child_.c_str());
	}

private:
	OwnIO()
	{
		std::string mnt = cgroup_mount("cgroup", "blkio");
		dev_ = dev_numbers(dev_stat_path(Scratch::get().dir()));
		if (geteuid() != 0 || mnt.empty() || dev_.empty()) {
			why_ = geteuid() != 0 ? "needs root" : mnt.empty() ? "no cgroup v1 blkio"
									: "device unknown";
			return;
		}
		std::string own = cgroup_own_path("blkio");
		parent_ = mnt + (own == "/" ? "" : own);
		std::string child = parent_ + "/mmf-bench-io-" + std::to_string(getpid());
		const std::string lim = dev_ + " 1125899906842624";
		/* Made fresh: one that exists (a leftover, or another user's
		 * where the hierarchy is delegated) is not joined (issue 16). */
		if (mkdir(child.c_str(), 0755) < 0) {
			why_ = "cannot make " + child + ": " + std::strerror(errno);
			return;
		}
		if (!write_text(child + "/blkio.throttle.read_bps_device", lim) ||
		    !write_text(child + "/blkio.throttle.write_bps_device", lim) ||
		    !write_text(child + "/cgroup.procs", std::to_string(getpid()))) {
			why_ = "cannot set up or join " + child;
			rmdir(child.c_str());
			return;
		}
		child_ = child;
	}
	bool parse(const std::string &file, double *r, double *w) const
	{
		std::string text = read_text(file), line;
		std::istringstream in(text);
		*r = *w = 0;
		while (std::getline(in, line)) {
			std::istringstream l(line);
			std::string dev, op;
			double v;
			if (l >> dev >> op >> v && dev == dev_ && (op == "Read" || op == "Write"))
				*(op == "Read" ? r : w) = v;
		}
		return !text.empty();	/* "Total 0" before any I/O */
	}
	std::string why_, dev_, parent_, child_;
};

inline DevIO devio_now()
{
	DevIO d;
	const std::string &p = scratch_dev_stat();
	FILE *fp = p.empty() ? nullptr : std::fopen(p.c_str(), "r");
	double f[17] = {0};
	int n = 0;

	if (fp) {
		while (n < 17 && std::fscanf(fp, "%lf", &f[n]) == 1)
			n++;
		std::fclose(fp);
	}
	d.ok = n >= 11;
	d.reads = f[0];
	d.read_bytes = f[2] * 512;
	d.writes = f[4];
	d.write_bytes = f[6] * 512;
	d.flushes = n >= 16 ? f[15] : 0;
	fp = std::fopen("/proc/self/io", "r");
	char line[128];
	long long v;
	while (fp && std::fgets(line, sizeof(line), fp)) {
		if (std::sscanf(line, "read_bytes: %lld", &v) == 1)
			d.proc_read_bytes = double(v);
		else if (std::sscanf(line, "write_bytes: %lld", &v) == 1)
			d.proc_dirtied_bytes = double(v);
	}
	if (fp)
		std::fclose(fp);
	d.own_ok = OwnIO::get().read(&d.own_read_bytes, &d.own_write_bytes, &d.own_reads,
				     &d.own_writes);
	return d;
}

/*
 * Device counters of one window (from `begin` to now), per repetition:
 * dev_reads, dev_read_bytes, dev_writes, dev_write_bytes, dev_flushes,
 * proc_read_bytes, proc_dirtied_bytes; and, when given, write_amp =
 * dev_write_bytes / dirtied (bytes the caller stored), dirty_amp =
 * proc_dirtied_bytes / dirtied, read_amp = dev_read_bytes / asked. All -1
 * when the device's stat cannot be read.
 */
inline void device_counters(benchmark::State &st, const DevIO &begin, double dirtied,
			    double asked)
{
	DevIO e = devio_now();
	bool ok = begin.ok && e.ok;
	auto d = [ok](double a, double b) { return ok ? a - b : -1.0; };

	st.counters["dev_reads"] = d(e.reads, begin.reads);
	st.counters["dev_read_bytes"] = d(e.read_bytes, begin.read_bytes);
	st.counters["dev_writes"] = d(e.writes, begin.writes);
	st.counters["dev_write_bytes"] = d(e.write_bytes, begin.write_bytes);
	st.counters["dev_flushes"] = d(e.flushes, begin.flushes);
	bool own = begin.own_ok && e.own_ok;
	auto o = [own](double a, double b) { return own ? a - b : -1.0; };
	st.counters["own_reads"] = o(e.own_reads, begin.own_reads);
	st.counters["own_read_bytes"] = o(e.own_read_bytes, begin.own_read_bytes);
	st.counters["own_writes"] = o(e.own_writes, begin.own_writes);
	st.counters["own_write_bytes"] = o(e.own_write_bytes, begin.own_write_bytes);
	st.counters["proc_read_bytes"] = e.proc_read_bytes - begin.proc_read_bytes;
	st.counters["proc_dirtied_bytes"] = e.proc_dirtied_bytes - begin.proc_dirtied_bytes;
	if (dirtied > 0) {
		st.counters["write_amp"] = ok ? (e.write_bytes - begin.write_bytes) / dirtied : -1;
		st.counters["own_write_amp"] =
			own ? (e.own_write_bytes - begin.own_write_bytes) / dirtied : -1;
		st.counters["dirty_amp"] =
			(e.proc_dirtied_bytes - begin.proc_dirtied_bytes) / dirtied;
	}
	if (asked > 0) {
		st.counters["read_amp"] = ok ? (e.read_bytes - begin.read_bytes) / asked : -1;
		st.counters["own_read_amp"] =
			own ? (e.own_read_bytes - begin.own_read_bytes) / asked : -1;
	}
}

/*
 * System-wide pressure over a row (issue 12 section 5), read before and after
 * its timed loop:
 * - TLB shootdowns: the "TLB:" line of /proc/interrupts summed over the CPUs
 *   (IPIs one CPU sent to make others flush a mapping from their TLB: unmaps
 *   and reclaim of mapped pages cause them);
 * - PSI: the "some" total (microseconds in which at least one task was
 *   stalled) of /proc/pressure/memory and /proc/pressure/io.
 * SYSTEM-WIDE: other processes add to both. A source that cannot be read
 * stays -1 (kernel without PSI, CONFIG_PSI=n, or psi=0 on the command line).
 */
struct Pressure {
	double tlb = -1, psi_memory_us = -1, psi_io_us = -1;
	uint64_t t_ns = 0;

	static double tlb_now()
	{
		std::ifstream in("/proc/interrupts");
		std::string line;
		while (std::getline(in, line)) {
			std::istringstream l(line);
			std::string tag, tok;
			if (!(l >> tag) || tag != "TLB:")
				continue;
			double sum = 0;
			char *end;
			while (l >> tok) {
				double v = std::strtod(tok.c_str(), &end);
				if (*end != '\0')
					break;	/* the description after the counts */
				sum += v;
			}
			return sum;
		}
		return -1;
	}
	/* The "some ... total=N" of a PSI file, or -1. */
	static double psi_some_us(const char *path)
	{
		std::string t = read_text(path);
		size_t p = t.compare(0, 5, "some ") == 0 ? t.find("total=") : std::string::npos;
		return p == std::string::npos ? -1 : std::strtod(t.c_str() + p + 6, nullptr);
	}
	static Pressure now()
	{
		Pressure p;
		p.tlb = tlb_now();
		p.psi_memory_us = psi_some_us("/proc/pressure/memory");
		p.psi_io_us = psi_some_us("/proc/pressure/io");
		p.t_ns = now_ns();
		return p;
	}
};

/* Counters of the window from `begin` to now, over `reads` reads:
 * tlb_shootdowns (total), tlb_shootdowns_per_read, psi_memory_some_pct and
 * psi_io_some_pct (stall microseconds / wall microseconds of the window x
 * 100). -1 where the source is absent. */
inline void pressure_counters(benchmark::State &st, const Pressure &begin, double reads)
{
	Pressure e = Pressure::now();
	double wall_us = double(e.t_ns - begin.t_ns) / 1e3;
	auto pct = [wall_us](double a, double b) {
		return a < 0 || b < 0 || wall_us <= 0 ? -1.0 : 100.0 * (a - b) / wall_us;
	};
	bool tlb = begin.tlb >= 0 && e.tlb >= 0;
	st.counters["tlb_shootdowns"] = tlb ? e.tlb - begin.tlb : -1;
	st.counters["tlb_shootdowns_per_read"] =
		tlb && reads > 0 ? (e.tlb - begin.tlb) / reads : -1;
	st.counters["psi_memory_some_pct"] = pct(e.psi_memory_us, begin.psi_memory_us);
	st.counters["psi_io_some_pct"] = pct(e.psi_io_us, begin.psi_io_us);
}

/*
 * The untimed warm-up pass of a repetition that fills new page cache: run
 * `pass` (the repetition's appends into a file it deletes at once) before
 * the timed pass, which then gets the memory this one freed, as a writer
 * in its steady state recycles its own. On a VM whose balloon reports free
 * blocks of 2 MiB and more to the host (virtio free page reporting,
 * /sys/module/page_reporting, order 9 here) memory idle for ~2 s goes back
 * to the host, and its first touch ran at 0.4-0.7 GB/s against 4-9 GB/s
 * warm, for write(2) as for stores, in whichever rows ran after an idle
 * gap (bench/README.md "Appends at every size"). Returns the ns it took,
 * for the counter warm_ns.
 */
template <class Pass> double warm_up(Pass pass)
{
	uint64_t t0 = now_ns();

	pass();
	return double(now_ns() - t0);
}

/* Write back every dirty page of the scratch folder's filesystem (syncfs),
 * so a row's window starts with no writeback owed by rows before it. */
inline void settle_scratch()
{
	int fd = open(Scratch::get().dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)syncfs(fd);
		close(fd);
	}
}

/*
 * main(): --mmf_profile=quick|full or --mmf_profile quick|full (or
 * $MMF_BENCH_PROFILE; the words of mmf_cli.h), then reg(), then Google
 * Benchmark as usual. A bad or missing profile, or a flag neither knows, is
 * one line on stderr and exit 2, before any benchmark runs; --help prints
 * this program's flag and then Google Benchmark's. Returns 1 when the
 * scratch directory cannot be made.
 */
inline int run_main(int argc, char **argv, void (*reg)())
{
	const char *env = std::getenv("MMF_BENCH_PROFILE");
	std::vector<char *> args;
	std::string prof = env && *env ? env : "quick", from = "MMF_BENCH_PROFILE";
	const char *flag = "--mmf_profile";
	size_t flen = std::strlen(flag);

	for (int i = 0; i < argc; i++) {
		if (i > 0 && std::strcmp(argv[i], "--help") == 0)
			std::printf("%s flags:\n  %s=quick|full  which rows to register "
				    "(default quick, or $MMF_BENCH_PROFILE)\n"
				    "Google Benchmark flags:\n", argv[0], flag);
		if (i == 0 || std::strncmp(argv[i], flag, flen) != 0 ||
		    (argv[i][flen] != '=' && argv[i][flen] != '\0')) {
			args.push_back(argv[i]);
			continue;
		}
		if (argv[i][flen] == '=') {
			prof = argv[i] + flen + 1;
		} else if (i + 1 < argc) {
			prof = argv[++i];
		} else {
			std::fprintf(stderr, "%s: %s needs a value (quick or full)\n", argv[0], flag);
			return 2;
		}
		from = flag;
	}
	int p = mmf_cli_profile(prof.c_str());
	if (p < 0) {
		std::fprintf(stderr, "%s: %s: '%s' is not one of quick|full\n", argv[0],
			     from.c_str(), prof.c_str());
		return 2;
	}
	profile_ref() = p == 1 ? Profile::full : Profile::quick;
	if (!Scratch::get().ok()) {
		std::fprintf(stderr, "%s: MMF_BENCH_DIR %s\n", argv[0], Scratch::get().why().c_str());
		return 1;
	}
	benchmark::AddCustomContext("mmf_profile", prof);
	benchmark::AddCustomContext("mmf_bench_dir", Scratch::get().dir());
	benchmark::AddCustomContext("mmf_bench_fs", fs_type(Scratch::get().dir()));
	benchmark::AddCustomContext("mmf_bench_dev", scratch_dev_name());
	benchmark::AddCustomContext("mmf_bench_own_io", OwnIO::get().why().empty()
								? OwnIO::get().path()
								: "unavailable: " + OwnIO::get().why());
	reg();
	int n = int(args.size());
	args.push_back(nullptr);
	benchmark::Initialize(&n, args.data());
	if (benchmark::ReportUnrecognizedArguments(n, args.data()))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}

} /* namespace mmfb */

#define MMF_BENCH_MAIN(reg) \
	int main(int argc, char **argv) { return mmfb::run_main(argc, argv, (reg)); }

#endif /* MMF_BENCH_FIXTURE_H */
