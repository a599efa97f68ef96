/*
 * loadgen - run a capacity-planning workload for real with libmmapfile.
 *
 * Used by `scripts/report --validate SPEC`, which turns a workload spec into
 * these flags, runs this program (twice: unthrottled, then paced at the
 * spec's rate) and sets its measurements next to the model's predictions.
 *
 * The workload: one writer appends records of --rec bytes to a file opened
 * with the spec's growth policy, syncs every --sync-every records or every
 * --sync-interval-us microseconds (or only at roll), and when the data
 * reaches --roll bytes it records the file's figures (size, blocks on disk,
 * grows, remaps, resident pages), truncates the file to its data (with
 * --truncate-on-roll), closes it and starts the next one. With
 * --reads-per-record R it also reads R random records of --read-rec bytes
 * (per appended record) from a warm read set of --read-set bytes, through the
 * mapping (mmf_bytes + checksum) or pread(2) + checksum. It stops after
 * --seconds or --files rolled files, whichever comes first.
 *
 * The file options: --options default|seed_compat (mmf_options_init or
 * mmf_options_seed), then --grow, --flags, --chunk, --max-step override the
 * set's values one by one; the words are those of mmf_cli.h. --help lists
 * every option.
 *
 * Device work (bench/common/devio.h, the sources of bench/README.md "Device
 * work"): the scratch filesystem is synced (syncfs) before the timed loop,
 * then the device's counters are read at its start and right after it (after
 * the last sync or roll): "device" in the output, device-wide dev_* (the
 * journal and every other process's I/O on the disk included), own_* (this
 * process's bios; root and cgroup v1 blkio, else -1) and proc_dirtied_bytes.
 * --device-idle S first measures the device-wide write rate of the others
 * over S seconds of sleep (dev_idle_write_bps), to judge dev_* by.
 *
 * Output: one JSON object on stdout (see print_result): counts, rates, sync
 * latency percentiles, CPU seconds, device work, and the figures of every
 * rolled file.
 * Exit status 0, or 1 with a message on stderr when any library or system
 * call fails, 2 for bad usage (one line on stderr, before any work).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devio.h"
#include "mmapfile.h"
#include "mmf_cli.h"

#define MAX_FILES 64
#define PAGE 4096u

struct args {
	const char *dir;
	size_t rec, init, roll, read_rec, read_set;
	const char *api, *read_api, *read_order;
	mmf_options opt;	/* of every file it opens */
	uint64_t sync_every, sync_interval_us;
	double rate_bps, seconds, reads_per_record, device_idle_s;
	int files;
	bool truncate_on_roll;
};

struct file_fig {
	uint64_t data, size, blocks_bytes, resident_bytes, size_after;
	uint64_t grows, remaps, moves, grow_ns, syncs;
	double seconds;
};

struct result {
	uint64_t records, bytes, reads, syncs;
	double elapsed_s, read_s, cpu_s;
	uint64_t *sync_ns;
	size_t nsync, capsync;
	struct file_fig files[MAX_FILES];
	int nfiles;
	uint64_t read_set_resident, rss_file_max_kb;
	uint64_t sum;
	struct mmf_devio io;
	struct mmf_devio_snap dev0, dev1;	/* the timed loop's window */
	double dev_idle_write_bps;		/* -1: not measured */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, mmf_strerror(err < 0 ? err : -err));
	exit(1);
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t a = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		a += w;
	}
	for (; i < n; i++)
		a += p[i];
	return a;
}

/* RssFile of this process in KiB (/proc/self/status), 0 when unknown. */
static uint64_t rss_file_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = 0;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "RssFile: %llu", &v) == 1)
			break;
	fclose(fp);
	return v;
}

static uint64_t resident_bytes(void *base, size_t len)
{
	size_t pages = (len + PAGE - 1) / PAGE, n = 0;
	unsigned char *vec;

	if (!base || len == 0)
		return 0;
	vec = malloc(pages);
	if (!vec || mincore(base, len, vec) < 0) {
		free(vec);
		return 0;
	}
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return (uint64_t)n * PAGE;
}

