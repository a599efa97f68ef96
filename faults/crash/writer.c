/*
 * mmf_crash_writer - a write-ahead-log workload for crash tests.
 *
 * Appends records (record.h) to DIR/wal-NNNNNN.log with mmf_allocate_slice
 * (big ones, every CRASH_BIG_EVERY-th: prefix and payload by
 * mmf_append_buffer, the payload through pwrite)
 * and exercises every call of mmapfile.h that promises durability, each
 * followed by an acknowledgement line (flushed) that the verifier holds the
 * crash state to:
 *   in turn:
 *     every K records, mmf_sync     ACK s
 *     as soon as the records since the last sync reach into the next page,
 *     mmf_sync_range over them (it starts mid-page and ends mid-page of the
 *     next page)                    ACK range k off len s
 *   a grow (the append grew the file), then at once, in turn
 *     mmf_sync or mmf_sync_range over the records since the last sync
 *                                   ACK grow k size s
 *   every per_file records it rolls file k to k+1; file k ends, by k % 3:
 *     0  mmf_sync, stays open       ACK s
 *     1  mmf_close (no sync before) ACK close k s
 *     2  mmf_sync (ACK s), a shrink by mmf_truncate to its used end, mmf_sync
 *                                   ACK truncate k size
 *   then an empty marker DIR/mark-NNNNNN (k+1) made with open(2)/close(2) and
 *     mmf_sync_dir(DIR)             DIR k+1
 *   then mmf_open creating file k+1 CREATE k+1
 *   and when more than `keep` files are live, the oldest j (reopened if it
 *   was closed): DELETING j (from here on its records are no longer needed:
 *   a WAL deletes a file only when it decided to drop it), mmf_delete,
 *     DELETE j
 * `s` is always the last record acknowledged: every record up to it is
 * durable. After the acknowledgement of a roll's step (close, truncate, DIR,
 * CREATE, DELETE) the writer waits until the console has sent the line
 * (tcdrain: the guest's serial port lags behind the writer) and ACK_PAUSE_US
 * more, so that the host reads it before the next device flush: a crash
 * state cut just before that flush must then hold it (crash-vm). Open files
 * stay open until deleted (unless closed by the roll), so nothing but the
 * calls above makes bytes durable. With --deleting-handshake 1 the writer
 * waits after each `DELETING j` for a line on stdin (crash-vm sends it once
 * it has noted the line) before it deletes file j.
 *
 * The sync is a build option (CRASH_SYNC_MODE), giving the negative controls
 * of the crash tests from this one source (a control uses it for every
 * mmf_sync and mmf_sync_range above):
 *   0  mmf_sync / mmf_sync_range   (the real thing)
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
 * Output lines: START ..., CREATE k, ACK ..., DIR k, DELETING k, DELETE k,
 * KILLARM, DONE, ERR what rc (after a failed sync, whole, range or after a
 * grow or shrink, `ERR sync rc ...` then `POISON sync R allocate R`: what a
 * later sync and mutation of the handle returned; mode 4: `RETRY sync rc`).
 * Exit 0 after --max-records, 3 on a library error, 2 on a usage error
 * (mmf_cli.h: one line on stderr, before any work).
 * --help lists the options; values use the words of mmf_cli.h
 * (--flags reserve,populate,sync_before_grow | none).
 */
#define _GNU_SOURCE
#include "record.h"

#include "mmapfile.h"
#include "mmf_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CRASH_SYNC_MODE
#define CRASH_SYNC_MODE 0
#endif

#define MAX_KEEP 16
#define ACK_PAUSE_US 50000	/* after a roll's acknowledgement (see above) */

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
	mmf_file *live[MAX_KEEP + 1];	/* live[0] oldest ... live[n-1] current;
					 * NULL: closed by its roll */
	unsigned nlive, first;		/* first = number of live[0] */
	size_t off;			/* end of the current file's records */
	size_t synced;			/* end of its records synced so far */
	unsigned long grows, syncs;	/* every grow, every sync (--kill-at) */
	unsigned long periodic;		/* the syncs every K records */
	unsigned long grow_syncs;	/* the syncs right after a grow */
};

