/*
 * fault_soak - a seeded run of mixed operations with every failure point of
 * the seam failing at random, checked against an in-memory model.
 *
 *   fault_soak [--ops N] [--seed S] [--prob P | --no-faults] [--dir D]
 *              [--keep] [--record DIR] [--shard I/N]
 *
 * (--help; options parsed by mmf_cli.h: a bad value is one line, exit 2;
 * without --seed the seed comes from getrandom(2) and is printed first.)
 *
 * The model holds what the handle must show (cur) and, per byte, the value
 * the file must keep because a successful mmf_sync / mmf_sync_range (or
 * mmf_close) made it durable (dur, where known[i]). A write clears known for
 * its bytes (they may hold either value after a crash), a shrink for the
 * bytes it cuts. After any failed operation the soak checks the handle (old
 * size and content; poisoned exactly when an msync/fdatasync failed), then
 * closes it, reopens the file with every point quiet and checks that every
 * known byte is there; the reopened content becomes cur. A close + reopen
 * without failure must give back cur exactly.
 *
 * Randomness: one splitmix64 stream seeded by --seed drives the operations
 * and the injection (fiu_enable_external on every point, failing with
 * probability --prob: what fiu_enable_random does, but from our seed, so
 * the same seed replays the same run; libfiu seeds its own generator from
 * the clock). The last line is machine-readable and carries a digest of the
 * run: same seed, same line.
 *
 * A run that injected no failure (--prob 0, or too few ops to draw one)
 * tested nothing: it fails (exit 1, its last line says why) unless it was
 * asked for no faults with --no-faults (a reference run).
 *
 * --shard I/N runs shard I of the campaign (--seed, --ops): seed
 * mmf_cli_shard_seed(seed, I) = splitmix64(seed + I), ops/N operations (the
 * first ops % N shards one more); with --record it also writes
 * DIR/shard-soak.json (schema mmf-shard/1), which `scripts/history
 * merge-shards` reads (scripts/mmfresults/shards.py).
 */
#define _GNU_SOURCE
#include "fault_util.h"
#include "mmapfile.h"
#include "mmf_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define LIMIT  (192u << 10)	/* no write or truncate ends past this */
#define MAXM   (512u << 10)	/* room for the largest grow past LIMIT */
#define MAXREC 3000u	/* largest slice payload, but for: */
#define BULKREC 65532u	/* one slice in 16 is a bulk store of BULKREC to
			 * BULKREC + 4096 bytes (mmapfile.h, BULK STORES) */
#define MAXAPPEND 12000u	/* largest append_buffer: from
				 * MMF_APPEND_BY_WRITE on, a pwrite */

enum kind { K_ALLOC, K_APPEND, K_TRUNC, K_SYNC, K_RANGE, K_READ, K_REOPEN,
	    K_ADVISE, NKINDS };
static const char *const kind_name[NKINDS] = {
	"allocate_slice", "append_buffer", "truncate", "sync", "sync_range",
	"read", "reopen", "advise",
};
/* Cumulative weights, out of 100. */
static const unsigned kind_weight[NKINDS] = { 22, 44, 54, 62, 70, 92, 98, 100 };

struct soak {
	uint64_t seed, campaign_seed;	/* campaign_seed: --seed as given */
	struct mmf_cli_shard shard;
	bool sharded;			/* --shard given */
	bool no_faults;			/* --no-faults: a run without failures */
	bool untested;			/* no failure injected, not asked for */
	unsigned long ops, op, campaign_ops;
	double prob;
	char *dir, *path;
	const char *record;	/* folder of the stage record, or NULL */
	mmf_file *f;
	mmf_options opt;	/* of the current handle */
	unsigned char *cur, *dur, *known;
	size_t cur_size;
	size_t app_off, app_len;	/* of the last append_buffer */
	unsigned hits_before[FU_NPOINTS];
	unsigned long done[NKINDS], failed[NKINDS];
	unsigned long reopen_checks, poison_checks, unrestored, violations;
	unsigned long copy_failures;	/* failed pwrites of append_buffer */
	uint64_t digest;
};