static const char *const read_apis[] = { "bytes", "pread", NULL };
static const char *const read_orders[] = { "rand", "seq", NULL };

/* Parse argv into *a (mmf_cli.h); exits 0 after --help, 2 on a usage error
 * (one line on stderr, before any work). */
static void parse_args(int argc, char **argv, struct args *a)
{
	uint64_t rec = 0, init = 1 << 20, roll = 0, chunk = 0, max_step = 0,
		 read_rec = 4096, read_set = 0, files = MAX_FILES;
	int api = 0, read_api = 0, read_order = 0, rc;
	mmf_options base, over;
	struct mmf_cli_opt opts[] = {
		MMF_CLI_STRING("dir", &a->dir, "DIR", "where the files go (required)"),
		MMF_CLI_U64("rec", &rec, 8, 1u << 30, "BYTES", "record size (required)"),
		MMF_CLI_U64("roll", &roll, 8, UINT64_MAX / 2, "BYTES",
			    "roll to a new file at this much data (required, >= --rec)"),
		MMF_CLI_CHOICE("api", &api, mmf_cli_append_apis,
			       "the append call (default allocate_slice)"),
		MMF_CLI_OPTION_SET_OPT("options", &base,
				       "the option set to start from (default default)"),
		MMF_CLI_GROWTH_OPT("grow", &over.grow, "growth policy (default: the set's)"),
		MMF_CLI_FLAGS_OPT("flags", &over.flags, "flags (default: the set's)"),
		MMF_CLI_U64("chunk", &chunk, 1, UINT64_MAX / 2, "BYTES",
			    "step of the chunk policy (default: the set's)"),
		MMF_CLI_U64("max-step", &max_step, 1, UINT64_MAX / 2, "BYTES",
			    "cap of one doubling step (default: the set's)"),
		MMF_CLI_U64("init", &init, 0, UINT64_MAX / 2, "BYTES",
			    "size a new file is opened with (default 1 MiB)"),
		MMF_CLI_U64("sync-every", &a->sync_every, 1, UINT64_MAX, "N",
			    "sync every N records"),
		MMF_CLI_U64("sync-interval-us", &a->sync_interval_us, 1, UINT64_MAX / 1000,
			    "U", "sync every U microseconds (neither: only at roll)"),
		MMF_CLI_REAL("rate", &a->rate_bps, 0, 1e15, "BYTES_PER_S",
			     "pace the appends (default 0: as fast as possible)"),
		MMF_CLI_REAL("seconds", &a->seconds, 0.001, 1e6, "S",
			     "stop after S seconds (default 10)"),
		MMF_CLI_U64("files", &files, 1, MAX_FILES, "N", "or after N rolled files"),
		MMF_CLI_SWITCH("truncate-on-roll", &a->truncate_on_roll,
			       "cut each file to its data before closing it"),
		MMF_CLI_REAL("reads-per-record", &a->reads_per_record, 0, 1e6, "R",
			     "random reads per appended record (default 0)"),
		MMF_CLI_U64("read-rec", &read_rec, 8, 1u << 30, "BYTES",
			    "size of one read (default 4096)"),
		MMF_CLI_U64("read-set", &read_set, 0, UINT64_MAX / 2, "BYTES",
			    "size of the warm read set"),
		MMF_CLI_CHOICE("read-api", &read_api, read_apis,
			       "read through the mapping or pread(2) (default bytes)"),
		MMF_CLI_CHOICE("read-order", &read_order, read_orders,
			       "random or sequential records (default rand)"),
		MMF_CLI_REAL("device-idle", &a->device_idle_s, 0, 60, "S",
			     "first measure the device's write rate while idle for S s (default 0)"),
	};
	struct mmf_cli cli = {
		.prog = "loadgen", .synopsis = "--dir DIR --rec BYTES --roll BYTES [options]",
		.about = "Runs a capacity-planning workload for real; prints one JSON "
			 "object with what it measured.",
		.opts = opts, .nopts = sizeof(opts) / sizeof(opts[0]),
	};

	*a = (struct args){.seconds = 10};
	mmf_options_init(&base);
	mmf_options_init(&over);
	rc = mmf_cli_parse(&cli, argc, argv);
	if (rc != MMF_CLI_OK)
		exit(mmf_cli_exit(rc));
	if (!a->dir || !rec || !roll)
		exit(mmf_cli_usage_error(&cli, "--dir, --rec and --roll are required"));
	if (roll < rec)
		exit(mmf_cli_usage_error(&cli, "--roll must be >= --rec"));
	if (a->reads_per_record > 0 && read_set < read_rec)
		exit(mmf_cli_usage_error(&cli, "--read-set must hold at least one --read-rec"));
	if (mmf_cli_find(&cli, "grow")->seen)
		base.grow = over.grow;
	if (mmf_cli_find(&cli, "flags")->seen)
		base.flags = over.flags;
	if (chunk)
		base.grow_chunk = (size_t)chunk;
	if (max_step)
		base.grow_max_step = (size_t)max_step;
	a->opt = base;
	a->rec = (size_t)rec;
	a->init = (size_t)init;
	a->roll = (size_t)roll;
	a->read_rec = (size_t)read_rec;
	a->read_set = (size_t)read_set;
	a->files = (int)files;
	a->api = mmf_cli_append_apis[api];
	a->read_api = read_apis[read_api];
	a->read_order = read_orders[read_order];
}

