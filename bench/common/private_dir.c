/*
 * private_dir.c - see private_dir.h.
 */
#define _GNU_SOURCE
#include "private_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(int rc, char *why, size_t len, const char *path, const char *what)
{
	snprintf(why, len, "%s: %s", path, what);
	return rc;
}

/* The checks of the open descriptor against what lstat saw. */
static int check_fd(int fd, const struct stat *ls, const char *path, char *why, size_t len)
{
	struct stat st;
	char msg[128];

	if (fstat(fd, &st) < 0)
		return refuse(-errno, why, len, path, strerror(errno));
	if (st.st_dev != ls->st_dev || st.st_ino != ls->st_ino)
		return refuse(-ESTALE, why, len, path, "replaced while it was being opened");
	if (st.st_uid != geteuid()) {
		snprintf(msg, sizeof(msg), "owned by uid %u, not by this user (uid %u)",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return refuse(-EPERM, why, len, path, msg);
	}
	if (st.st_mode & 077) {
		snprintf(msg, sizeof(msg), "mode %04o gives others access (must be 0700)",
			 (unsigned)(st.st_mode & 07777));
		return refuse(-EACCES, why, len, path, msg);
	}
	return 0;
}

int mmf_private_dir(const char *path, bool create, char *why, size_t len)
{
	struct stat ls;
	int fd, rc;

	if (lstat(path, &ls) < 0) {
		if (errno != ENOENT || !create)
			return refuse(-errno, why, len, path, strerror(errno));
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return refuse(-errno, why, len, path, strerror(errno));
		if (lstat(path, &ls) < 0)
			return refuse(-errno, why, len, path, strerror(errno));
	}
	if (S_ISLNK(ls.st_mode))
		return refuse(-ELOOP, why, len, path, "a symlink, not a directory");
	if (!S_ISDIR(ls.st_mode))
		return refuse(-ENOTDIR, why, len, path, "not a directory");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return refuse(errno == ELOOP ? -ESTALE : -errno, why, len, path,
			      errno == ELOOP ? "replaced by a symlink while it was being opened"
					     : strerror(errno));
	rc = check_fd(fd, &ls, path, why, len);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