#if CRASH_SYNC_MODE == 0
static const char *const sync_name = "mmf_sync";
static int do_sync(mmf_file *f)
{
	return mmf_sync(f);
}
static int do_sync_range(mmf_file *f, size_t off, size_t len)
{
	return mmf_sync_range(f, off, len);
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
#if CRASH_SYNC_MODE != 0
/* A control's range sync is its whole-file sync: as broken. */
static int do_sync_range(mmf_file *f, size_t off, size_t len)
{
	(void)off;
	(void)len;
	return do_sync(f);
}
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

/* The number of the current file (the last of live[]). */
static unsigned current(const struct state *s)
{
	return s->first + s->nlive - 1;
}

/* Let the host read the line just printed before the next device flush:
 * wait until the console (the guest's serial port) has sent it, then a
 * little more for the host to read it. Not a terminal (crash-kill): the
 * pause only. */
static void pause_after_ack(void)
{
	fflush(stdout);
	(void)tcdrain(STDOUT_FILENO);
	usleep(ACK_PAUSE_US);
}

/* Is a sync due after `since` unsynced records? A full sync every K
 * records; a range sync (every other one) as soon as the unsynced records
 * reach into the next page: its range then starts mid-page and ends
 * mid-page of the next one, the case a range sync rounding short loses. */
static int sync_due(const struct cfg *c, const struct state *s,
		    unsigned since)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (s->periodic % 2 == 0)
		return since >= c->sync_every;
	return (s->off - 1) / page > s->synced / page;
}

/* Make the current file's records up to seq durable: every other sync is
 * mmf_sync_range over the records since the last sync (it starts and ends
 * mid-page), the others mmf_sync. */
static void sync_current(const struct cfg *c, struct state *s, uint64_t seq)
{
	mmf_file *f = s->live[s->nlive - 1];
	size_t off = s->synced, len = s->off - s->synced;
	int rc, by_range = s->periodic++ % 2 == 1;

	maybe_arm(c, KILL_SYNC, ++s->syncs);
	rc = by_range ? do_sync_range(f, off, len) : do_sync(f);
	if (rc < 0)
		die_poisoned(f, s->off, rc);
	s->synced = s->off;
	if (by_range)
		printf("ACK range %u %zu %zu %llu\n", current(s), off, len,
		       (unsigned long long)seq);
	else
		printf("ACK %llu\n", (unsigned long long)seq);
	fflush(stdout);
}

/* End the current file (records up to seq, `since` of them unsynced) by
 * its roll style: stays open synced, closed, or shrunk to its used end. */
static void end_file(const struct cfg *c, struct state *s, uint64_t seq,
		     unsigned since)
{
	unsigned k = current(s);
	mmf_file **f = &s->live[s->nlive - 1];
	int rc;

	if (k % 3 == 1) {
		rc = mmf_close(*f);
		*f = NULL;
		if (rc < 0)
			die_rc("close", rc);
		printf("ACK close %u %llu\n", k, (unsigned long long)seq);
		fflush(stdout);
		pause_after_ack();
		return;
	}
	if (since)
		sync_current(c, s, seq);
	if (k % 3 == 0)
		return;
	rc = mmf_truncate(*f, s->off);
	if (rc < 0)
		die_rc("truncate", rc);
	maybe_arm(c, KILL_SYNC, ++s->syncs);
	rc = do_sync(*f);
	if (rc < 0)
		die_poisoned(*f, s->off, rc);
	printf("ACK truncate %u %zu\n", k, mmf_size(*f));
	fflush(stdout);
	pause_after_ack();
}

/* An empty marker DIR/mark-NNNNNN made by open(2)/close(2) (no fsync of
 * its own), then mmf_sync_dir(DIR). */
