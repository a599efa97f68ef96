/*
 * mmf_crash_writer - a write-ahead-log workload for crash tests.
 *
 * Appends records (record.h) to DIR/wal-NNNNNN.log with mmf_allocate_slice,
 * syncs every K records and then prints `ACK <last seq>` (flushed). Every
 * per_file records it rolls to a new file: syncs the old one (ACK), creates
 * the next with mmf_open and prints `CREATE k` once that returned, and when
 * more than `keep` files are live deletes the oldest: prints `DELETING k`
 * (from here on its records are no longer needed: a WAL deletes a file only
 * when it decided to drop it), calls mmf_delete, prints `DELETE k`. Old files stay open until deleted, so nothing but the
 * sync below ever makes their bytes durable.
 *
 * The sync is a build option (CRASH_SYNC_MODE), giving the negative controls
 * of the crash tests from this one source:
 *   0  mmf_sync                    (the real thing)
 *   1  nothing                     (never syncs)
 *   2  msync(MS_ASYNC)             (schedules, does not wait)
 *   3  sync_file_range(WAIT|WRITE|WAIT): data written, no device cache flush
 *      and no metadata
 *   4  mmf_sync, and after an error msync + fsync again (a retry that the
 *      kernel lets succeed: the lost pages were marked clean)
 *
 * --kill-in grow|sync --kill-at N --kill-delay-us U arms a one-shot POSIX
 * timer that sends SIGKILL U microseconds after the N-th grow or sync
 * starts, so a kill test can cut the process inside the library.
 *
 * Output lines: START ..., CREATE k, ACK s, DELETING k, DELETE k, KILLARM,
 * DONE, ERR what rc (after a failed sync also `POISON sync R allocate R`:
 * what a later sync and mutation of the handle returned; mode 4: `RETRY sync
 * rc`). Exit 0 after --max-records, 3 on a library error,
 * 2 on a usage error.
 */
#define _GNU_SOURCE
#include "record.h"

#include "mmapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef CRASH_SYNC_MODE
#define CRASH_SYNC_MODE 0
#endif

#define MAX_KEEP 16

enum kill_in { KILL_NONE, KILL_GROW, KILL_SYNC };

struct cfg {
	const char *dir;
	unsigned sync_every, per_file, keep;
	unsigned deleting_handshake;
	size_t initial;
	uint64_t max_records;
	mmf_options opt;
	enum kill_in kill_in;
	unsigned long kill_at, kill_delay_us;
};

struct state {
	mmf_file *live[MAX_KEEP + 1];	/* live[0] oldest ... live[n-1] current */
	unsigned nlive, first;		/* first = number of live[0] */
	size_t off;			/* end of the current file's records */
	unsigned long grows, syncs;
};

#if CRASH_SYNC_MODE == 0
static const char *const sync_name = "mmf_sync";
static int do_sync(mmf_file *f)
{
	return mmf_sync(f);
}
#elif CRASH_SYNC_MODE == 1
static const char *const sync_name = "none";
static int do_sync(mmf_file *f)
{
	(void)f;
	return 0;
}
#elif CRASH_SYNC_MODE == 2
static const char *const sync_name = "ms_async";
static int do_sync(mmf_file *f)
{
	if (!mmf_data(f))
		return 0;
	return msync(mmf_data(f), mmf_size(f), MS_ASYNC) < 0 ? -errno : 0;
}
#elif CRASH_SYNC_MODE == 3
static const char *const sync_name = "sync_file_range";
static int do_sync(mmf_file *f)
{
	unsigned fl = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		      SYNC_FILE_RANGE_WAIT_AFTER;

	return sync_file_range(mmf_fd(f), 0, 0, fl) < 0 ? -errno : 0;
}
#elif CRASH_SYNC_MODE == 4
/* What an application that retries a failed sync does: after a writeback
 * error the kernel marks the pages clean, so msync + fsync of the same range
 * "succeed" (Rebello et al., USENIX ATC 2020) and the records are acked. */
static const char *const sync_name = "mmf_sync-then-retry";
static int do_sync(mmf_file *f)
{
	int rc = mmf_sync(f);

	if (rc == 0)
		return 0;
	printf("RETRY sync %d\n", rc);
	if (msync(mmf_data(f), mmf_size(f), MS_SYNC) < 0)
		return -errno;
	return fsync(mmf_fd(f)) < 0 ? -errno : 0;
}
#else
#error "CRASH_SYNC_MODE must be 0..4"
#endif

static void die_rc(const char *what, int rc)
{
	printf("ERR %s %d %s\n", what, rc, mmf_strerror(rc));
	fflush(stdout);
	exit(3);
}