static void digest_add(struct soak *s, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		s->digest ^= (v >> (8 * i)) & 0xff;
		s->digest *= UINT64_C(0x100000001b3);
	}
}

static void violation(struct soak *s, const char *what, long a, long b)
{
	if (++s->violations <= 20)
		fprintf(stderr, "VIOLATION op %lu (%s): %s (%ld vs %ld)\n",
			s->op, s->f ? "handle" : "file", what, a, b);
}

/* The errno of a random failure: the point's default or a common one. */
static int pick_errno(enum fu_point p)
{
	static const int errs[] = { 0, EIO, ENOSPC, EINTR, ENOMEM };

	(void)p;
	return errs[fu_rand_below(FU_ARRAY_LEN(errs))];
}

static void faults_on(struct soak *s)
{
	for (int p = 0; p < FU_NPOINTS; p++)
		s->hits_before[p] = fu_hits((enum fu_point)p);
	fu_fail_random(s->prob, pick_errno);
}

static bool point_failed(const struct soak *s, enum fu_point p)
{
	return fu_hits(p) != s->hits_before[p];
}

/* Points quiet; how many failures were injected since faults_on, and did
 * one hit a sync (msync / fdatasync: the handle must be poisoned)? */
static unsigned faults_off(struct soak *s, bool *sync_failed)
{
	unsigned n = 0;

	fu_fail_random(0, NULL);
	for (int p = 0; p < FU_NPOINTS; p++)
		n += fu_hits((enum fu_point)p) - s->hits_before[p];
	*sync_failed = point_failed(s, FU_P_msync) || point_failed(s, FU_P_fdatasync);
	return n;
}

/* ---- the model ------------------------------------------------------ */

static void model_write(struct soak *s, size_t off, const void *src,
			size_t len)
{
	memcpy(s->cur + off, src, len);
	memset(s->known + off, 0, len);
}

static void model_resize(struct soak *s, size_t size)
{
	if (size > s->cur_size)
		memset(s->cur + s->cur_size, 0, size - s->cur_size);
	else
		memset(s->known + size, 0, s->cur_size - size);
	s->cur_size = size;
}

static void model_synced(struct soak *s, size_t off, size_t len)
{
	memcpy(s->dur + off, s->cur + off, len);
	memset(s->known + off, 1, len);
}

/* The handle shows exactly cur. */
static bool handle_matches(const struct soak *s)
{
	const void *p;

	if (mmf_size(s->f) != s->cur_size)
		return false;
	if (s->cur_size == 0)
		return true;
	return mmf_bytes(s->f, 0, s->cur_size, &p) == 0 &&
	       memcmp(p, s->cur, s->cur_size) == 0;
}

/* Reopen with every point quiet: every known byte must be there. The
 * reopened content becomes cur. exact: it must also equal cur. */
static void reopen_check(struct soak *s, const mmf_options *o, bool exact)
{
	const void *p = NULL;
	size_t size;
	int rc = mmf_open(s->path, O_RDWR | O_CREAT, 0, o, &s->f);

	s->reopen_checks++;
	if (rc != 0) {
		fprintf(stderr, "fatal: reopen: %s\n", mmf_strerror(rc));
		exit(2);
	}
	size = mmf_size(s->f);
	if (size > MAXM || (size > 0 && mmf_bytes(s->f, 0, size, &p) != 0)) {
		violation(s, "reopened size", (long)size, MAXM);
		exit(1);
	}
	if (exact && (size != s->cur_size || memcmp(p, s->cur, size) != 0))
		violation(s, "clean reopen differs from the model",
			  (long)size, (long)s->cur_size);
	for (size_t i = 0; i < MAXM; i++) {
		if (s->known[i] && (i >= size || s->dur[i] !=
				    ((const unsigned char *)p)[i])) {
			violation(s, "synced byte lost at offset", (long)i,
				  (long)size);
			break;
		}
	}
	if (size > 0)
		memcpy(s->cur, p, size);
	s->cur_size = size;
}