/* The warm read set: a file of read_set pattern bytes, mapped, read once. */
struct read_set {
	mmf_file *f;
	int fd;
	size_t size;
	uint64_t rng;
	size_t seq;
	unsigned char *buf;
};

static void read_set_open(const struct args *a, struct read_set *rs)
{
	char path[4096];
	unsigned char *chunk = malloc(1 << 20);
	uint64_t x = 12345;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/read-set.dat", a->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || !chunk)
		die("creating the read set", -errno);
	for (size_t off = 0; off < a->read_set; off += 1 << 20) {
		size_t n = a->read_set - off < (1u << 20) ? a->read_set - off : 1u << 20;
		for (size_t i = 0; i + 8 <= n; i += 8) {
			uint64_t v = xorshift(&x);
			memcpy(chunk + i, &v, 8);
		}
		if (pwrite(fd, chunk, n, (off_t)off) != (ssize_t)n)
			die("writing the read set", -errno);
	}
	free(chunk);
	close(fd);
	rc = mmf_open(path, O_RDONLY, 0, NULL, &rs->f);
	if (rc < 0)
		die("opening the read set", rc);
	rs->fd = mmf_fd(rs->f);
	rs->size = mmf_size(rs->f);
	rs->rng = 88172645463325252ull;
	rs->buf = malloc(a->read_rec);
	if (!rs->buf)
		die("malloc", -ENOMEM);
	/* warm: every page in the page cache and the page tables */
	for (size_t i = 0; i < rs->size; i += PAGE)
		rs->buf[0] += ((const unsigned char *)mmf_data(rs->f))[i];
	unlink(path);
}

static uint64_t read_one(const struct args *a, struct read_set *rs)
{
	size_t n = rs->size / a->read_rec, idx, off;
	const void *p;
	int rc;

	if (a->read_order[0] == 's')
		idx = rs->seq++ % n;
	else
		idx = xorshift(&rs->rng) % n;
	off = idx * a->read_rec;
	if (strcmp(a->read_api, "pread") == 0) {
		if (pread(rs->fd, rs->buf, a->read_rec, (off_t)off) != (ssize_t)a->read_rec)
			die("pread", -errno);
		return checksum(rs->buf, a->read_rec);
	}
	rc = mmf_bytes(rs->f, off, a->read_rec, &p);
	if (rc < 0)
		die("mmf_bytes", rc);
	return checksum(p, a->read_rec);
}

