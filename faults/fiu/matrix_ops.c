/*
 * matrix_ops.c - fixtures, operations and after-checks of the fault matrix.
 */
#define _GNU_SOURCE
#include "matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- the operations ------------------------------------------------ */

static void put_record(unsigned char *dst, size_t len)
{
	dst[0] = (unsigned char)(len >> 24);
	dst[1] = (unsigned char)(len >> 16);
	dst[2] = (unsigned char)(len >> 8);
	dst[3] = (unsigned char)len;
	fu_fill(dst + 4, 0, len, 3);
}

static int run_open_create(struct mx_ctx *c)
{
	return mmf_open(c->subject, O_RDWR | O_CREAT | O_EXCL, MX_NEW, &c->opt,
			&c->opened);
}

static int run_open_existing(struct mx_ctx *c)
{
	return mmf_open(c->path, O_RDWR, 0, &c->opt, &c->opened);
}

static int run_open_fd(struct mx_ctx *c)
{
	int rc = mmf_open_fd(c->fd, c->op == OP_OPEN_FD ? 0 : MX_NEW, true,
			     &c->opt, &c->opened);

	if (rc == 0)
		c->fd = -1;	/* the handle owns it now */
	return rc;
}

static int run_allocate_slice(struct mx_ctx *c)
{
	size_t next = 0, len = c->op == OP_ALLOCATE_LARGE ? MX_LARGE : MX_REC;
	void *p;
	int rc = mmf_allocate_slice(c->f, len, MX_BASE, &p, &next);

	if (rc == 0) {
		assert_int_equal(next, MX_BASE + 4 + len);
		fu_fill(p, 0, len, 3);
		put_record(c->model + MX_BASE, len);
	}
	return rc;
}

static int run_append(struct mx_ctx *c)
{
	size_t off = c->op == OP_APPEND_EMPTY ? 0 : MX_BASE;
	unsigned char buf[MX_APPEND];
	int rc;

	fu_fill(buf, 0, MX_APPEND, 3);
	rc = mmf_append_buffer(c->f, off, buf, MX_APPEND);
	if (rc == 0)
		memcpy(c->model + off, buf, MX_APPEND);
	return rc;
}

static int run_truncate(struct mx_ctx *c)
{
	return mmf_truncate(c->f, c->new_size);
}

static int run_sync(struct mx_ctx *c)
{
	return mmf_sync(c->f);
}

static int run_sync_range(struct mx_ctx *c)
{
	return mmf_sync_range(c->f, MX_BASE - MX_DIRTY, MX_DIRTY);
}

static int run_close(struct mx_ctx *c)
{
	int rc = mmf_close(c->f);

	c->f = NULL;
	return rc;
}

static int run_delete(struct mx_ctx *c)
{
	int rc = mmf_delete(c->f);

	c->f = NULL;
	return rc;
}

static int run_sync_dir(struct mx_ctx *c)
{
	return mmf_sync_dir(c->dir);
}

static int run_advise(struct mx_ctx *c)
{
	return mmf_advise(c->f, MMF_ADVICE_RANDOM);
}

#define GROWTH ((1u << MX_NVARIANTS) - 1)
/* in-place growth, reservation: with and without MMF_RESERVE */
#define STABLE ((1u << V_STABLE) | (1u << V_STABLE_SPARSE))
#define CREATION ((1u << V_DEFAULT) | (1u << V_SEED) | (1u << V_POPULATE) | \
		  (1u << V_ALLFLAGS) | STABLE)
#define PLAIN (1u << V_DEFAULT)
#define ADVISED (1u << V_ADVISED)	/* the kept advice re-applied */

