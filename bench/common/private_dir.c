/*
 * private_dir.c - see private_dir.h.
 */
#define _GNU_SOURCE
#include <limits.h>
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

/* "dir/" makes lstat and O_NOFOLLOW follow a symlink named dir: the name
 * itself, without trailing slashes, into path[PATH_MAX]. */
static int strip_slashes(char *path, const char *given, char *why, size_t len)
{
	size_t n = strlen(given);

	if (n == 0 || n >= PATH_MAX)
		return refuse(-ENAMETOOLONG, why, len, given, "empty or too long");
	memcpy(path, given, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	return 0;
}

int mmf_scratch_parent(const char *given, char *why, size_t len)
{
	char path[PATH_MAX], msg[128];
	struct stat ls;
	int rc = strip_slashes(path, given, why, len);

	if (rc < 0)
		return rc;
	if (lstat(path, &ls) < 0)
		return refuse(-errno, why, len, path, strerror(errno));
	if (S_ISLNK(ls.st_mode))
		return refuse(-ELOOP, why, len, path,
			      "a symlink (refused: someone else may control it)");
	if (!S_ISDIR(ls.st_mode))
		return refuse(-ENOTDIR, why, len, path, "not a directory");
	if (ls.st_uid != geteuid() && ls.st_uid != 0) {
		snprintf(msg, sizeof(msg), "owned by uid %u, not by this user (uid %u) or root",
			 (unsigned)ls.st_uid, (unsigned)geteuid());
		return refuse(-EPERM, why, len, path, msg);
	}
	if ((ls.st_mode & (S_IWGRP | S_IWOTH)) && !(ls.st_mode & S_ISVTX)) {
		snprintf(msg, sizeof(msg), "writable by others and not sticky (mode %04o)",
			 (unsigned)(ls.st_mode & 07777));
		return refuse(-EACCES, why, len, path, msg);
	}
	return 0;
}

int mmf_private_dir(const char *given, bool create, char *why, size_t len)
{
	char path[PATH_MAX];
	struct stat ls;
	int fd, rc = strip_slashes(path, given, why, len);

	if (rc < 0)
		return rc;
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
