/*
 * test_matrix.c - every failure point of the seam x every public operation
 * that reaches it.
 *
 * How a cell is found and run:
 * 1. test_matrix_success_paths runs every scenario (operation x option
 *    variant) with no failure and counts how often each point is evaluated:
 *    that is which calls the operation makes on its success path.
 * 2. test_matrix_point_<call> (one per point, generated from MMF_OS_POINTS)
 *    fails, for every scenario, each of those calls in turn (the Nth call of
 *    the point, with each errno of the point's list), and checks the outcome
 *    that the point's rule table (rules_<call> below) states for that
 *    (operation, call number): the exact return code; the handle afterwards
 *    (old size and content, poisoned, or new); then reopens the file with a
 *    fresh handle and checks its size and every synced byte; no fd leaks
 *    (ASan sees memory leaks).
 * 3. Failure-path calls (the ftruncate that undoes a failed grow, the
 *    mremap that undoes a failed shrink) only run after a first failure:
 *    test_matrix_double_* inject two.
 * 4. test_matrix_every_point_reached prints the table points x operations
 *    (cases run per cell) and fails if a point had no case or a rule was
 *    never used.
 *
 * A point added to MMF_OS_POINTS without rules_<call> and errs_<call> here
 * does not compile. A call the rule table does not foresee (a new call of a
 * point in some operation) fails the test that meets it.
 */
#define _GNU_SOURCE
#include "matrix.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* One expectation: a failure at call `nth` of the point in any operation of
 * `ops` (a bit per mx_op) gives `outcome`, and the file ends `file`. */
struct rule {
	unsigned ops;
	unsigned nth;
	enum mx_outcome outcome;
	enum mx_fstate file;
};

#define B(op) (1u << (op))
#define OPEN_NEW (B(OP_OPEN_CREATE) | B(OP_OPEN_FD_EMPTY))
#define OPEN_OLD (B(OP_OPEN_EXISTING) | B(OP_OPEN_FD))
#define GROW (B(OP_ALLOCATE_SLICE) | B(OP_ALLOCATE_LARGE) | B(OP_APPEND_BUFFER) | \
	      B(OP_TRUNCATE_GROW))
#define GROW_ALL (GROW | B(OP_APPEND_EMPTY))
#define SHRINK (B(OP_TRUNCATE_SHRINK) | B(OP_TRUNCATE_ZERO))
#define SYNCS (B(OP_SYNC) | B(OP_SYNC_RANGE))
#define CLOSES (B(OP_CLOSE) | B(OP_CLOSE_EMPTY))

/* open: mmf_open opens the directory (1st), then the file in it (2nd);
 * mmf_open_fd opens the directory of the name /proc gives. The handle keeps
 * the directory: no open in delete or in the fsync after creation. */
static const struct rule rules_open[] = {
	{ B(OP_OPEN_CREATE), 1, MX_FAILS, F_ABSENT },
	{ B(OP_OPEN_CREATE), 2, MX_FAILS, F_ABSENT },
	{ B(OP_OPEN_EXISTING), 1, MX_FAILS, F_OLD },
	{ B(OP_OPEN_EXISTING), 2, MX_FAILS, F_OLD },
	{ B(OP_OPEN_FD) | B(OP_OPEN_FD_EMPTY), 1, MX_FAILS, F_OLD },
	{ B(OP_SYNC_DIR), 1, MX_FAILS, F_OLD },
};
static const int errs_open[] = { 0, ENOENT, EINTR, EMFILE };

/* fstat: the opened file (1st); fstatat: mmf_open_fd's check that the
 * name /proc gives is its file (2nd), mmf_delete's that the name still is. */
static const struct rule rules_fstat[] = {
	{ OPEN_NEW | OPEN_OLD, 1, MX_FAILS, F_OLD },
	{ B(OP_OPEN_FD) | B(OP_OPEN_FD_EMPTY), 2, MX_FAILS, F_OLD },
	{ B(OP_DELETE), 1, MX_FAILS, F_OLD },
};
static const int errs_fstat[] = { 0, ENOMEM };

