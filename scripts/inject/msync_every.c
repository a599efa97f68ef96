/*
 * msync_every.c - a deliberate regression for scripts/compare --self-test:
 * one extra mmf_sync (an msync of the mapping, counted in mmf_stats.syncs)
 * after every MMF_INJECT_MSYNC_EVERY-th append of a handle.
 *
 * Linked only into the benchmark drivers of a compare build made with
 * --inject-msync N (msync_every.cmake wraps the calls at link time with
 * ld --wrap), so the library's sources stay as they are. The count starts
 * again at every mmf_open / mmf_open_fd: a benchmark repetition opens a
 * fresh file, so the extra syncs per repetition are exact (records / N).
 * Not thread-safe (the benchmarks append from one thread).
 */
#include "mmapfile.h"

#ifndef MMF_INJECT_MSYNC_EVERY
#error "build through scripts/inject/msync_every.cmake (MMF_INJECT_MSYNC_EVERY=N)"
#endif

/* The real call (ld --wrap's __real_NAME) and its stand-in (__wrap_NAME). */
#define WRAPPED(name, params) int __real_##name params; int __wrap_##name params;
WRAPPED(mmf_open, (const char *path, int oflags, size_t size, const mmf_options *opt,
		   mmf_file **out))
WRAPPED(mmf_open_fd, (int fd, size_t size, bool writable, const mmf_options *opt,
		      mmf_file **out))
WRAPPED(mmf_allocate_slice, (mmf_file *f, size_t len, size_t off, void **out, size_t *next))
WRAPPED(mmf_append_buffer, (mmf_file *f, size_t off, const void *buf, size_t len))

static unsigned long appends;	/* since the last open */

/* After a successful append: every N-th one syncs. 0 or mmf_sync's error. */
static int counted(mmf_file *f, int rc)
{
	if (rc == 0 && ++appends % MMF_INJECT_MSYNC_EVERY == 0)
		rc = mmf_sync(f);
	return rc;
}

int __wrap_mmf_open(const char *path, int oflags, size_t size,
		    const mmf_options *opt, mmf_file **out)
{
	appends = 0;
	return __real_mmf_open(path, oflags, size, opt, out);
}

int __wrap_mmf_open_fd(int fd, size_t size, bool writable,
		       const mmf_options *opt, mmf_file **out)
{
	appends = 0;
	return __real_mmf_open_fd(fd, size, writable, opt, out);
}

int __wrap_mmf_allocate_slice(mmf_file *f, size_t len, size_t off, void **out,
			      size_t *next)
{
	return counted(f, __real_mmf_allocate_slice(f, len, off, out, next));
}

int __wrap_mmf_append_buffer(mmf_file *f, size_t off, const void *buf, size_t len)
{
	return counted(f, __real_mmf_append_buffer(f, off, buf, len));
}