const struct mx_op_info mx_ops[MX_NOPS] = {
	[OP_OPEN_CREATE] = { "open_create", CREATION, MX_BASE, false, true,
			     HC_OPENS, F_NEW, run_open_create },
	[OP_OPEN_EXISTING] = { "open", PLAIN | STABLE, MX_BASE, false, false,
			       HC_OPENS, F_NEW, run_open_existing },
	[OP_OPEN_FD] = { "open_fd", PLAIN | STABLE, MX_BASE, false, false,
			 HC_OPENS, F_NEW, run_open_fd },
	[OP_OPEN_FD_EMPTY] = { "open_fd_empty", CREATION, MX_BASE, false, true,
			       HC_OPENS, F_NEW, run_open_fd },
	[OP_ALLOCATE_SLICE] = { "allocate_slice", GROWTH, MX_BASE, false, false,
				HC_KEEPS, F_NEW, run_allocate_slice },
	[OP_ALLOCATE_LARGE] = { "allocate_large", GROWTH, MX_BASE, false, false,
				HC_KEEPS, F_NEW, run_allocate_slice },
	[OP_APPEND_BUFFER] = { "append_buffer", GROWTH, MX_BASE, false, false,
			       HC_KEEPS, F_NEW, run_append },
	[OP_APPEND_EMPTY] = { "append_empty", CREATION | ADVISED, 0, false, false,
			      HC_KEEPS, F_NEW, run_append },
	[OP_TRUNCATE_GROW] = { "truncate_grow", GROWTH, MX_BASE, false, false,
			       HC_KEEPS, F_NEW, run_truncate },
	[OP_TRUNCATE_SHRINK] = { "truncate_shrink", PLAIN | ADVISED | STABLE, MX_BASE, false,
				 false, HC_KEEPS, F_NEW, run_truncate },
	[OP_TRUNCATE_ZERO] = { "truncate_zero", PLAIN | STABLE, MX_BASE, false, false,
			       HC_KEEPS, F_NEW, run_truncate },
	[OP_SYNC] = { "sync", PLAIN | STABLE, MX_BASE, true, false,
		      HC_KEEPS, F_NEW, run_sync },
	[OP_SYNC_EMPTY] = { "sync_empty", PLAIN | STABLE, 0, false, false,
			    HC_KEEPS, F_NEW, run_sync },
	[OP_SYNC_RANGE] = { "sync_range", PLAIN, MX_BASE, true, false,
			    HC_KEEPS, F_NEW, run_sync_range },
	[OP_CLOSE] = { "close", PLAIN | STABLE, MX_BASE, true, false,
		       HC_FREES, F_NEW, run_close },
	[OP_CLOSE_EMPTY] = { "close_empty", PLAIN | STABLE, 0, false, false,
			     HC_FREES, F_NEW, run_close },
	[OP_DELETE] = { "delete", PLAIN | STABLE, MX_BASE, false, false,
			HC_FREES, F_ABSENT, run_delete },
	[OP_SYNC_DIR] = { "sync_dir", PLAIN, MX_BASE, false, false,
			  HC_NONE, F_NEW, run_sync_dir },
	[OP_ADVISE] = { "advise", PLAIN, MX_BASE, false, false,
			HC_KEEPS, F_NEW, run_advise },
};

const char *const mx_variant_name[MX_NVARIANTS] = {
	"double", "exact", "chunk", "seed", "noreserve", "populate",
	"syncgrow", "allflags", "advised", "stable", "stable_sparse",
};

bool mx_op_grows(enum mx_op op)
{
	return op == OP_ALLOCATE_SLICE || op == OP_ALLOCATE_LARGE ||
	       op == OP_APPEND_BUFFER ||
	       op == OP_APPEND_EMPTY || op == OP_TRUNCATE_GROW;
}

void mx_options(enum mx_variant v, mmf_options *o)
{
	static const unsigned flags[MX_NVARIANTS] = {
		[V_DEFAULT] = MMF_RESERVE, [V_EXACT] = MMF_RESERVE,
		[V_CHUNK] = MMF_RESERVE, [V_SEED] = MMF_SYNC_BEFORE_GROW,
		[V_NORESERVE] = 0, [V_POPULATE] = MMF_RESERVE | MMF_POPULATE,
		[V_SYNCGROW] = MMF_RESERVE | MMF_SYNC_BEFORE_GROW,
		[V_ALLFLAGS] = MMF_FLAGS_ALL,
		[V_ADVISED] = MMF_RESERVE, [V_STABLE] = MMF_RESERVE | MMF_STABLE,
		[V_STABLE_SPARSE] = MMF_STABLE,
	};

	mmf_options_init(o);
	o->flags = flags[v];
	o->grow_chunk = MX_CHUNK;
	o->max_size = MX_MAXSIZE;
	if (v == V_EXACT)
		o->grow = MMF_GROW_EXACT;
	else if (v == V_CHUNK)
		o->grow = MMF_GROW_CHUNK;
	else if (v == V_SEED)
		o->grow = MMF_GROW_SEED;
}

/* ---- expected sizes ------------------------------------------------ */

/* The size a grow from `size` to at least `end` must reach, from the
 * header's formulas (need = len + 4 for a slice, len for a buffer). */
static size_t policy_target(const mmf_options *o, size_t size, size_t end,
			    size_t need, bool append)
{
	enum mmf_grow g = o->grow;
	size_t t = end, step = size < o->grow_max_step ? size : o->grow_max_step;

	if (g == MMF_GROW_SEED)
		g = append ? MMF_GROW_EXACT : MMF_GROW_DOUBLE;
	if (g == MMF_GROW_DOUBLE)
		t = size + (step > need ? step : need);
	else if (g == MMF_GROW_CHUNK)
		t = (end + o->grow_chunk - 1) / o->grow_chunk * o->grow_chunk;
	return t < end ? end : t;
}