/* ---- the operations ------------------------------------------------- */

static void pick_options(mmf_options *o)
{
	mmf_options_init(o);
	o->grow = (enum mmf_grow)fu_rand_below(4);
	o->flags = (unsigned)fu_rand_below(MMF_FLAGS_ALL + 1);
	if (fu_rand_below(4) == 0)
		o->flags |= MMF_STABLE;	/* in-place growth, reservation */
	o->grow_max_step = 64u << 10;
	o->grow_chunk = 16u << 10;
}

/* An offset for a write of len bytes: at the end half of the time. */
static size_t pick_off(const struct soak *s, size_t len)
{
	size_t max = s->cur_size < LIMIT - len ? s->cur_size : LIMIT - len;

	return fu_rand_below(2) ? max : fu_rand_below(max + 1);
}

/* After a successful write that may have grown: the model follows. */
static void wrote(struct soak *s, size_t off, const unsigned char *src,
		  size_t len)
{
	if (mmf_size(s->f) < off + len)
		violation(s, "grew short of the end", (long)mmf_size(s->f),
			  (long)(off + len));
	if (mmf_size(s->f) > s->cur_size)
		model_resize(s, mmf_size(s->f));
	model_write(s, off, src, len);
}

static int op_alloc(struct soak *s)
{
	static unsigned char rec[4 + BULKREC + 4096];
	size_t len = fu_rand_below(16) ? fu_rand_below(MAXREC + 1)
				       : BULKREC + fu_rand_below(4097);
	size_t off = pick_off(s, len + 4), next;
	void *p;
	int rc = mmf_allocate_slice(s->f, len, off, &p, &next);

	if (rc != 0)
		return rc;
	rec[0] = (unsigned char)(len >> 24);
	rec[1] = (unsigned char)(len >> 16);
	rec[2] = (unsigned char)(len >> 8);
	rec[3] = (unsigned char)len;
	fu_fill(rec + 4, 0, len, (unsigned)s->op);
	memcpy(p, rec + 4, len);
	if (next != off + 4 + len)
		violation(s, "allocate_slice next", (long)next,
			  (long)(off + 4 + len));
	wrote(s, off, rec, 4 + len);
	return 0;
}

static int op_append(struct soak *s)
{
	size_t len = fu_rand_below(MAXAPPEND) + 1, off = pick_off(s, len);
	unsigned char buf[MAXAPPEND];
	int rc;

	s->app_off = off;
	s->app_len = len;
	fu_fill(buf, 0, len, (unsigned)s->op);
	rc = mmf_append_buffer(s->f, off, buf, len);
	if (rc == 0)
		wrote(s, off, buf, len);
	return rc;
}

static int op_trunc(struct soak *s)
{
	size_t size = fu_rand_below(LIMIT + 1);
	int rc;

	if (fu_rand_below(2))	/* near the end: small grows and cuts */
		size = s->cur_size + fu_rand_below(8192);
	if (size > s->cur_size && fu_rand_below(2))
		size = s->cur_size - fu_rand_below(s->cur_size / 4 + 1);
	if (size > LIMIT)
		size = LIMIT;
	rc = mmf_truncate(s->f, size);
	if (rc == 0)
		model_resize(s, size);
	return rc;
}

static int op_sync(struct soak *s)
{
	int rc = mmf_sync(s->f);

	if (rc == 0)
		model_synced(s, 0, s->cur_size);
	return rc;
}

static int op_range(struct soak *s)
{
	size_t off = fu_rand_below(s->cur_size + 1);
	size_t len = fu_rand_below(s->cur_size - off + 1);
	int rc = mmf_sync_range(s->f, off, len);

	if (rc == 0)
		model_synced(s, off, len);
	return rc;
}

