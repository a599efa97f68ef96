/*
 * fault_util.c - the injector and file helpers of the fault suites.
 */
#define _GNU_SOURCE
#define FIU_ENABLE 1	/* the real libfiu API, not the stubs of fiu.h */
#include "fault_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const fu_point_call[FU_NPOINTS] = {
#define X(call, err) #call,
	MMF_OS_POINTS(X)
#undef X
};

const char *const fu_point_name[FU_NPOINTS] = {
#define X(call, err) MMF_OS_POINT_PREFIX #call,
	MMF_OS_POINTS(X)
#undef X
};

const int fu_point_default_errno[FU_NPOINTS] = {
#define X(call, err) err,
	MMF_OS_POINTS(X)
#undef X
};

/* What the injector does at one point. */
struct fu_state {
	unsigned nth;		/* fail at this evaluation (0 never, FU_ALWAYS) */
	int err;		/* failinfo of a nth failure */
	unsigned calls, hits;
};

static struct fu_state states[FU_NPOINTS];
static double random_prob;
static int (*random_pick)(enum fu_point p);
static unsigned long total_hits;
static uint64_t rand_state = 1;

static int point_of(const char *name)
{
	for (int p = 0; p < FU_NPOINTS; p++)
		if (strcmp(name, fu_point_name[p]) == 0)
			return p;
	return -1;
}

static double rand_unit(void)
{
	return (double)(fu_rand() >> 11) / (double)(UINT64_C(1) << 53);
}

/* libfiu asks us at every evaluation of an enabled point. */
static int injector(const char *name, int *failnum, void **failinfo,
		    unsigned int *flags)
{
	int p = point_of(name), err;
	struct fu_state *s;

	(void)failnum;
	(void)flags;
	if (p < 0)
		return 0;
	s = &states[p];
	s->calls++;
	if (s->nth == FU_ALWAYS || s->calls == s->nth)
		err = s->err;
	else if (random_prob > 0 && rand_unit() < random_prob)
		err = random_pick ? random_pick((enum fu_point)p) : 0;
	else
		return 0;
	s->hits++;
	total_hits++;
	*failinfo = err ? (void *)(intptr_t)err : NULL;
	return 1;
}

void fu_init(void)
{
	if (fiu_init(0) != 0) {
		fprintf(stderr, "fiu_init failed\n");
		abort();
	}
	for (int p = 0; p < FU_NPOINTS; p++) {
		if (fiu_enable_external(fu_point_name[p], 1, NULL, 0,
					injector) != 0) {
			fprintf(stderr, "fiu_enable_external %s failed\n",
				fu_point_name[p]);
			abort();
		}
	}
	fu_reset();
}

void fu_reset(void)
{
	memset(states, 0, sizeof(states));
	random_prob = 0;
	random_pick = NULL;
}

void fu_fail_nth(enum fu_point p, unsigned nth, int err)
{
	states[p].nth = nth;
	states[p].err = err;
}

void fu_fail_random(double prob, int (*pick)(enum fu_point p))
{
	random_prob = prob;
	random_pick = pick;
}

unsigned fu_calls(enum fu_point p)
{
	return states[p].calls;
}

unsigned fu_hits(enum fu_point p)
{
	return states[p].hits;
}

unsigned long fu_total_hits(void)
{
	return total_hits;
}

int fu_errno_of(enum fu_point p, int err)
{
	return err ? err : fu_point_default_errno[p];
}

void fu_rand_seed(uint64_t seed)
{
	rand_state = seed;
}

uint64_t fu_rand(void)
{
	uint64_t z = (rand_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

size_t fu_rand_below(size_t n)
{
	return (size_t)(fu_rand() % n);
}

unsigned char fu_pattern(size_t i, unsigned seed)
{
	uint32_t x = (uint32_t)i * 2654435761u ^ seed * 40503u;

	return (unsigned char)(x >> 13 ^ x >> 5 ^ seed);
}

void fu_fill(void *dst, size_t off, size_t len, unsigned seed)
{
	unsigned char *d = dst;

	for (size_t i = 0; i < len; i++)
		d[i] = fu_pattern(off + i, seed);
}

char *fu_tmpdir(const char *tag)
{
	char tmpl[128];

	snprintf(tmpl, sizeof(tmpl), "/tmp/mmf-%s-XXXXXX", tag);
	if (!mkdtemp(tmpl))
		return NULL;
	return strdup(tmpl);
}

char *fu_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

void fu_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	(void)rmdir(dir);
}

int fu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;		/* the descriptor of the listing itself */
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int fu_read_file(const char *path, unsigned char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	unsigned char *b = NULL;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	if (rc == 0 && st.st_size > 0) {
		b = malloc((size_t)st.st_size);
		rc = b ? read_all(fd, b, (size_t)st.st_size) : -ENOMEM;
	}
	close(fd);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = (size_t)st.st_size;
	return 0;
}
