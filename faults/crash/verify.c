/* verify.c - the crash verifier's checks (see verify.h). */
#define _GNU_SOURCE
#include "verify.h"
#include "record.h"

#include "mmapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Record a violation; only the first one's detail is kept. */
static void violate(struct crash_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->violations++ == 0) {
		va_start(ap, fmt);
		vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
		va_end(ap);
	}
}

/* The next record of f at *off, expected to be seq. */
static enum crash_bad next_record(mmf_file *f, size_t *off, uint64_t seq)
{
	const void *p;
	uint32_t len;
	enum crash_bad why;
	int rc = mmf_slice(f, *off, &p, &len);

	if (rc == MMF_EOF)
		return CRASH_BAD_EOF;
	if (rc != 0)
		return CRASH_BAD_PAST_END;
	if (len == 0)
		return CRASH_BAD_ZERO;
	why = crash_record_check(seq, p, len);
	if (why == CRASH_OK)
		*off += 4 + (size_t)len;
	return why;
}

/* How many of file k's records were acknowledged. */
static uint64_t acked_in_file(const struct crash_expect *e, unsigned k)
{
	uint64_t first = (uint64_t)(k - 1) * e->per_file;

	if (e->acked <= first)
		return 0;
	return e->acked - first < e->per_file ? e->acked - first : e->per_file;
}

/* Walk file k; every acknowledged record must be there. */
static void check_file(const char *dir, unsigned k,
		       const struct crash_expect *e, struct crash_report *r)
{
	char path[PATH_MAX];
	uint64_t seq = (uint64_t)(k - 1) * e->per_file + 1, n = 0;
	uint64_t need = acked_in_file(e, k);
	enum crash_bad why = CRASH_OK;
	size_t off = 0;
	mmf_file *f;
	int rc;

	crash_file_name(path, sizeof(path), dir, k);
	rc = mmf_open(path, O_RDONLY, 0, NULL, &f);
	if (rc < 0) {
		violate(r, "file=%s:open:%s", path, mmf_strerror(rc));
		return;
	}
	r->files++;
	while (n < e->per_file) {
		why = next_record(f, &off, seq + n);
		if (why != CRASH_OK)
			break;
		n++;
	}
	(void)mmf_close(f);
	r->present += n;
	r->acks_checked += n < need ? n : need;
	if (n < need)
		violate(r, "file=%s:acked-seq=%llu:missing:%s:offset=%zu", path,
			(unsigned long long)(seq + n), crash_bad_name(why), off);
}

static bool exists(const char *dir, unsigned k)
{
	char path[PATH_MAX];
	struct stat st;

	crash_file_name(path, sizeof(path), dir, k);
	return lstat(path, &st) == 0;
}

/* Markers 1..marks exist (made durable by mmf_sync_dir). */
static void check_marks(const char *dir, const struct crash_expect *e,
			struct crash_report *r)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned k;

	for (k = 1; k <= e->marks; k++) {
		r->acks_checked++;
		crash_mark_name(path, sizeof(path), dir, k);
		if (lstat(path, &st) < 0)
			violate(r, "mark=%u:acked-sync-dir:missing", k);
	}
}

/* The last acknowledged shrink: the file is exactly that size, unless its
 * deletion began (or a missing file, reported by the caller's walk). */
static void check_shrunk(const char *dir, const struct crash_expect *e,
			 struct crash_report *r)
{
	char path[PATH_MAX];
	struct stat st;

	if (e->shrunk_file == 0 || e->shrunk_file <= e->deleting ||
	    e->shrunk_file > e->created)
		return;
	crash_file_name(path, sizeof(path), dir, e->shrunk_file);
	if (lstat(path, &st) < 0)
		return;
	r->acks_checked++;
	if ((uint64_t)st.st_size != e->shrunk_size)
		violate(r, "file=%s:acked-shrink-size=%llu:size=%lld", path,
			(unsigned long long)e->shrunk_size, (long long)st.st_size);
}

int crash_verify(const char *dir, const struct crash_expect *e,
		 struct crash_report *r)
{
	unsigned k;

	memset(r, 0, sizeof(*r));
	strcpy(r->detail, "-");
	if (!dir || e->per_file == 0 || e->deleting < e->deleted)
		return -EINVAL;
	if (e->acked > 0 && crash_file_of(e->acked, e->per_file) > e->created)
		violate(r, "acked-seq=%llu:before-its-file-was-created",
			(unsigned long long)e->acked);
	for (k = 1; k <= e->deleted; k++) {
		r->acks_checked++;
		if (exists(dir, k))
			violate(r, "file=%u:acked-deleted:present", k);
	}
	for (k = e->deleting + 1; k <= e->created; k++) {
		r->acks_checked++;
		if (!exists(dir, k))
			violate(r, "file=%u:acked-created:missing", k);
		else
			check_file(dir, k, e, r);
	}
	check_marks(dir, e, r);
	check_shrunk(dir, e, r);
	return r->violations ? 1 : 0;
}

void crash_report_print(const struct crash_expect *e,
			const struct crash_report *r, void *stream)
{
	fprintf(stream,
		"CRASH-VERIFY status=%s violations=%u acked=%llu created=%u "
		"deleted=%u deleting=%u marks=%u shrunk=%u.%llu per_file=%u "
		"files=%u acks_checked=%llu present=%llu detail=%s\n",
		r->violations ? "violation" : "ok", r->violations,
		(unsigned long long)e->acked, e->created, e->deleted,
		e->deleting, e->marks, e->shrunk_file,
		(unsigned long long)e->shrunk_size, e->per_file, r->files,
		(unsigned long long)r->acks_checked,
		(unsigned long long)r->present, r->detail);
	fflush(stream);
}