static void timed_sync(mmf_file *f, struct result *r)
{
	uint64_t t0 = now_ns();
	int rc = mmf_sync(f);

	if (rc < 0)
		die("mmf_sync", rc);
	if (r->nsync == r->capsync) {
		r->capsync = r->capsync ? 2 * r->capsync : 4096;
		r->sync_ns = realloc(r->sync_ns, r->capsync * sizeof(*r->sync_ns));
		if (!r->sync_ns)
			die("realloc", -ENOMEM);
	}
	r->sync_ns[r->nsync++] = now_ns() - t0;
	r->syncs++;
}

/* Figures of a file that reached its roll size, then truncate and close. */
static void roll_file(const struct args *a, mmf_file *f, uint64_t data,
		      double seconds, struct result *r)
{
	struct file_fig *ff = &r->files[r->nfiles++];
	struct stat st;
	mmf_stats s;
	int rc;

	if (a->sync_every == 0 && a->sync_interval_us == 0)
		timed_sync(f, r);	/* sync at roll */
	mmf_stats_get(f, &s);
	if (fstat(mmf_fd(f), &st) < 0)
		die("fstat", -errno);
	ff->data = data;
	ff->size = mmf_size(f);
	ff->blocks_bytes = (uint64_t)st.st_blocks * 512;
	ff->resident_bytes = resident_bytes(mmf_data(f), mmf_size(f));
	ff->grows = s.grows;
	ff->remaps = s.remaps;
	ff->moves = s.moves;
	ff->grow_ns = s.grow_ns;
	ff->syncs = s.syncs;
	ff->seconds = seconds;
	uint64_t rss = rss_file_kb();
	if (rss > r->rss_file_max_kb)
		r->rss_file_max_kb = rss;
	if (a->truncate_on_roll && (rc = mmf_truncate(f, data)) < 0)
		die("mmf_truncate", rc);
	ff->size_after = mmf_size(f);
	if ((rc = mmf_delete(f)) < 0)	/* a benchmark keeps no data */
		die("mmf_delete", rc);
}

/* Append one record at *off; returns 0 when the record does not fit the roll
 * size (the caller rolls), 1 when appended. */
static int append_one(const struct args *a, mmf_file *f, const unsigned char *payload,
		      size_t *off)
{
	void *p;
	size_t next;
	int rc;

	if (*off + a->rec > a->roll)
		return 0;
	if (strcmp(a->api, "append_buffer") == 0) {
		rc = mmf_append_buffer(f, *off, payload, a->rec);
		if (rc < 0)
			die("mmf_append_buffer", rc);
		*off += a->rec;
		return 1;
	}
	rc = mmf_allocate_slice(f, a->rec - 4, *off, &p, &next);
	if (rc < 0)
		die("mmf_allocate_slice", rc);
	memcpy(p, payload, a->rec - 4);
	*off = next;
	return 1;
}

static void pace(const struct args *a, uint64_t t0, uint64_t bytes)
{
	uint64_t due, now;
	struct timespec ts;

	if (a->rate_bps <= 0)
		return;
	due = t0 + (uint64_t)((double)bytes / a->rate_bps * 1e9);
	now = now_ns();
	if (due <= now + 50000)	/* sleep only when > 50 us ahead */
		return;
	ts.tv_sec = (time_t)(due / 1000000000u);
	ts.tv_nsec = (long)(due % 1000000000u);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static mmf_file *open_next(const struct args *a, int n)
{
	char path[4096];
	mmf_file *f;
	int rc;

	snprintf(path, sizeof(path), "%s/seg-%03d.log", a->dir, n);
	rc = mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, a->init, &a->opt, &f);
	if (rc < 0)
		die("mmf_open", rc);
	return f;
}

/* User + system CPU seconds of this process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Write back everything dirty on dir's filesystem (syncfs): the window starts
 * with no writeback owed by what came before (the read set, other files). */
