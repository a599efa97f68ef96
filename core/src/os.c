/*
 * os.c - the syscall seam: the only file of the library that calls the OS.
 *
 * Every wrapper returns 0 or a negative errno captured right after the call,
 * and holds the libfiu failure point "mmf/os/<call>" (compiled away unless
 * FIU_ENABLE is defined; the list lives in os_points.h). A test that enables
 * a point with a non-NULL failinfo chooses the errno; NULL gives the default
 * of os_points.h.
 */
#define _GNU_SOURCE
#include "os.h"
#include "os_points.h"

#include <errno.h>
#include <fcntl.h>
#include <fiu-local.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14; older kernels say EINVAL */
#endif

/* The default errno of each point, from the one list. */
enum {
#define X(call, err) DEFAULT_##call = err,
	MMF_OS_POINTS(X)
#undef X
};

/* The errno an enabled point returns: its failinfo, or the default. */
static inline int fail_errno(int dflt)
{
	void *info = fiu_failinfo();

	return info ? (int)(intptr_t)info : dflt;
}

#define POINT(call) \
	fiu_do_on(MMF_OS_POINT_PREFIX #call, return -fail_errno(DEFAULT_##call))

int mmf__os_open(int dirfd, const char *path, int oflags, mode_t mode,
		 int *fd)
{
	int rc;

	POINT(open);
	rc = openat(dirfd, path, oflags | O_CLOEXEC, mode);
	if (rc < 0)
		return -errno;
	*fd = rc;
	return 0;
}

int mmf__os_fstat(int fd, struct stat *st)
{
	POINT(fstat);
	return fstat(fd, st) < 0 ? -errno : 0;
}

int mmf__os_fstatat(int dirfd, const char *name, struct stat *st)
{
	POINT(fstat);	/* the same point: fstat is fstatat of the fd itself */
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int mmf__os_ftruncate(int fd, size_t size)
{
	POINT(ftruncate);
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

int mmf__os_fallocate(int fd, size_t off, size_t len)
{
	POINT(fallocate);
	/* posix_fallocate returns the error number itself, errno untouched. */
	return -posix_fallocate(fd, (off_t)off, (off_t)len);
}

int mmf__os_mmap(int fd, size_t len, int writable, void **addr)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *p;

	POINT(mmap);
	p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

int mmf__os_mremap(void *old, size_t old_len, size_t new_len, void **addr)
{
	void *p;

	POINT(mremap);
	p = mremap(old, old_len, new_len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

/* LARGE SLICES: zeros come from one 64 KiB buffer, up to 16 times per
 * call, so a call of up to 1 MiB fills folios as large as itself. */
#define ZERO_BUF (64 * 1024)
#define ZERO_IOV 16

/* pwritev(2) until len bytes are at off: buf's, or zeros when buf is NULL.
 * Short writes and EINTR continue. */
static int write_all(int fd, const char *buf, size_t len, size_t off)
{
	static const char zeros[ZERO_BUF];
	struct iovec iov[ZERO_IOV];
	ssize_t n;

	while (len > 0) {
		size_t left = len;
		int cnt = 0;

		for (; left > 0 && cnt < (buf ? 1 : ZERO_IOV); cnt++) {
			iov[cnt].iov_base = (void *)(buf ? buf : zeros);
			iov[cnt].iov_len = buf || left < ZERO_BUF ? left : ZERO_BUF;
			left -= iov[cnt].iov_len;
		}
		n = pwritev(fd, iov, cnt, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* a regular file never writes nothing */
		if (buf)
			buf += n;
		len -= (size_t)n;
		off += (size_t)n;
	}
	return 0;
}

int mmf__os_pwrite(int fd, const void *buf, size_t len, size_t off)
{
	POINT(pwrite);
	return write_all(fd, buf, len, off);
}

int mmf__os_pwrite_zeros(int fd, size_t off, size_t len)
{
	POINT(pwrite);
	return write_all(fd, NULL, len, off);
}

int mmf__os_msync(void *addr, size_t len)
{
	POINT(msync);
	return msync(addr, len, MS_SYNC) < 0 ? -errno : 0;
}

int mmf__os_munmap(void *addr, size_t len)
{
	POINT(munmap);
	return munmap(addr, len) < 0 ? -errno : 0;
}

int mmf__os_madvise_populate(void *addr, size_t len)
{
	POINT(madvise);
	return madvise(addr, len, MADV_POPULATE_WRITE) < 0 ? -errno : 0;
}

int mmf__os_advise(void *addr, size_t len, enum mmf_advice advice)
{
	static const int madv[] = {
		[MMF_ADVICE_NORMAL] = MADV_NORMAL,
		[MMF_ADVICE_RANDOM] = MADV_RANDOM,
		[MMF_ADVICE_SEQUENTIAL] = MADV_SEQUENTIAL,
		[MMF_ADVICE_WILLNEED] = MADV_WILLNEED,
		[MMF_ADVICE_DONTNEED] = MADV_DONTNEED,
	};

	POINT(advise);
	return madvise(addr, len, madv[advice]) < 0 ? -errno : 0;
}

int mmf__os_advise_huge(void *addr, size_t len, int on)
{
	POINT(advise);
	return madvise(addr, len, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0 ? -errno : 0;
}

int mmf__os_fsync(int fd)
{
	POINT(fsync);
	return fsync(fd) < 0 ? -errno : 0;
}

int mmf__os_fdatasync(int fd)
{
	POINT(fdatasync);
	return fdatasync(fd) < 0 ? -errno : 0;
}

int mmf__os_close(int fd)
{
	/* Linux releases the descriptor even when close reports an error, so
	 * it is never retried; an injected failure releases it too, as the
	 * real one would (else every injected close would leak the fd). */
	int rc = close(fd) < 0 ? -errno : 0;

	POINT(close);
	return rc;
}

int mmf__os_unlink(int dirfd, const char *name)
{
	POINT(unlink);
	return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

int mmf__os_positional_writes(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && !(fl & (O_APPEND | O_DIRECT));
}

void mmf__os_drop_cache(int fd, size_t off, size_t len, int writeback)
{
	if (writeback)
		(void)sync_file_range(fd, (off_t)off, (off_t)len,
				      SYNC_FILE_RANGE_WAIT_BEFORE |
				      SYNC_FILE_RANGE_WRITE |
				      SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
}

void mmf__os_prefetch(int fd, size_t off, size_t len)
{
	(void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

size_t mmf__os_data_from(int fd, size_t off, size_t end)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO ? end : off;
	return (size_t)d < end ? (size_t)d : end;
}

char *mmf__os_fd_path(int fd)
{
	static const char deleted[] = " (deleted)";
	char link[64], buf[PATH_MAX];
	ssize_t n;
	size_t dl = sizeof(deleted) - 1;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0)
		return NULL;
	return strdup(buf);
}

size_t mmf__os_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

uint64_t mmf__os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
