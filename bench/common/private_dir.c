/*
 * private_dir.c - see private_dir.h.
 */
#define _GNU_SOURCE
#include <limits.h>
#include "private_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Whether a folder with stat st lets someone else swap what is in it: 0
 * no; -EPERM not this user's or root's, -EACCES writable by others and not
 * sticky, with the reason in msg. */
static int shared_refusal(const struct stat *st, char *msg, size_t len)
{
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		snprintf(msg, len, "owned by uid %u, not by this user (uid %u) or root",
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		snprintf(msg, len, "writable by others and not sticky (mode %04o)",
			 (unsigned)(st->st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

/* Every folder above path (resolved) passes shared_refusal: else its owner
 * could rename path away and put their own in its place. 0, or its errno
 * with why. */
static int check_ancestors(const char *path, char *why, size_t len)
{
	char up[PATH_MAX], msg[160];
	struct stat st;
	char *slash;
	int rc;

	if (!realpath(path, up))
		return refuse(-errno, why, len, path, strerror(errno));
	while (strcmp(up, "/") != 0) {
		slash = strrchr(up, '/');
		slash[slash == up ? 1 : 0] = '\0';
		if (stat(up, &st) < 0)
			return refuse(-errno, why, len, up, strerror(errno));
		rc = shared_refusal(&st, msg, sizeof(msg));
		if (rc < 0) {
			snprintf(why, len, "%s: lies in %s, %s", path, up, msg);
			return rc;
		}
	}
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
	rc = shared_refusal(&ls, msg, sizeof(msg));
	if (rc < 0)
		return refuse(rc, why, len, path, msg);
	return check_ancestors(path, why, len);
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
	if (rc == 0)
		rc = check_ancestors(path, why, len);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