/* ftruncate: growth without MMF_RESERVE, every shrink (delete no longer
 * cuts the file to 0). */
static const struct rule rules_ftruncate[] = {
	{ OPEN_NEW | GROW_ALL | SHRINK, 1, MX_FAILS, F_OLD },
};
static const int errs_ftruncate[] = { 0, EIO, EINTR };

/* fallocate: growth with MMF_RESERVE (undone, the file keeps its size),
 * and the holes of an existing file opened writable (its size unchanged). */
static const struct rule rules_fallocate[] = {
	{ OPEN_NEW | OPEN_OLD | GROW_ALL, 1, MX_FAILS, F_OLD },
};
static const int errs_fallocate[] = { 0, EIO, EINTR };

/* mmap: a non-empty file, or the first grow of an empty one; a stable
 * handle maps its whole reservation at open (after the file is open, so a
 * created file stays, empty) and never in a grow or shrink. */
static const struct rule rules_mmap[] = {
	{ OPEN_NEW | OPEN_OLD | GROW_ALL, 1, MX_FAILS, F_OLD },
};
static const int errs_mmap[] = { 0, EAGAIN, ENODEV };

static const struct rule rules_mremap[] = {
	{ GROW | B(OP_TRUNCATE_SHRINK), 1, MX_FAILS, F_OLD },
};
static const int errs_mremap[] = { 0, EAGAIN };

/* pwrite: mmf_append_buffer's copy of a large record, after the grow:
 * the handle keeps the growth, the copied bytes are unspecified. The zeros
 * written into a large slice's fresh pages (MMF_RESERVE) are advisory. */
static const struct rule rules_pwrite[] = {
	{ B(OP_APPEND_BUFFER) | B(OP_APPEND_EMPTY), 1, MX_COPY_FAILS, F_NEW },
	{ B(OP_ALLOCATE_LARGE), 1, MX_SUCCEEDS, F_NEW },
};
static const int errs_pwrite[] = { 0, ENOSPC, EDQUOT };

/* msync: SYNC_BEFORE_GROW and the syncs poison; close frees anyway. */
static const struct rule rules_msync[] = {
	{ GROW | SYNCS, 1, MX_POISONS, F_OLD },
	{ B(OP_CLOSE), 1, MX_FAILS, F_OLD },
};
static const int errs_msync[] = { 0, ENOSPC, ENOMEM };

/* munmap: a stable handle unmaps its reservation even when empty. */
static const struct rule rules_munmap[] = {
	{ B(OP_TRUNCATE_ZERO) | CLOSES | B(OP_DELETE), 1, MX_FAILS, F_OLD },
};
static const int errs_munmap[] = { 0, ENOMEM };

/* madvise: MMF_POPULATE is advisory, the grow succeeds. */
static const struct rule rules_madvise[] = {
	{ OPEN_NEW | GROW_ALL, 1, MX_SUCCEEDS, F_NEW },
};
static const int errs_madvise[] = { 0, ENOMEM, EINTR };

/* fsync: only of directories (after create, after unlink, sync_dir). */
static const struct rule rules_fsync[] = {
	{ OPEN_NEW, 1, MX_FAILS, F_NEW },
	{ B(OP_DELETE), 1, MX_FAILS, F_ABSENT },
	{ B(OP_SYNC_DIR), 1, MX_FAILS, F_OLD },
};
static const int errs_fsync[] = { 0, ENOSPC, EINTR };

/* fdatasync: the sync of a writable handle with nothing mapped. */
static const struct rule rules_fdatasync[] = {
	{ B(OP_SYNC_EMPTY), 1, MX_POISONS, F_OLD },
	{ B(OP_CLOSE_EMPTY), 1, MX_FAILS, F_OLD },
};
static const int errs_fdatasync[] = { 0, ENOSPC };