static int op_read(struct soak *s)
{
	static unsigned char buf[8192];
	size_t off = fu_rand_below(s->cur_size + 1), want;
	mmf_reader r;
	ssize_t n;

	want = s->cur_size - off < sizeof(buf) ? s->cur_size - off : sizeof(buf);
	mmf_reader_init(&r, s->f, off);
	n = mmf_reader_read(&r, buf, sizeof(buf));
	if (n != (ssize_t)want || memcmp(buf, s->cur + off, want) != 0)
		violation(s, "reader", (long)n, (long)want);
	return 0;
}

/* Close (a sync), then open again with fresh options, faults still on. */
static int op_reopen(struct soak *s)
{
	int rc = mmf_close(s->f);

	s->f = NULL;
	if (rc != 0)
		return rc;
	model_synced(s, 0, s->cur_size);
	pick_options(&s->opt);
	rc = mmf_open(s->path, O_RDWR | O_CREAT, 0, &s->opt, &s->f);
	if (rc == 0 && !handle_matches(s))
		violation(s, "reopened handle differs from the model",
			  (long)mmf_size(s->f), (long)s->cur_size);
	return rc;
}

/* Any advice: a kept pattern is re-applied by every later grow and shrink
 * (under faults too); DONTNEED must lose no byte (the next read checks). */
/* Advice on the whole mapping, or on a part (a pattern there splits the
 * mapping: later grows and shrinks must still work). */
static int op_advise(struct soak *s)
{
	enum mmf_advice a = (enum mmf_advice)fu_rand_below(5);
	size_t off, len;

	if (fu_rand_below(2) || s->cur_size == 0)
		return mmf_advise(s->f, a);
	off = fu_rand_below(s->cur_size);
	len = fu_rand_below(s->cur_size - off) + 1;
	return mmf_advise_range(s->f, off, len, a);
}

static int (*const run_kind[NKINDS])(struct soak *s) = {
	op_alloc, op_append, op_trunc, op_sync, op_range, op_read, op_reopen,
	op_advise,
};

/* append_buffer's copy by pwrite failed after its grow (header: the
 * handle keeps the growth, [off, off + len) unspecified): the model takes
 * the handle's size and those bytes, which nobody may count on. */
static void copy_failed(struct soak *s)
{
	const void *p;
	size_t size = mmf_size(s->f);

	s->copy_failures++;
	if (size < s->app_off + s->app_len) {
		violation(s, "copy failed short of its grow", (long)size,
			  (long)(s->app_off + s->app_len));
		return;
	}
	if (size > s->cur_size)
		model_resize(s, size);
	if (mmf_bytes(s->f, s->app_off, s->app_len, &p) == 0)
		model_write(s, s->app_off, p, s->app_len);
}

/* ---- a failed operation --------------------------------------------- */

/* The handle after a failed operation: poisoned with rc exactly when a
 * sync failed; otherwise usable, with its old size and content. */
static void check_failed_handle(struct soak *s, enum kind k, int rc,
				bool sync_failed)
{
	int again = mmf_truncate(s->f, mmf_size(s->f));

	if (sync_failed) {
		s->poison_checks++;
		if (again != rc || mmf_sync(s->f) != rc)
			violation(s, "not poisoned after a failed sync",
				  again, rc);
	} else if (again != 0) {
		violation(s, "poisoned without a failed sync", again, rc);
	}
	if (handle_matches(s))
		return;
	/* A shrink whose ftruncate and mapping restore both failed keeps
	 * the smaller mapping (see test_matrix_double_shrink_restore_fails). */
	if (k == K_TRUNC && mmf_size(s->f) < s->cur_size &&
	    memcmp(mmf_data(s->f), s->cur, mmf_size(s->f)) == 0)
		s->unrestored++;
	else
		violation(s, "failed operation changed the handle",
			  (long)mmf_size(s->f), (long)s->cur_size);
}

