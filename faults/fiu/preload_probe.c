/*
 * preload_probe - one library call, for running under libfiu's POSIX
 * preload (fiu-run -x). Linked against the plain `mmapfile`: no failure
 * points compiled in, so whatever fails, fails inside libc's wrappers.
 *
 *   preload_probe setup DIR            f: 16 KiB synced pattern; empty: 0 B
 *   preload_probe verify DIR           f still holds the synced pattern
 *                                      (and at least its size)
 *   preload_probe MODE DIR EXPECTED    run MODE, exit 0 iff it returned
 *                                      EXPECTED and the handle is as the
 *                                      header says afterwards
 * MODE: open (mmap), sync (msync), grow (seed options: ftruncate),
 * grow_reserve (default options: posix_fallocate + mremap), shrink
 * (ftruncate), zero (munmap), create (directory fsync), sync_empty
 * (fdatasync).
 */
#define _GNU_SOURCE
#include "mmapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE 16384u

static char path[4096], empty[4096], created[4096];

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static int fail(const char *what, int got, int want)
{
	fprintf(stderr, "preload_probe: %s: got %d (%s), want %d\n", what, got,
		mmf_strerror(got), want);
	return 1;
}

static int setup(void)
{
	mmf_file *f;
	unsigned char *p;
	int rc;

	unlink(path);
	unlink(empty);
	unlink(created);
	rc = mmf_open(path, O_RDWR | O_CREAT, SIZE, NULL, &f);
	if (rc != 0)
		return fail("setup open", rc, 0);
	p = mmf_data(f);
	for (size_t i = 0; i < SIZE; i++)
		p[i] = pattern(i);
	rc = mmf_close(f);
	if (rc == 0)
		rc = mmf_open(empty, O_RDWR | O_CREAT, 0, NULL, &f);
	if (rc == 0)
		rc = mmf_close(f);
	return rc ? fail("setup", rc, 0) : 0;
}

static int verify(void)
{
	const unsigned char *p;
	mmf_file *f;
	int rc = mmf_open(path, O_RDONLY, 0, NULL, &f);

	if (rc != 0)
		return fail("verify open", rc, 0);
	if (mmf_size(f) < SIZE)	/* a grow that succeeded may stay */
		return fail("verify size", (int)mmf_size(f), SIZE);
	p = mmf_data(f);
	for (size_t i = 0; i < SIZE; i++)
		if (p[i] != pattern(i))
			return fail("verify byte", (int)i, -1);
	return mmf_close(f) ? fail("verify close", -1, 0) : 0;
}

/* After a failed grow or shrink: old size, content, not poisoned. */
static int kept(mmf_file *f)
{
	const unsigned char *p = mmf_data(f);

	if (mmf_size(f) != SIZE)
		return fail("size after the error", (int)mmf_size(f), SIZE);
	for (size_t i = 0; i < SIZE; i++)
		if (p[i] != pattern(i))
			return fail("content after the error", (int)i, -1);
	return 0;
}

/* A sync error poisons: the next sync says it again, and close too. */
static int poisoned(mmf_file *f, int rc)
{
	int again = mmf_sync(f), closed = mmf_close(f);

	if (again != rc)
		return fail("sync after a failed sync", again, rc);
	return closed != rc ? fail("close of a poisoned handle", closed, rc) : 0;
}

static int mode_open(int want)
{
	mmf_file *f = NULL;
	int rc = mmf_open(path, O_RDWR, 0, NULL, &f);

	if (rc != want)
		return fail("open", rc, want);
	return rc == 0 ? mmf_close(f) : 0;
}

static int mode_create(int want)
{
	mmf_file *f = NULL;
	int rc = mmf_open(created, O_RDWR | O_CREAT, SIZE, NULL, &f);

	if (rc != want)
		return fail("create", rc, want);
	if (access(created, F_OK) != 0)	/* a created file stays */
		return fail("created file", -errno, 0);
	return rc == 0 ? mmf_close(f) : 0;
}

static int mode_sync_empty(int want)
{
	mmf_file *f;
	int rc = mmf_open(empty, O_RDWR, 0, NULL, &f);

	if (rc != 0)
		return fail("open empty", rc, 0);
	rc = mmf_sync(f);	/* nothing mapped: fdatasync */
	if (rc != want)
		return fail("sync_empty", rc, want);
	return rc == 0 ? mmf_close(f) : poisoned(f, rc);
}

/* The modes on an open handle of f. */
static int on_handle(const char *mode, mmf_file *f, int want)
{
	unsigned char rec[100] = { 0 };
	int rc;

	if (strcmp(mode, "sync") == 0) {
		volatile unsigned char *p = mmf_data(f);

		p[SIZE - 1] = p[SIZE - 1];	/* dirty the page, same byte */
		rc = mmf_sync(f);
		if (rc != want)
			return fail("sync", rc, want);
		return rc == 0 ? mmf_close(f) : poisoned(f, rc);
	}
	if (strcmp(mode, "grow") == 0 || strcmp(mode, "grow_reserve") == 0)
		rc = mmf_append_buffer(f, SIZE, rec, sizeof(rec));
	else if (strcmp(mode, "shrink") == 0)
		rc = mmf_truncate(f, SIZE / 2);
	else if (strcmp(mode, "zero") == 0)
		rc = mmf_truncate(f, 0);
	else
		return 2;
	if (rc != want)
		return fail(mode, rc, want);
	if (rc != 0 && kept(f) != 0)
		return 1;
	rc = mmf_truncate(f, mmf_size(f));	/* not poisoned */
	if (rc != 0)
		return fail("handle poisoned", rc, 0);
	return mmf_close(f) ? fail("close", -1, 0) : 0;
}

static int mode_handle(const char *mode, int want)
{
	mmf_options o;
	mmf_file *f;
	int rc;

	if (strcmp(mode, "grow") == 0)
		mmf_options_seed(&o);	/* no MMF_RESERVE: ftruncate grows */
	else
		mmf_options_init(&o);
	rc = mmf_open(path, O_RDWR, 0, &o, &f);
	if (rc != 0)
		return fail("open", rc, 0);
	return on_handle(mode, f, want);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int want = argc > 3 ? atoi(argv[3]) : 0;

	if (argc < 3 || (argc < 4 && strcmp(mode, "setup") &&
			 strcmp(mode, "verify"))) {
		fprintf(stderr, "usage: preload_probe setup|verify DIR\n"
			"       preload_probe MODE DIR EXPECTED_RC\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/f", argv[2]);
	snprintf(empty, sizeof(empty), "%s/empty", argv[2]);
	snprintf(created, sizeof(created), "%s/created", argv[2]);
	if (strcmp(mode, "setup") == 0)
		return setup();
	if (strcmp(mode, "verify") == 0)
		return verify();
	if (strcmp(mode, "open") == 0)
		return mode_open(want);
	if (strcmp(mode, "create") == 0)
		return mode_create(want);
	if (strcmp(mode, "sync_empty") == 0)
		return mode_sync_empty(want);
	return mode_handle(mode, want);
}