/* close: the file (1st), then the directory kept since open (2nd); delete
 * closes the file before it unlinks (so the unlink still runs). */
static const struct rule rules_close[] = {
	{ CLOSES | B(OP_SYNC_DIR), 1, MX_FAILS, F_OLD },
	{ CLOSES, 2, MX_FAILS, F_OLD },
	{ B(OP_DELETE), 1, MX_FAILS, F_ABSENT },
	{ B(OP_DELETE), 2, MX_FAILS, F_ABSENT },
};
static const int errs_close[] = { 0, EINTR, ENOSPC };

/* unlink: the file keeps every byte (delete does not truncate). */
static const struct rule rules_unlink[] = {
	{ B(OP_DELETE), 1, MX_FAILS, F_OLD },
};
static const int errs_unlink[] = { 0, EACCES, EBUSY };

/* advise: mmf_advise fails as a call; the kept advice re-applied after a
 * grow or shrink is advisory (the handle was advised in the fixture), and
 * so is the MADV_HUGEPAGE of BULK STORES a large slice enters after it. */
static const struct rule rules_advise[] = {
	{ B(OP_ADVISE), 1, MX_FAILS, F_OLD },
	{ GROW_ALL | B(OP_TRUNCATE_SHRINK), 1, MX_SUCCEEDS, F_NEW },
	{ B(OP_ALLOCATE_LARGE), 2, MX_SUCCEEDS, F_NEW },
};
static const int errs_advise[] = { 0, ENOMEM, EAGAIN };

struct point_spec {
	const struct rule *rules;
	size_t nrules;
	const int *errs;
	size_t nerrs;
};

/* A point of MMF_OS_POINTS without rules_<call>/errs_<call>: no build. */
#define MAX_RULES 8
#define X(call, err) _Static_assert(FU_ARRAY_LEN(rules_##call) <= MAX_RULES, \
				    "rules_" #call);
MMF_OS_POINTS(X)
#undef X

static const struct point_spec specs[FU_NPOINTS] = {
#define X(call, err) [FU_P_##call] = { rules_##call, FU_ARRAY_LEN(rules_##call), \
				       errs_##call, FU_ARRAY_LEN(errs_##call) },
	MMF_OS_POINTS(X)
#undef X
};

/* ---- bookkeeping ---------------------------------------------------- */

struct scenario {
	enum mx_op op;
	enum mx_variant v;
	unsigned calls[FU_NPOINTS];	/* on the success path */
};

static struct scenario scenarios[MX_NOPS * MX_NVARIANTS];
static size_t nscenarios;
static unsigned cells[FU_NPOINTS][MX_NOPS];
static unsigned growth_cells[FU_NPOINTS][MX_NVARIANTS];
static bool rule_used[FU_NPOINTS][MAX_RULES];
static unsigned long cases_run;

static void count_case(enum fu_point p, enum mx_op op, enum mx_variant v)
{
	cells[p][op]++;
	if (mx_op_grows(op))
		growth_cells[p][v]++;
	cases_run++;
}

static const struct rule *find_rule(enum fu_point p, enum mx_op op,
				    unsigned nth)
{
	const struct point_spec *s = &specs[p];

	for (size_t i = 0; i < s->nrules; i++) {
		if ((s->rules[i].ops & B(op)) && s->rules[i].nth == nth) {
			rule_used[p][i] = true;
			return &s->rules[i];
		}
	}
	return NULL;
}

/* ---- running cases ------------------------------------------------- */

static void run_success(struct scenario *sc)
{
	struct mx_ctx c;
	int rc;

	mx_setup(&c, sc->op, sc->v);
	fu_reset();
	rc = mx_ops[sc->op].run(&c);
	for (int p = 0; p < FU_NPOINTS; p++)
		sc->calls[p] = fu_calls((enum fu_point)p);
	assert_int_equal(rc, 0);
	mx_check_after(&c, MX_SUCCEEDS, mx_ops[sc->op].done, 0);
	mx_teardown(&c);
}