static void say(const char *fmt, unsigned long long v)
{
	printf(fmt, v);
	fflush(stdout);
}

/* A sync failed with rc: print `ERR sync rc ...`, then what a later sync and
 * a later mutation of the same handle return (`POISON sync R1 allocate R2`:
 * both must be rc, the handle stays failed), and exit 3. */
static void die_poisoned(mmf_file *f, size_t off, int rc)
{
	size_t end;
	void *p;
	int again, alloc;

	printf("ERR sync %d %s\n", rc, mmf_strerror(rc));
	again = mmf_sync(f);
	alloc = mmf_allocate_slice(f, 16, off, &p, &end);
	printf("POISON sync %d allocate %d\n", again, alloc);
	fflush(stdout);
	exit(3);
}

/* Arm a timer that SIGKILLs this process delay_us from now. */
static void arm_kill(const char *what, unsigned long n, unsigned long delay_us)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
				.sigev_signo = SIGKILL };
	struct itimerspec its = { .it_value = {
		.tv_sec = (time_t)(delay_us / 1000000),
		.tv_nsec = (long)(delay_us % 1000000) * 1000 + 1 } };
	timer_t t;

	printf("KILLARM %s %lu %lu\n", what, n, delay_us);
	fflush(stdout);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) < 0 ||
	    timer_settime(t, 0, &its, NULL) < 0)
		die_rc("timer", -errno);
}

static void maybe_arm(const struct cfg *c, enum kill_in what, unsigned long n)
{
	if (c->kill_in == what && n == c->kill_at)
		arm_kill(what == KILL_GROW ? "grow" : "sync", n, c->kill_delay_us);
}

static void sync_current(const struct cfg *c, struct state *s, uint64_t seq)
{
	int rc;

	maybe_arm(c, KILL_SYNC, ++s->syncs);
	rc = do_sync(s->live[s->nlive - 1]);
	if (rc < 0)
		die_poisoned(s->live[s->nlive - 1], s->off, rc);
	say("ACK %llu\n", seq);
}

/* --deleting-handshake: after `DELETING k`, wait for a line on stdin. The
 * crash-vm host sends it once it has read the line and noted how far the
 * disk's write log was: the file's deletion then comes after that point
 * (a line still in transit when the file went would let a power cut find it
 * gone while the host thinks it must be there). */
static void wait_for_host(void)
{
	char line[16];

	if (!fgets(line, sizeof(line), stdin))
		die_rc("handshake", -EIO);
}

/* Create file k (the new current one), then delete the oldest if needed. */
static void roll(const struct cfg *c, struct state *s, unsigned k)
{
	char path[PATH_MAX];
	mmf_file *f;
	int rc;

	crash_file_name(path, sizeof(path), c->dir, k);
	rc = mmf_open(path, O_RDWR | O_CREAT | O_EXCL, c->initial, &c->opt, &f);
	if (rc < 0)
		die_rc("open", rc);
	say("CREATE %llu\n", (unsigned long long)k);
	s->live[s->nlive++] = f;
	s->off = 0;
	if (s->nlive <= c->keep)
		return;
	say("DELETING %llu\n", s->first);
	if (c->deleting_handshake)
		wait_for_host();
	rc = mmf_delete(s->live[0]);
	if (rc < 0)
		die_rc("delete", rc);
	say("DELETE %llu\n", (unsigned long long)s->first);
	memmove(s->live, s->live + 1, --s->nlive * sizeof(s->live[0]));
	s->first++;
}

static void append(const struct cfg *c, struct state *s, uint64_t seq)
{
	mmf_file *f = s->live[s->nlive - 1];
	size_t len = crash_payload_len(seq);
	void *p;
	int rc;

	if (s->off + 4 + len > mmf_size(f))
		maybe_arm(c, KILL_GROW, ++s->grows);
	rc = mmf_allocate_slice(f, len, s->off, &p, &s->off);
	if (rc < 0)
		die_rc("allocate_slice", rc);
	crash_record_fill(seq, p);
}