static void step(struct soak *s)
{
	unsigned w = (unsigned)fu_rand_below(100), injected;
	enum kind k = K_ALLOC;
	bool sync_failed;
	int rc;

	while (w >= kind_weight[k])
		k++;
	faults_on(s);
	rc = run_kind[k](s);
	injected = faults_off(s, &sync_failed);
	s->done[k]++;
	digest_add(s, ((uint64_t)k << 32) ^ (uint32_t)rc);
	digest_add(s, s->cur_size);
	if (rc == 0)
		return;
	s->failed[k]++;
	if (injected == 0)
		violation(s, "error without an injected failure", rc, 0);
	if (s->f && k == K_APPEND && point_failed(s, FU_P_pwrite))
		copy_failed(s);
	if (s->f)
		check_failed_handle(s, k, rc, sync_failed);
	if (s->f)
		(void)mmf_close(s->f);
	s->f = NULL;
	reopen_check(s, &s->opt, false);
}

/* ---- main ----------------------------------------------------------- */

/* Parse argv into s (mmf_cli.h): MMF_CLI_OK, HELP or USAGE. Without --seed
 * the seed comes from getrandom(2); main prints it in its first line. */
static int parse(int argc, char **argv, struct soak *s, bool *keep)
{
	uint64_t ops = 10000;
	const char *dir = NULL;
	struct mmf_cli_opt opts[] = {
		MMF_CLI_U64("ops", &ops, 1, ULONG_MAX, "N", "operations to run (default 10000)"),
		MMF_CLI_SEED("seed", &s->seed, "seed of the run (default: from getrandom)"),
		MMF_CLI_REAL("prob", &s->prob, 0, 0.999, "P",
			     "probability that a point fails (default 0.01)"),
		MMF_CLI_STRING("dir", &dir, "DIR",
			       "work here (default: a fresh mkdtemp directory)"),
		MMF_CLI_SWITCH("no-faults", &s->no_faults, "no point fails (a reference "
			       "run); without it a run that injected no failure fails"),
		MMF_CLI_SWITCH("keep", keep, "leave the work directory behind"),
		MMF_CLI_STRING("record", &s->record, "DIR",
			       "write the stage record DIR/soak.json (schema "
			       "mmf-stage/1: verdict and counts)"),
		MMF_CLI_SHARD("shard", &s->shard, "run shard I of N of the campaign "
			      "(--seed, --ops): seed splitmix64(seed + I), ops/N operations"),
	};
	struct mmf_cli cli = {
		.prog = "fault_soak", .synopsis = "[--ops N] [--seed S] [--prob P | --no-faults] "
			"[--dir DIR] [--keep] [--record DIR] [--shard I/N]",
		.about = "Mixed operations with every mmf/os point failing at random, "
			 "checked against a model.\nThe last line: soak: ops=.. seed=.. "
			 "... violations=0 OK (exit 0), or FAIL (exit 1).",
		.opts = opts, .nopts = sizeof(opts) / sizeof(opts[0]),
	};
	int rc = mmf_cli_parse(&cli, argc, argv);

	s->campaign_ops = (unsigned long)ops;
	s->campaign_seed = s->seed;
	s->ops = (unsigned long)(ops / s->shard.count + (s->shard.index < ops % s->shard.count));
	s->sharded = mmf_cli_find(&cli, "shard")->seen;
	if (s->sharded)
		s->seed = mmf_cli_shard_seed(s->campaign_seed, s->shard.index);
	if (rc == MMF_CLI_OK && s->no_faults && mmf_cli_find(&cli, "prob")->seen)
		return mmf_cli_usage_error(&cli, "--no-faults and --prob exclude each other");
	if (s->no_faults)
		s->prob = 0;
	if (rc == MMF_CLI_OK && s->ops == 0)
		return mmf_cli_usage_error(&cli, "--shard %llu/%llu of %lu ops runs no operation",
					   (unsigned long long)s->shard.index,
					   (unsigned long long)s->shard.count, s->campaign_ops);
	if (rc == MMF_CLI_OK && dir && !(s->dir = strdup(dir)))
		return mmf_cli_usage_error(&cli, "out of memory");
	return rc;
}

