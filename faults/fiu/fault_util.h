/*
 * fault_util.h - what the libfiu fault suites share: the failure points of
 * the seam (enumerated from its one list, os_points.h), a deterministic
 * injector that decides per call which point fails and with which errno,
 * and small file helpers (temporary directories, patterns, fd counts).
 *
 * Injection goes through fiu_enable_external with our own callback rather
 * than fiu_enable/fiu_enable_random: it lets a test fail exactly the Nth
 * call of a point, count how often each point was evaluated, and draw random
 * failures from a seeded generator (libfiu seeds its own from the clock, so
 * fiu_enable_random cannot reproduce a run).
 */
#ifndef MMF_FAULT_UTIL_H
#define MMF_FAULT_UTIL_H

#include "os_points.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FU_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The failure points, in the order of MMF_OS_POINTS. */
enum fu_point {
#define X(call, err) FU_P_##call,
	MMF_OS_POINTS(X)
#undef X
	FU_NPOINTS
};

extern const char *const fu_point_call[FU_NPOINTS];	/* "open" */
extern const char *const fu_point_name[FU_NPOINTS];	/* "mmf/os/open" */
extern const int fu_point_default_errno[FU_NPOINTS];

/* fiu_init and register the injector on every point (none fails yet). */
void fu_init(void);

/* Reset every point: no failure, counters zero. */
void fu_reset(void);

/* Point p fails at its nth evaluation from now (1-based; FU_ALWAYS: every
 * one) with errno err (0: NULL failinfo, i.e. the point's default). */
#define FU_ALWAYS 0xffffffffu
void fu_fail_nth(enum fu_point p, unsigned nth, int err);

/* Every point fails with probability prob, drawing from fu_rand; the errno
 * of each failure is picked by the callback pick(p) (0 = default). */
void fu_fail_random(double prob, int (*pick)(enum fu_point p));

/* Evaluations of p since the last reset, and failures injected at p. */
unsigned fu_calls(enum fu_point p);
unsigned fu_hits(enum fu_point p);
unsigned long fu_total_hits(void);	/* since fu_init */

/* The errno a failure at p with failinfo err returns (negated by the seam). */
int fu_errno_of(enum fu_point p, int err);

/* A seeded generator (splitmix64), the only randomness of the suites. */
void fu_rand_seed(uint64_t seed);
uint64_t fu_rand(void);
size_t fu_rand_below(size_t n);		/* uniform in [0, n), n > 0 */

/* Deterministic content: the byte at offset i of pattern `seed`. */
unsigned char fu_pattern(size_t i, unsigned seed);
void fu_fill(void *dst, size_t off, size_t len, unsigned seed);

/* mkdtemp under /tmp (malloc'd), and its removal with the files in it. */
char *fu_tmpdir(const char *tag);
void fu_rmtree(const char *dir);
char *fu_join(const char *dir, const char *name);	/* malloc'd dir/name */

/* Open descriptors of this process (entries of /proc/self/fd). */
int fu_count_fds(void);

/* Whole content of path read with read(2): 0, or -errno (-ENOENT...).
 * *buf is malloc'd (NULL for an empty file). */
int fu_read_file(const char *path, unsigned char **buf, size_t *len);

#endif