static void mark(const struct cfg *c, unsigned k)
{
	char path[PATH_MAX];
	int fd, rc;

	crash_mark_name(path, sizeof(path), c->dir, k);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd) < 0)
		die_rc("marker", -errno);
	rc = mmf_sync_dir(c->dir);
	if (rc < 0)
		die_rc("sync_dir", rc);
	say("DIR %llu\n", k);
	pause_after_ack();
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

/* Delete the oldest live file (reopened first if its roll closed it). */
static void delete_oldest(const struct cfg *c, struct state *s)
{
	char path[PATH_MAX];
	int rc;

	say("DELETING %llu\n", s->first);
	if (c->deleting_handshake)
		wait_for_host();
	if (!s->live[0]) {
		crash_file_name(path, sizeof(path), c->dir, s->first);
		rc = mmf_open(path, O_RDWR, 0, &c->opt, &s->live[0]);
		if (rc < 0)
			die_rc("reopen", rc);
	}
	rc = mmf_delete(s->live[0]);
	if (rc < 0)
		die_rc("delete", rc);
	say("DELETE %llu\n", (unsigned long long)s->first);
	pause_after_ack();
	memmove(s->live, s->live + 1, --s->nlive * sizeof(s->live[0]));
	s->first++;
}

/* Create file k (the new current one), then delete the oldest if needed. */
static void roll(const struct cfg *c, struct state *s, unsigned k)
{
	char path[PATH_MAX];
	mmf_file *f;
	int rc;

	mark(c, k);
	crash_file_name(path, sizeof(path), c->dir, k);
	rc = mmf_open(path, O_RDWR | O_CREAT | O_EXCL, c->initial, &c->opt, &f);
	if (rc < 0)
		die_rc("open", rc);
	say("CREATE %llu\n", (unsigned long long)k);
	pause_after_ack();
	s->live[s->nlive++] = f;
	s->off = s->synced = 0;
	if (s->nlive > c->keep)
		delete_oldest(c, s);
}

/* A big record (record.h): its prefix, then its payload, each with
 * mmf_append_buffer (the payload by pwrite). *off moves past it. */
static int append_big(mmf_file *f, uint64_t seq, size_t len, size_t *off)
{
	static unsigned char buf[4 + CRASH_PAYLOAD_MAX];
	int rc;

	buf[0] = (unsigned char)(len >> 24);
	buf[1] = (unsigned char)(len >> 16);
	buf[2] = (unsigned char)(len >> 8);
	buf[3] = (unsigned char)len;
	crash_record_fill(seq, buf + 4);
	rc = mmf_append_buffer(f, *off, buf, 4);
	if (rc == 0)
		rc = mmf_append_buffer(f, *off + 4, buf + 4, len);
	if (rc == 0)
		*off += 4 + len;
	return rc;
}

/* Append record seq; if that grew the file, sync at once (ACK grow).
 * Returns 1 when it synced. */
