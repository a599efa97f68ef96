/*
 * os_points.h - the one list of libfiu failure points of the syscall seam.
 *
 * X(call, default_errno): the seam's wrapper mmf__os_<call> holds the point
 * "mmf/os/<call>". When a test enables it with a non-NULL failinfo, that value
 * (cast from intptr_t) is the errno returned; with NULL failinfo the wrapper
 * returns -default_errno. The fault suites enumerate this list, so a point
 * added here without a test fails their build.
 */
#ifndef MMF_OS_POINTS_H
#define MMF_OS_POINTS_H

#include <errno.h>

#define MMF_OS_POINT_PREFIX "mmf/os/"

#define MMF_OS_POINTS(X)		\
	X(open, EACCES)			\
	X(fstat, EIO)			\
	X(ftruncate, ENOSPC)		\
	X(fallocate, ENOSPC)		\
	X(mmap, ENOMEM)			\
	X(mremap, ENOMEM)		\
	X(pwrite, EIO)			\
	X(msync, EIO)			\
	X(munmap, EINVAL)		\
	X(madvise, EINVAL)		\
	X(advise, EINVAL)		\
	X(fsync, EIO)			\
	X(fdatasync, EIO)		\
	X(close, EIO)			\
	X(unlink, EIO)

#endif