static void start(struct soak *s)
{
	int rc;

	s->cur = calloc(1, MAXM);
	s->dur = calloc(1, MAXM);
	s->known = calloc(1, MAXM);
	if (!s->dir)
		s->dir = fu_tmpdir("soak");
	if (!s->cur || !s->dur || !s->known || !s->dir) {
		fprintf(stderr, "fatal: out of memory or no temp dir\n");
		exit(2);
	}
	s->path = fu_join(s->dir, "soak.wal");
	fu_init();
	fu_rand_seed(s->seed);
	s->digest = UINT64_C(0xcbf29ce484222325);
	pick_options(&s->opt);
	rc = mmf_open(s->path, O_RDWR | O_CREAT | O_TRUNC, 4096, &s->opt, &s->f);
	if (rc != 0) {
		fprintf(stderr, "fatal: open %s: %s\n", s->path, mmf_strerror(rc));
		exit(2);
	}
	s->cur_size = 4096;
}

/* Quiet close (a sync: all is durable) and an exact reopen check. */
static void finish(struct soak *s)
{
	int rc = mmf_close(s->f);

	s->f = NULL;
	if (rc != 0)
		violation(s, "final close", rc, 0);
	model_synced(s, 0, s->cur_size);
	reopen_check(s, &s->opt, true);
	for (size_t i = 0; i < s->cur_size; i++)
		digest_add(s, s->cur[i]);
	(void)mmf_close(s->f);
	s->f = NULL;
}

static void report(const struct soak *s, double secs)
{
	unsigned long fails = 0;

	for (int k = 0; k < NKINDS; k++) {
		printf("  %-15s %8lu ops %6lu failed\n", kind_name[k],
		       s->done[k], s->failed[k]);
		fails += s->failed[k];
	}
	printf("  %.1f s, %lu failed operations, %lu shrinks left "
	       "unrestored by a double fault, %lu append copies failed "
	       "after their grow\n", secs, fails, s->unrestored, s->copy_failures);
	printf("soak: ops=%lu seed=%" PRIu64 " prob=%g failures_injected=%lu "
	       "op_failures=%lu reopen_checks=%lu poison_checks=%lu "
	       "violations=%lu digest=%016" PRIx64 " %s\n", s->ops, s->seed,
	       s->prob, fu_total_hits(), fails, s->reopen_checks,
	       s->poison_checks, s->violations, s->digest,
	       s->violations || s->untested ? "FAIL" : "OK");
	if (s->untested)
		printf("soak: FAIL: no failure was injected in %lu ops (--prob %g): "
		       "nothing was tested (--no-faults asks for a run without faults)\n",
		       s->ops, s->prob);
}

/* A result file of --record: open DIR/.NAME.<pid> for writing (path gets
 * DIR/NAME); NULL with errno set on failure. tmp and path hold 4096 bytes. */
static FILE *record_open(const struct soak *s, const char *name, char *tmp, char *path)
{
	snprintf(path, 4096, "%s/%s", s->record, name);
	snprintf(tmp, 4096, "%s/.%s.%ld", s->record, name, (long)getpid());
	return fopen(tmp, "w");
}

/* Flush, fsync and rename tmp over path, so a reader never sees half of
 * it; the temporary file is removed on failure. 0 or -errno. */