static int run(const struct cfg *c)
{
	struct state s = { .first = 1 };
	uint64_t seq;
	unsigned since = 0, i;

	printf("START sync=%s per_file=%u sync_every=%u keep=%u initial=%zu "
	       "grow=%d flags=%u\n", sync_name, c->per_file, c->sync_every,
	       c->keep, c->initial, (int)c->opt.grow, c->opt.flags);
	roll(c, &s, 1);
	for (seq = 1; seq <= c->max_records; seq++) {
		if (seq > 1 && crash_file_of(seq, c->per_file) !=
			       crash_file_of(seq - 1, c->per_file)) {
			if (since)
				sync_current(c, &s, seq - 1);
			since = 0;
			roll(c, &s, crash_file_of(seq, c->per_file));
		}
		append(c, &s, seq);
		if (++since == c->sync_every) {
			sync_current(c, &s, seq);
			since = 0;
		}
	}
	if (since)
		sync_current(c, &s, c->max_records);
	for (i = 0; i < s.nlive; i++)
		(void)mmf_close(s.live[i]);
	say("DONE %llu\n", c->max_records);
	return 0;
}

static int usage(void)
{
	fputs("usage: mmf_crash_writer DIR [--sync-every K] [--per-file M] "
	      "[--keep N]\n"
	      "       [--initial BYTES] [--grow double|exact|chunk|seed] "
	      "[--chunk BYTES]\n"
	      "       [--flags reserve,populate,sync-before-grow|none] "
	      "[--max-records N]\n"
	      "       [--kill-in grow|sync --kill-at N --kill-delay-us U]\n"
	      "       [--deleting-handshake 0|1]\n",
	      stderr);
	return 2;
}

static int parse_flags(const char *s, unsigned *out)
{
	char buf[128], *tok, *save = NULL;
	unsigned fl = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "reserve"))
			fl |= MMF_RESERVE;
		else if (!strcmp(tok, "populate"))
			fl |= MMF_POPULATE;
		else if (!strcmp(tok, "sync-before-grow"))
			fl |= MMF_SYNC_BEFORE_GROW;
		else if (strcmp(tok, "none"))
			return -1;
	}
	*out = fl;
	return 0;
}

static int parse_grow(const char *s, enum mmf_grow *g)
{
	static const char *const names[] = { "double", "exact", "chunk", "seed" };
	unsigned i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*g = (enum mmf_grow)i;
			return 0;
		}
	return -1;
}

static int parse_kill(const char *s, enum kill_in *k)
{
	if (!strcmp(s, "grow"))
		*k = KILL_GROW;
	else if (!strcmp(s, "sync"))
		*k = KILL_SYNC;
	else
		return -1;
	return 0;
}

static int parse_num(const char *s, unsigned long long *v)
{
	char *end;

	*v = strtoull(s, &end, 10);
	return (*s && !*end) ? 0 : -1;
}

/* One option with its value; -1 on an unknown option or bad value. */
static int parse_opt(struct cfg *c, const char *k, const char *v)
{
	unsigned long long n = 0;
	int num = parse_num(v, &n);

	if (!strcmp(k, "--grow"))
		return parse_grow(v, &c->opt.grow);
	if (!strcmp(k, "--flags"))
		return parse_flags(v, &c->opt.flags);
	if (!strcmp(k, "--kill-in"))
		return parse_kill(v, &c->kill_in);
	if (num < 0)
		return -1;
	if (!strcmp(k, "--sync-every") && n >= 1 && n <= 1000000)
		c->sync_every = (unsigned)n;
	else if (!strcmp(k, "--per-file") && n >= 1 && n <= 100000000)
		c->per_file = (unsigned)n;
	else if (!strcmp(k, "--keep") && n >= 1 && n <= MAX_KEEP)
		c->keep = (unsigned)n;
	else if (!strcmp(k, "--initial") && n <= (1ull << 30))
		c->initial = (size_t)n;
	else if (!strcmp(k, "--chunk") && n >= 1 && n <= (1ull << 30))
		c->opt.grow_chunk = (size_t)n;
	else if (!strcmp(k, "--max-records") && n >= 1)
		c->max_records = n;
	else if (!strcmp(k, "--kill-at") && n >= 1)
		c->kill_at = (unsigned long)n;
	else if (!strcmp(k, "--kill-delay-us") && n <= 10000000)
		c->kill_delay_us = (unsigned long)n;
	else if (!strcmp(k, "--deleting-handshake") && n <= 1)
		c->deleting_handshake = (unsigned)n;
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct cfg c = { .sync_every = 8, .per_file = 1000, .keep = 3,
			 .initial = 4096, .max_records = UINT64_MAX / 2 };
	int i;

	mmf_options_init(&c.opt);
	c.opt.grow_chunk = 64 * 1024;
	if (argc < 2 || argv[1][0] == '-')
		return usage();
	c.dir = argv[1];
	for (i = 2; i + 1 < argc; i += 2)
		if (parse_opt(&c, argv[i], argv[i + 1]) < 0)
			return usage();
	if (i != argc || (c.kill_in != KILL_NONE && c.kill_at == 0))
		return usage();
	return run(&c);
}