static size_t new_size_of(const struct mx_ctx *c)
{
	switch (c->op) {
	case OP_OPEN_CREATE:
	case OP_OPEN_FD_EMPTY:
		return MX_NEW;
	case OP_ALLOCATE_SLICE:
		return policy_target(&c->opt, MX_BASE, MX_BASE + 4 + MX_REC,
				     MX_REC + 4, false);
	case OP_ALLOCATE_LARGE:
		return policy_target(&c->opt, MX_BASE, MX_BASE + 4 + MX_LARGE,
				     MX_LARGE + 4, false);
	case OP_APPEND_BUFFER:
		return policy_target(&c->opt, MX_BASE, MX_BASE + MX_APPEND,
				     MX_APPEND, true);
	case OP_APPEND_EMPTY:
		return policy_target(&c->opt, 0, MX_APPEND, MX_APPEND, true);
	case OP_TRUNCATE_GROW:
		return MX_BASE + MX_GROWBY;
	case OP_TRUNCATE_SHRINK:
		return MX_SHRINK;
	case OP_TRUNCATE_ZERO:
		return 0;
	default:
		return c->old_size;
	}
}

/* ---- fixture ------------------------------------------------------- */

/* The fixture file: base bytes of pattern 1, synced; then, for operations
 * that sync, the last page rewritten with pattern 2 and not synced. */
static void make_fixture(struct mx_ctx *c, const struct mx_op_info *oi)
{
	size_t base = oi->base;

	assert_int_equal(mmf_open(c->path, O_RDWR | O_CREAT, base, &c->opt,
				  &c->f), 0);
	assert_int_equal(mmf_size(c->f), base);
	fu_fill(mmf_data(c->f), 0, base, 1);
	assert_int_equal(mmf_sync(c->f), 0);
	fu_fill(c->before, 0, base, 1);
	c->intact = base;
	if (oi->dirty) {
		fu_fill((char *)mmf_data(c->f) + base - MX_DIRTY,
			base - MX_DIRTY, MX_DIRTY, 2);
		fu_fill(c->before + base - MX_DIRTY, base - MX_DIRTY,
			MX_DIRTY, 2);
		c->intact = base - MX_DIRTY;
	}
	c->old_size = base;
}