static void settle(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

/* The device-wide write rate while this process sleeps for s seconds. */
static double idle_write_bps(const struct mmf_devio *io, double s)
{
	struct mmf_devio_snap x, y;
	struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
	uint64_t t0;

	mmf_devio_read(io, &x);
	t0 = now_ns();
	nanosleep(&ts, NULL);
	mmf_devio_read(io, &y);
	if (x.write_bytes < 0 || y.write_bytes < 0)
		return -1;
	return (y.write_bytes - x.write_bytes) / ((double)(now_ns() - t0) / 1e9);
}

static void run(const struct args *a, struct result *r)
{
	unsigned char *payload = malloc(a->rec);
	struct read_set rs = {0};
	uint64_t x = 42, t0, tfile, last_sync, stop, since_sync = 0;
	double reads_due = 0;
	size_t off = 0;
	mmf_file *f;

	if (!payload)
		die("malloc", -ENOMEM);
	for (size_t i = 0; i + 8 <= a->rec; i += 8) {
		uint64_t v = xorshift(&x);
		memcpy(payload + i, &v, 8);
	}
	if (a->reads_per_record > 0)
		read_set_open(a, &rs);
	f = open_next(a, 0);
	settle(a->dir);
	mmf_devio_read(&r->io, &r->dev0);
	r->cpu_s = -cpu_seconds();
	t0 = tfile = last_sync = now_ns();
	stop = t0 + (uint64_t)(a->seconds * 1e9);
	for (;;) {
		if (!append_one(a, f, payload, &off)) {
			roll_file(a, f, off, (double)(now_ns() - tfile) / 1e9, r);
			if (r->nfiles >= a->files)
				break;
			f = open_next(a, r->nfiles);
			off = 0;
			tfile = now_ns();
			continue;
		}
		r->records++;
		r->bytes += a->rec;
		since_sync++;
		if ((a->sync_every && since_sync >= a->sync_every) ||
		    (a->sync_interval_us && now_ns() - last_sync >= a->sync_interval_us * 1000)) {
			timed_sync(f, r);
			since_sync = 0;
			last_sync = now_ns();
		}
		for (reads_due += a->reads_per_record; reads_due >= 1; reads_due -= 1) {
			uint64_t rt = now_ns();
			r->sum += read_one(a, &rs);
			r->read_s += (double)(now_ns() - rt) / 1e9;
			r->reads++;
		}
		pace(a, t0, r->bytes);
		if (now_ns() >= stop)
			break;
	}
	r->elapsed_s = (double)(now_ns() - t0) / 1e9;
	mmf_devio_read(&r->io, &r->dev1);
	r->cpu_s += cpu_seconds();
	if (r->nfiles < a->files && r->records) {
		/* the file in progress: its figures too (marked partial by data < roll) */
		roll_file(a, f, off, (double)(now_ns() - tfile) / 1e9, r);
	}
	if (rs.f) {
		r->read_set_resident = resident_bytes(mmf_data(rs.f), mmf_size(rs.f));
		mmf_close(rs.f);
		free(rs.buf);
	}
	free(payload);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static double pct(const uint64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)n);
	return (double)v[i < n ? i : n - 1];
}

/* b - a, or -1 when either side is unavailable. */
static double delta(double a, double b)
{
	return a < 0 || b < 0 ? -1 : b - a;
}

static void print_device(const struct result *r)
{
	const struct mmf_devio_snap *a = &r->dev0, *b = &r->dev1;

	printf("  \"device\": {\"name\": \"%s\", \"own_why\": \"%s\", \"idle_write_bps\": %.1f,\n",
	       r->io.name, r->io.own_why, r->dev_idle_write_bps);
	printf("    \"dev_reads\": %.0f, \"dev_read_bytes\": %.0f, \"dev_writes\": %.0f, "
	       "\"dev_write_bytes\": %.0f, \"dev_flushes\": %.0f,\n",
	       delta(a->reads, b->reads), delta(a->read_bytes, b->read_bytes),
	       delta(a->writes, b->writes), delta(a->write_bytes, b->write_bytes),
	       delta(a->flushes, b->flushes));
	printf("    \"own_reads\": %.0f, \"own_read_bytes\": %.0f, \"own_writes\": %.0f, "
	       "\"own_write_bytes\": %.0f,\n",
	       delta(a->own_reads, b->own_reads), delta(a->own_read_bytes, b->own_read_bytes),
	       delta(a->own_writes, b->own_writes), delta(a->own_write_bytes, b->own_write_bytes));
	printf("    \"proc_dirtied_bytes\": %.0f},\n",
	       delta(a->proc_dirtied_bytes, b->proc_dirtied_bytes));
}