/* Fail call nth of point p with failinfo err in scenario sc. */
static void run_case(const struct scenario *sc, enum fu_point p,
		     unsigned nth, int err)
{
	const struct rule *r = find_rule(p, sc->op, nth);
	int want = -fu_errno_of(p, err), rc;
	struct mx_ctx c;

	if (!r)
		fail_msg("%s: call %u of %s[%s] has no rule in rules_%s",
			 fu_point_name[p], nth, mx_ops[sc->op].name,
			 mx_variant_name[sc->v], fu_point_call[p]);
	mx_setup(&c, sc->op, sc->v);
	fu_fail_nth(p, nth, err);
	rc = mx_ops[sc->op].run(&c);
	if (fu_hits(p) != 1)
		fail_msg("%s: call %u of %s was not reached", fu_point_name[p],
			 nth, mx_ops[sc->op].name);
	if (rc != (r->outcome == MX_SUCCEEDS ? 0 : want))
		fail_msg("%s call %u errno %d in %s[%s]: returned %d, want %d",
			 fu_point_name[p], nth, -want, mx_ops[sc->op].name,
			 mx_variant_name[sc->v], rc,
			 r->outcome == MX_SUCCEEDS ? 0 : want);
	mx_check_after(&c, r->outcome, r->file, want);
	mx_teardown(&c);
	count_case(p, sc->op, sc->v);
}

static void run_point(enum fu_point p)
{
	const struct point_spec *s = &specs[p];

	assert_true(nscenarios > 0);	/* test_matrix_success_paths ran */
	for (size_t i = 0; i < nscenarios; i++)
		for (unsigned nth = 1; nth <= scenarios[i].calls[p]; nth++)
			for (size_t e = 0; e < s->nerrs; e++)
				run_case(&scenarios[i], p, nth, s->errs[e]);
}

static void test_matrix_success_paths(void **state)
{
	(void)state;
	nscenarios = 0;
	for (int op = 0; op < MX_NOPS; op++) {
		for (int v = 0; v < MX_NVARIANTS; v++) {
			struct scenario *sc = &scenarios[nscenarios];

			if (!(mx_ops[op].variants & (1u << v)))
				continue;
			sc->op = (enum mx_op)op;
			sc->v = (enum mx_variant)v;
			run_success(sc);
			nscenarios++;
		}
	}
}