/* Open operations start from the closed fixture (and the caller's fd). */
static void prepare_open(struct mx_ctx *c, const struct mx_op_info *oi)
{
	assert_int_equal(mmf_close(c->f), 0);
	c->f = NULL;
	if (c->op == OP_OPEN_FD)
		c->fd = open(c->path, O_RDWR | O_CLOEXEC);
	if (c->op == OP_OPEN_FD_EMPTY)
		c->fd = open(c->subject, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (c->op == OP_OPEN_FD || c->op == OP_OPEN_FD_EMPTY)
		assert_true(c->fd >= 0);
	if (oi->own_file) {
		memset(c->before, 0, MX_MODEL);
		c->old_size = 0;
		c->intact = 0;
	}
}

void mx_setup(struct mx_ctx *c, enum mx_op op, enum mx_variant v)
{
	const struct mx_op_info *oi = &mx_ops[op];

	memset(c, 0, sizeof(*c));
	fu_reset();		/* every point quiet while building */
	c->op = op;
	c->v = v;
	c->fd = -1;
	c->fds = fu_count_fds();
	mx_options(v, &c->opt);
	c->before = calloc(1, MX_MODEL);
	c->model = calloc(1, MX_MODEL);
	c->dir = fu_tmpdir("matrix");
	assert_non_null(c->before);
	assert_non_null(c->model);
	assert_non_null(c->dir);
	c->path = fu_join(c->dir, "f");
	c->subject = fu_join(c->dir, oi->own_file ? "new" : "f");
	make_fixture(c, oi);
	if (v == V_ADVISED)
		assert_int_equal(mmf_advise(c->f, MMF_ADVICE_RANDOM), 0);
	if (oi->hclass == HC_OPENS)
		prepare_open(c, oi);
	c->new_size = new_size_of(c);
	memcpy(c->model, c->before, c->old_size);
	fu_reset();		/* the operation's calls count from here */
}

void mx_teardown(struct mx_ctx *c)
{
	fu_reset();
	if (c->f)
		(void)mmf_close(c->f);
	if (c->opened)
		(void)mmf_close(c->opened);
	if (c->fd >= 0)
		close(c->fd);
	fu_rmtree(c->dir);
	free(c->dir);
	free(c->path);
	free(c->subject);
	free(c->before);
	free(c->model);
	assert_int_equal(fu_count_fds(), c->fds);
}

/* ---- checks after the operation ----------------------------------- */

static bool is_stable(enum mx_variant v)
{
	return (STABLE >> v) & 1;
}

static void check_content(const mmf_file *f, const unsigned char *image,
			  size_t size, bool stable)
{
	const void *p;

	assert_int_equal(mmf_size(f), size);
	if (size == 0) {	/* a stable handle keeps its reservation */
		assert_true(!mmf_data(f) == !stable);
		return;
	}
	assert_int_equal(mmf_bytes(f, 0, size, &p), 0);
	assert_memory_equal(p, image, size);
}

/* A poisoned handle: every sync and mutation says err; still readable;
 * mmf_delete closes it, says err and leaves the file for recovery. */
static void check_poisoned(struct mx_ctx *c, int err)
{
	void *p;
	size_t next;

	check_content(c->f, c->before, c->old_size, is_stable(c->v));
	assert_int_equal(mmf_sync(c->f), err);
	if (c->old_size > 0)
		assert_int_equal(mmf_sync_range(c->f, 0, 1), err);
	assert_int_equal(mmf_truncate(c->f, c->old_size + 1), err);
	assert_int_equal(mmf_append_buffer(c->f, 0, "x", 1), err);
	assert_int_equal(mmf_allocate_slice(c->f, 1, 0, &p, &next), err);
	assert_int_equal(mmf_delete(c->f), err);
	c->f = NULL;
}

static void check_kept(struct mx_ctx *c, enum mx_outcome o, int err)
{
	bool ok = o == MX_SUCCEEDS;
	const void *p;

	if (o == MX_POISONS) {
		check_poisoned(c, err);
		return;
	}
	if (o == MX_COPY_FAILS) {	/* grown; the old bytes as they were */
		assert_int_equal(mmf_size(c->f), c->new_size);
		if (c->old_size > 0) {
			assert_int_equal(mmf_bytes(c->f, 0, c->old_size, &p), 0);
			assert_memory_equal(p, c->before, c->old_size);
		}
	} else {
		check_content(c->f, ok ? c->model : c->before,
			      ok ? c->new_size : c->old_size, is_stable(c->v));
	}
	/* not poisoned: a no-op truncate and a sync succeed */
	assert_int_equal(mmf_truncate(c->f, mmf_size(c->f)), 0);
	assert_int_equal(mmf_close(c->f), 0);
	c->f = NULL;
}

static void check_opened(struct mx_ctx *c, enum mx_outcome o)
{
	if (o != MX_SUCCEEDS) {
		assert_null(c->opened);	/* out-parameter untouched */
		if (c->fd >= 0)	/* still the caller's */
			assert_int_equal(close(c->fd), 0);
		c->fd = -1;
		return;
	}
	assert_non_null(c->opened);
	check_content(c->opened, c->model, c->new_size, is_stable(c->v));
	assert_int_equal(mmf_close(c->opened), 0);
	c->opened = NULL;
}

void mx_check_file(const char *path, enum mx_fstate fs, size_t size,
		   const unsigned char *image, size_t intact, bool exact)
{
	mmf_file *h = NULL;
	const void *p;
	struct stat st;

	if (fs == F_ABSENT) {
		assert_int_equal(stat(path, &st), -1);
		assert_int_equal(errno, ENOENT);
		return;
	}
	assert_int_equal(mmf_open(path, O_RDONLY, 0, NULL, &h), 0);
	assert_int_equal(mmf_size(h), size);
	if (size > 0) {
		assert_int_equal(mmf_bytes(h, 0, size, &p), 0);
		assert_memory_equal(p, image, exact ? size
					: intact < size ? intact : size);
	}
	assert_int_equal(mmf_close(h), 0);
}

/* Operations on "new" leave the fixture file "f" as it was synced. */
static void check_fixture_file(const struct mx_ctx *c)
{
	unsigned char *image = malloc(MX_BASE);

	assert_non_null(image);
	fu_fill(image, 0, MX_BASE, 1);
	mx_check_file(c->path, F_OLD, MX_BASE, image, MX_BASE, true);
	free(image);
}

void mx_check_after(struct mx_ctx *c, enum mx_outcome o, enum mx_fstate fs,
		    int err)
{
	const struct mx_op_info *oi = &mx_ops[c->op];
	bool ok = o == MX_SUCCEEDS;
	size_t size = fs == F_OLD ? c->old_size : fs == F_NEW ? c->new_size : 0;

	fu_reset();
	if (oi->hclass == HC_KEEPS)
		check_kept(c, o, err);
	else if (oi->hclass == HC_OPENS)
		check_opened(c, o);
	mx_check_file(c->subject, fs, size, fs == F_NEW ? c->model : c->before,
		      c->intact, ok || (oi->hclass == HC_KEEPS && o == MX_FAILS));
	if (oi->own_file)
		check_fixture_file(c);
}