static void print_result(const struct args *a, struct result *r)
{
	double mean = 0;

	qsort(r->sync_ns, r->nsync, sizeof(*r->sync_ns), cmp_u64);
	for (size_t i = 0; i < r->nsync; i++)
		mean += (double)r->sync_ns[i] / (double)r->nsync;
	printf("{\n  \"records\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"elapsed_s\": %.6f,\n",
	       r->records, r->bytes, r->elapsed_s);
	printf("  \"append_bps\": %.1f, \"target_bps\": %.1f, \"cpu_s\": %.3f,\n",
	       r->elapsed_s > 0 ? (double)r->bytes / r->elapsed_s : 0, a->rate_bps, r->cpu_s);
	printf("  \"syncs\": %" PRIu64 ", \"sync_p50_ns\": %.0f, \"sync_p99_ns\": %.0f, "
	       "\"sync_p999_ns\": %.0f, \"sync_mean_ns\": %.0f,\n",
	       r->syncs, pct(r->sync_ns, r->nsync, 0.5), pct(r->sync_ns, r->nsync, 0.99),
	       pct(r->sync_ns, r->nsync, 0.999), mean);
	printf("  \"reads\": %" PRIu64 ", \"read_s\": %.6f, \"read_ops_per_s\": %.1f,\n",
	       r->reads, r->read_s, r->read_s > 0 ? (double)r->reads / r->read_s : 0);
	printf("  \"read_set_resident_bytes\": %" PRIu64 ", \"rss_file_max_kb\": %" PRIu64 ",\n",
	       r->read_set_resident, r->rss_file_max_kb);
	print_device(r);
	printf("  \"checksum\": %" PRIu64 ",\n  \"files\": [", r->sum);
	for (int i = 0; i < r->nfiles; i++) {
		const struct file_fig *ff = &r->files[i];
		printf("%s\n    {\"data\": %" PRIu64 ", \"size\": %" PRIu64
		       ", \"blocks_bytes\": %" PRIu64 ", \"resident_bytes\": %" PRIu64
		       ", \"size_after\": %" PRIu64 ", \"grows\": %" PRIu64 ", \"remaps\": %" PRIu64
		       ", \"moves\": %" PRIu64 ", \"grow_ns\": %" PRIu64 ", \"syncs\": %" PRIu64
		       ", \"seconds\": %.6f, \"complete\": %s}",
		       i ? "," : "", ff->data, ff->size, ff->blocks_bytes, ff->resident_bytes,
		       ff->size_after, ff->grows, ff->remaps, ff->moves, ff->grow_ns, ff->syncs,
		       ff->seconds, ff->data + a->rec > a->roll ? "true" : "false");
	}
	printf("\n  ]\n}\n");
}

/* The own cgroup is left on every exit (die() included). */
static struct mmf_devio *exit_io;

static void close_io(void)
{
	if (exit_io)
		mmf_devio_close(exit_io);
}

int main(int argc, char **argv)
{
	struct args a;
	static struct result r;

	parse_args(argc, argv, &a);
	mmf_devio_open(&r.io, a.dir, true);
	exit_io = &r.io;
	atexit(close_io);
	r.dev_idle_write_bps = a.device_idle_s > 0 ? idle_write_bps(&r.io, a.device_idle_s) : -1;
	run(&a, &r);
	mmf_devio_close(&r.io);
	print_result(&a, &r);
	free(r.sync_ns);
	return 0;
}