#define X(call, err)							\
	static void test_matrix_point_##call(void **state)		\
	{								\
		(void)state;						\
		run_point(FU_P_##call);					\
	}
MMF_OS_POINTS(X)
#undef X

/* ---- two failures: the undo paths ---------------------------------- */

/* A grow whose `first` call fails (default errno), and whose undo (the
 * ftruncate back to the old size) fails too. */
static void run_double_grow(enum mx_op op, enum fu_point first,
			    enum mx_fstate fs)
{
	int want = -fu_errno_of(first, 0);
	struct mx_ctx c;

	mx_setup(&c, op, V_DEFAULT);
	fu_fail_nth(first, FU_ALWAYS, 0);
	fu_fail_nth(FU_P_ftruncate, FU_ALWAYS, EIO);
	assert_int_equal(mx_ops[c.op].run(&c), want);
	assert_int_equal(fu_hits(FU_P_ftruncate), 1);
	mx_check_after(&c, MX_FAILS, fs, want);
	mx_teardown(&c);
	count_case(FU_P_ftruncate, op, V_DEFAULT);
}

/* MMF_RESERVE grow: posix_fallocate extends the file, mremap fails, and the
 * ftruncate that undoes the extension fails too. The handle keeps its old
 * size and content and is not poisoned; the file stays extended (zeros past
 * the old end): a size the contract allows, as nothing was synced. */
static void test_matrix_double_grow_undo_after_mremap(void **state)
{
	(void)state;
	run_double_grow(OP_APPEND_BUFFER, FU_P_mremap, F_NEW);
}

/* posix_fallocate fails and so does the ftruncate that undoes a partial
 * extension: the fallocate error is returned, the file keeps its size. */
static void test_matrix_double_grow_undo_after_fallocate(void **state)
{
	(void)state;
	run_double_grow(OP_ALLOCATE_SLICE, FU_P_fallocate, F_OLD);
}

/* A shrink whose ftruncate fails and whose mapping cannot be restored (the
 * second mremap fails too). The header says the handle keeps its old size
 * after an error; here it cannot: it keeps the smaller mapping, stays
 * usable and unpoisoned, and the file keeps every byte (reported). */
static void test_matrix_double_shrink_restore_fails(void **state)
{
	const void *p;
	struct mx_ctx c;

	(void)state;
	mx_setup(&c, OP_TRUNCATE_SHRINK, V_DEFAULT);
	fu_fail_nth(FU_P_ftruncate, 1, EIO);
	fu_fail_nth(FU_P_mremap, 2, 0);
	assert_int_equal(mx_ops[c.op].run(&c), -EIO);
	assert_int_equal(fu_hits(FU_P_mremap), 1);
	fu_reset();
	assert_int_equal(mmf_size(c.f), MX_SHRINK);
	assert_int_equal(mmf_bytes(c.f, 0, MX_SHRINK, &p), 0);
	assert_memory_equal(p, c.before, MX_SHRINK);
	assert_int_equal(mmf_close(c.f), 0);
	c.f = NULL;
	mx_check_file(c.subject, F_OLD, MX_BASE, c.before, MX_BASE, true);
	mx_teardown(&c);
	count_case(FU_P_mremap, OP_TRUNCATE_SHRINK, V_DEFAULT);
}

/* ---- the table ------------------------------------------------------ */

static void print_table(void)
{
	printf("\nfault matrix: cases run, operations (rows) x points "
	       "(columns); %lu cases, %zu scenarios\n%-16s", cases_run,
	       nscenarios, "");
	for (int p = 0; p < FU_NPOINTS; p++)
		printf(" %9s", fu_point_call[p]);
	for (int op = 0; op < MX_NOPS; op++) {
		printf("\n%-16s", mx_ops[op].name);
		for (int p = 0; p < FU_NPOINTS; p++)
			printf(" %9u", cells[p][op]);
	}
	printf("\ngrowth (allocate_slice, allocate_large, append_buffer, append_empty, "
	       "truncate_grow) by option variant:");
	for (int v = 0; v < MX_NVARIANTS; v++) {
		printf("\n%-16s", mx_variant_name[v]);
		for (int p = 0; p < FU_NPOINTS; p++)
			printf(" %9u", growth_cells[p][v]);
	}
	printf("\n");
}

static void test_matrix_every_point_reached(void **state)
{
	int bad = 0;

	(void)state;
	print_table();
	for (int p = 0; p < FU_NPOINTS; p++) {
		unsigned n = 0;

		for (int op = 0; op < MX_NOPS; op++)
			n += cells[p][op];
		if (n == 0 && ++bad)
			printf("FAIL: no operation reaches %s\n",
			       fu_point_name[p]);
		for (size_t i = 0; i < specs[p].nrules; i++)
			if (!rule_used[p][i] && ++bad)
				printf("FAIL: rules_%s[%zu] never applied\n",
				       fu_point_call[p], i);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_success_paths),
#define X(call, err) cmocka_unit_test(test_matrix_point_##call),
		MMF_OS_POINTS(X)
#undef X
		cmocka_unit_test(test_matrix_double_grow_undo_after_mremap),
		cmocka_unit_test(test_matrix_double_grow_undo_after_fallocate),
		cmocka_unit_test(test_matrix_double_shrink_restore_fails),
		cmocka_unit_test(test_matrix_every_point_reached),
	};

	fu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
