/*
 * private_dir.h - a directory only the invoking user can have made, for the
 * caches of the harness (bench_ltm's big file).
 *
 * A fixed name in a shared place (/var/tmp/...) can be made first by anyone:
 * as a directory of theirs, or as a symlink to a place of their choice. So a
 * cache directory is opened, never trusted by name:
 *
 *	char why[256];
 *	int dfd = mmf_private_dir("/var/tmp/mmf-bench-cache-0", true, why, sizeof(why));
 *	if (dfd < 0)
 *		refuse with why (one line, names the path);
 *	fd = openat(dfd, "file", O_RDONLY | O_NOFOLLOW);   // everything relative to dfd
 *
 * Checks, in order: lstat (absent: mkdir 0700 when create), not a symlink,
 * a directory; open O_DIRECTORY | O_NOFOLLOW; fstat of that descriptor is the
 * same inode lstat saw, owned by geteuid(), and gives group and others no
 * access (mode & 077 == 0); every folder above it (resolved) is this user's
 * or root's, sticky if others can write in it (else its owner could swap
 * the directory for their own).
 *
 * A scratch folder is made fresh (mkdtemp) under a parent that is checked
 * first with mmf_scratch_parent: in a parent someone else can write and
 * that is not sticky, they could rename the fresh folder away and put a
 * symlink in its place. The same rule as scripts' check_dir
 * (scripts/mmfresults/crashvm.py).
 */
#ifndef MMF_PRIVATE_DIR_H
#define MMF_PRIVATE_DIR_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The open directory (a descriptor, O_CLOEXEC; the caller closes it), or a
 * negative errno with a one-line reason naming path in why:
 * -ELOOP a symlink, -ENOTDIR not a directory, -EPERM owned by another user,
 * -EACCES group or others have access, -ENOENT absent (create false), the
 * errno of lstat/mkdir/open/fstat/realpath. -ESTALE: the name changed
 * between lstat and open (someone raced it). A folder above it that fails
 * the rule of mmf_scratch_parent: -EPERM or -EACCES, why says "lies in".
 */
int mmf_private_dir(const char *path, bool create, char *why, size_t len);

/*
 * 0 when path may hold a fresh scratch folder: a directory (not a symlink),
 * owned by geteuid() or root, and sticky if group or others may write in it
 * (like /tmp). Else a negative errno with a one-line reason naming path in
 * why: -ELOOP a symlink, -ENOTDIR not a directory, -EPERM owned by another
 * user, -EACCES writable by others and not sticky, the errno of lstat or
 * realpath. Every folder above it (resolved) passes the same rule, else
 * -EPERM or -EACCES with "lies in FOLDER" in why.
 */
int mmf_scratch_parent(const char *path, char *why, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MMF_PRIVATE_DIR_H */