static int record_close(FILE *f, const char *tmp, const char *path)
{
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = -errno;

		fclose(f);
		unlink(tmp);
		return e;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

/* DIR/shard-soak.json: which shard of which campaign this soak was (the
 * schema of scripts/mmfresults/shards.py, mmf-shard/1). 0 or -errno. */
static int write_shard_record(const struct soak *s)
{
	char tmp[4096], path[4096];
	FILE *f = record_open(s, "shard-soak.json", tmp, path);

	if (!f)
		return -errno;
	fprintf(f, "{\n \"schema\": \"mmf-shard/1\",\n \"stage\": \"soak\",\n"
		" \"index\": %" PRIu64 ",\n \"count\": %" PRIu64 ",\n"
		" \"campaign_seed\": \"%" PRIu64 "\",\n \"seed\": \"%" PRIu64 "\",\n"
		" \"params\": {\"ops\": \"%lu\", \"prob\": \"%g\"},\n"
		" \"counts\": {\"ops\": %lu}\n}\n",
		s->shard.index, s->shard.count, s->campaign_seed, s->seed,
		s->campaign_ops, s->prob, s->ops);
	return record_close(f, tmp, path);
}

/* DIR/soak.json, the stage record scripts/run reads (the schema of
 * scripts/mmfresults/files.py: mmf-stage/1), written to a temporary file and
 * renamed so a reader never sees half of it. */
static int write_record(const struct soak *s, double secs)
{
	char tmp[4096], path[4096];
	unsigned long fails = 0;
	FILE *f;
	int rc;

	for (int k = 0; k < NKINDS; k++)
		fails += s->failed[k];
	f = record_open(s, "soak.json", tmp, path);
	if (!f)
		return -errno;
	fprintf(f, "{\n \"schema\": \"mmf-stage/1\",\n \"stage\": \"soak\",\n"
		" \"verdict\": \"%s\",\n \"reason\": \"%sseed %" PRIu64
		", failure probability %g\",\n \"counts\": {\"ops\": %lu, "
		"\"failures_injected\": %lu, \"op_failures\": %lu, "
		"\"reopen_checks\": %lu, \"poison_checks\": %lu, "
		"\"violations\": %lu},\n \"seconds\": %.1f,\n"
		" \"digest\": \"%016" PRIx64 "\"\n}\n",
		s->violations || s->untested ? "fail" : "pass",
		s->untested ? "no failure was injected: nothing was tested; " : "",
		s->seed, s->prob, s->ops,
		fu_total_hits(), fails, s->reopen_checks, s->poison_checks,
		s->violations, secs, s->digest);
	rc = record_close(f, tmp, path);
	if (rc < 0)
		return rc;
	return s->sharded ? write_shard_record(s) : 0;
}

int main(int argc, char **argv)
{
	struct soak s = { .ops = 10000, .prob = 0.01, .shard = { 0, 1 } };
	struct timespec t0, t1;
	bool keep = false;
	int rc;

	rc = parse(argc, argv, &s, &keep);
	if (rc != MMF_CLI_OK)
		return mmf_cli_exit(rc);
	start(&s);
	printf("fault_soak: ops=%lu seed=%" PRIu64 " prob=%g dir=%s", s.ops,
	       s.seed, s.prob, s.dir);
	if (s.sharded)
		printf(" shard=%" PRIu64 "/%" PRIu64 " campaign_seed=%" PRIu64
		       " campaign_ops=%lu", s.shard.index, s.shard.count,
		       s.campaign_seed, s.campaign_ops);
	printf("\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (s.op = 0; s.op < s.ops; s.op++) {
		step(&s);
		if (s.ops >= 20000 && (s.op + 1) % (s.ops / 10) == 0)
			fprintf(stderr, "fault_soak: %lu/%lu ops, %lu "
				"violations\n", s.op + 1, s.ops, s.violations);
	}
	finish(&s);
	s.untested = !s.no_faults && fu_total_hits() == 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	report(&s, secs);
	if (s.record && (rc = write_record(&s, secs)) < 0) {
		fprintf(stderr, "fault_soak: --record %s: %s\n", s.record,
			strerror(-rc));
		s.violations++;	/* no record: the run cannot count as passed */
	}
	if (!keep)
		fu_rmtree(s.dir);
	free(s.dir);
	free(s.path);
	free(s.cur);
	free(s.dur);
	free(s.known);
	return s.violations || s.untested ? 1 : 0;
}