static int append(const struct cfg *c, struct state *s, uint64_t seq)
{
	mmf_file *f = s->live[s->nlive - 1];
	size_t len = crash_payload_len(seq), size = mmf_size(f);
	void *p;
	int rc;

	if (s->off + 4 + len > size)
		maybe_arm(c, KILL_GROW, ++s->grows);
	if (len >= MMF_APPEND_BY_WRITE) {
		rc = append_big(f, seq, len, &s->off);
	} else {
		rc = mmf_allocate_slice(f, len, s->off, &p, &s->off);
		if (rc == 0)
			crash_record_fill(seq, p);
	}
	if (rc < 0)
		die_rc(len >= MMF_APPEND_BY_WRITE ? "append_buffer" : "allocate_slice", rc);
	if (mmf_size(f) == size)
		return 0;
	maybe_arm(c, KILL_SYNC, ++s->syncs);
	if (s->grow_syncs++ % 2 == 0)
		rc = do_sync(f);
	else
		rc = do_sync_range(f, s->synced, s->off - s->synced);
	if (rc < 0)
		die_poisoned(f, s->off, rc);
	s->synced = s->off;
	printf("ACK grow %u %zu %llu\n", current(s), mmf_size(f),
	       (unsigned long long)seq);
	fflush(stdout);
	return 1;
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
			end_file(c, &s, seq - 1, since);
			since = 0;
			roll(c, &s, crash_file_of(seq, c->per_file));
		}
		if (append(c, &s, seq))
			since = 0;
		else if (sync_due(c, &s, ++since)) {
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

static const char *const kill_words[] = { "grow", "sync", NULL };

int main(int argc, char **argv)
{
	struct cfg c = { .keep = 3, .max_records = UINT64_MAX / 2 };
	uint64_t sync_every = 8, per_file = 1000, keep = 3, initial = 4096,
		 chunk = 64 * 1024, kill_at = 0, kill_delay_us = 0,
		 handshake = 0;
	int kill = -1, rc;
	const char *pos[1];
	struct mmf_cli_opt opts[] = {
		MMF_CLI_U64("sync-every", &sync_every, 1, 1000000, "K",
			    "sync (and print ACK) every K records (default 8)"),
		MMF_CLI_U64("per-file", &per_file, 1, 100000000, "M",
			    "records per file before rolling (default 1000)"),
		MMF_CLI_U64("keep", &keep, 1, MAX_KEEP, "N",
			    "live files kept; older ones are deleted (default 3)"),
		MMF_CLI_U64("initial", &initial, 0, 1u << 30, "BYTES",
			    "size a new file is opened with (default 4096)"),
		MMF_CLI_GROWTH_OPT("grow", &c.opt.grow, "growth policy (default double)"),
		MMF_CLI_U64("chunk", &chunk, 1, 1u << 30, "BYTES",
			    "step of the chunk policy (default 65536)"),
		MMF_CLI_FLAGS_OPT("flags", &c.opt.flags, "option flags (default reserve)"),
		MMF_CLI_U64("max-records", &c.max_records, 1, UINT64_MAX / 2, "N",
			    "stop after N records (default: run until killed)"),
		MMF_CLI_CHOICE("kill-in", &kill, kill_words,
			       "SIGKILL inside the N-th grow or sync (needs --kill-at)"),
		MMF_CLI_U64("kill-at", &kill_at, 1, UINT32_MAX, "N", "the N of --kill-in"),
		MMF_CLI_U64("kill-delay-us", &kill_delay_us, 0, 10000000, "U",
			    "microseconds after that grow or sync starts (default 0)"),
		MMF_CLI_U64("deleting-handshake", &handshake, 0, 1, "0|1",
			    "1: after DELETING k, wait for a line on stdin (default 0)"),
	};
	struct mmf_cli cli = {
		.prog = "mmf_crash_writer", .synopsis = "DIR [options]",
		.about = "A write-ahead-log workload for the crash tests: appends "
			 "records to DIR/wal-NNNNNN.log\nand prints ACK <seq> after "
			 "each sync (the sync is this binary's CRASH_SYNC_MODE).",
		.opts = opts, .nopts = sizeof(opts) / sizeof(opts[0]),
		.min_pos = 1, .max_pos = 1, .pos = pos,
	};

	mmf_options_init(&c.opt);
	rc = mmf_cli_parse(&cli, argc, argv);
	if (rc != MMF_CLI_OK)
		return mmf_cli_exit(rc);
	if (kill >= 0 && !kill_at)
		return mmf_cli_usage_error(&cli, "--kill-in needs --kill-at");
	if (kill_at && kill < 0)
		return mmf_cli_usage_error(&cli, "--kill-at needs --kill-in");
	c.dir = pos[0];
	c.sync_every = (unsigned)sync_every;
	c.per_file = (unsigned)per_file;
	c.keep = (unsigned)keep;
	c.initial = (size_t)initial;
	c.opt.grow_chunk = (size_t)chunk;
	c.kill_in = kill < 0 ? KILL_NONE : kill == 0 ? KILL_GROW : KILL_SYNC;
	c.kill_at = (unsigned long)kill_at;
	c.kill_delay_us = (unsigned long)kill_delay_us;
	c.deleting_handshake = (unsigned)handshake;
	return run(&c);
}
