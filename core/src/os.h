/*
 * os.h - the syscall seam. The rest of the library calls the OS only through
 * these wrappers; each returns 0 or a negative errno and holds the failure
 * point "mmf/os/<call>" (see os_points.h).
 */
#ifndef MMF_OS_H
#define MMF_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mmapfile.h"

struct stat;

/* openat(dirfd, ...): AT_FDCWD for a path as given. */
int mmf__os_open(int dirfd, const char *path, int oflags, mode_t mode,
		 int *fd);
int mmf__os_fstat(int fd, struct stat *st);
/* fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW); the point "fstat" too. */
int mmf__os_fstatat(int dirfd, const char *name, struct stat *st);
int mmf__os_ftruncate(int fd, size_t size);
int mmf__os_fallocate(int fd, size_t off, size_t len);
int mmf__os_mmap(int fd, size_t len, int writable, void **addr);
int mmf__os_mremap(void *old, size_t old_len, size_t new_len, void **addr);
/* pwrite(2) all of buf to off of fd (short writes and EINTR continue). */
int mmf__os_pwrite(int fd, const void *buf, size_t len, size_t off);
/* pwrite(2) len zero bytes to off of fd, in calls of up to 1 MiB (point
 * "pwrite"). */
int mmf__os_pwrite_zeros(int fd, size_t off, size_t len);
int mmf__os_msync(void *addr, size_t len);
int mmf__os_munmap(void *addr, size_t len);
int mmf__os_madvise_populate(void *addr, size_t len);
/* madvise with the MADV_* of advice (point "advise"). */
int mmf__os_advise(void *addr, size_t len, enum mmf_advice advice);
/* madvise MADV_HUGEPAGE (on) or MADV_NOHUGEPAGE (point "advise"). */
int mmf__os_advise_huge(void *addr, size_t len, int on);
int mmf__os_fsync(int fd);
int mmf__os_fdatasync(int fd);
int mmf__os_close(int fd);
int mmf__os_unlink(int dirfd, const char *name);	/* unlinkat */

/* No failure points: these cannot fail in a way the library must handle. */
/* Advisory: drop the clean, unmapped page cache of [off, off + len) of fd
 * (len 0: to the end; POSIX_FADV_DONTNEED), after writing back its dirty
 * pages without a device flush when writeback is set (sync_file_range), so
 * they are clean and go too. Errors are ignored. */
void mmf__os_drop_cache(int fd, size_t off, size_t len, int writeback);
/* Advisory: start reading [off, off + len) of fd into the page cache
 * (POSIX_FADV_WILLNEED: large reads, folios of the mapping's minimum order,
 * 4 KiB on ext4). Errors are ignored. */
void mmf__os_prefetch(int fd, size_t off, size_t len);
/* Can pwrite(2) put bytes at any offset of fd (its status flags have
 * neither O_APPEND, which makes every write an append on Linux, nor
 * O_DIRECT, which needs aligned buffers)? False when unknown. */
int mmf__os_positional_writes(int fd);
/* The first offset in [off, end) that lseek(SEEK_DATA) calls data: bytes
 * written, on disk or in the page cache (on ext4 and xfs also clean cached
 * pages of unwritten extents; holes and never-written unwritten extents
 * are not data); end when none. off when unknown (an error). */
size_t mmf__os_data_from(int fd, size_t off, size_t end);
char *mmf__os_fd_path(int fd);	/* malloc'd path of an open fd, or NULL */
size_t mmf__os_page_size(void);
uint64_t mmf__os_now_ns(void);	/* CLOCK_MONOTONIC */

#endif
