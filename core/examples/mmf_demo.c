/*
 * mmf_demo - a short tour of the API, run by scripts/run: create a log,
 * append records (the file grows and its mapping moves), sync, reopen
 * read-only, walk the records back, delete. Its last line counts what it
 * did ("demo counts: records=N walked=N grows=G remaps=R syncs=S"), which
 * scripts/run puts in the stage record; a walk that does not give back every
 * record appended is a failure (exit 1).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmapfile.h"

static int fail(const char *what, int rc)
{
	fprintf(stderr, "mmf_demo: %s: %s\n", what, mmf_strerror(rc));
	return 1;
}

static int write_log(const char *path, int count, mmf_stats *st)
{
	mmf_file *f;
	size_t off = 0;
	void *p;
	int rc = mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, 4096, NULL, &f);

	if (rc < 0)
		return fail("mmf_open", rc);
	printf("created %s: %zu bytes mapped\n", path, mmf_size(f));
	for (int i = 0; i < count && rc == 0; i++) {
		char rec[64];
		int n = snprintf(rec, sizeof(rec), "record %d: key-%d=value-%lld", i, i * 7, (long long)i * i);

		rc = mmf_allocate_slice(f, (size_t)n, off, &p, &off);
		if (rc == 0)
			memcpy(p, rec, (size_t)n);
	}
	if (rc == 0)
		rc = mmf_sync(f);
	if (rc < 0) {
		mmf_close(f);
		return fail("append/sync", rc);
	}
	mmf_stats_get(f, st);
	printf("appended %d records (%zu bytes of data), synced; file is %zu bytes\n",
	       count, off, mmf_size(f));
	printf("growth: %llu grows, %llu remaps (%llu moved the mapping), %llu bytes reserved\n",
	       (unsigned long long)st->grows, (unsigned long long)st->remaps,
	       (unsigned long long)st->moves, (unsigned long long)st->bytes_reserved);
	rc = mmf_close(f);
	return rc < 0 ? fail("mmf_close", rc) : 0;
}

static int read_log(const char *path, int *walked)
{
	mmf_file *f;
	const void *p;
	uint32_t n;
	size_t off = 0;
	int count = 0, rc = mmf_open(path, O_RDONLY, 0, NULL, &f);

	if (rc < 0)
		return fail("mmf_open (read-only)", rc);
	/* The tail past the last record is zeros (growth space): a zero length
	 * ends the walk, MMF_EOF/MMF_ECORRUPT end it at a torn tail. */
	while ((rc = mmf_slice(f, off, &p, &n)) == 0 && n > 0) {
		if (count < 3)
			printf("  @%-6zu %.*s\n", off, (int)n, (const char *)p);
		off += 4 + n;
		count++;
	}
	printf("reopened read-only: walked %d records, stopped at offset %zu (%s)\n",
	       count, off, rc == 0 ? "zero length: end of data" : mmf_strerror(rc));
	mmf_close(f);
	*walked = count;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "mmf_demo.log";
	int count = argc > 2 ? atoi(argv[2]) : 100000;
	mmf_file *f;
	mmf_stats st;
	int rc, walked = 0;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: mmf_demo [FILE [RECORDS]]\n");
		return 0;
	}
	if (count <= 0) {
		fprintf(stderr, "mmf_demo: RECORDS must be at least 1, got '%s'\n", argv[2]);
		return 2;
	}
	if (write_log(path, count, &st) || read_log(path, &walked))
		return 1;
	if (walked != count) {
		fprintf(stderr, "mmf_demo: appended %d records but walked %d\n", count, walked);
		return 1;
	}
	rc = mmf_open(path, O_RDWR, 0, NULL, &f);
	if (rc == 0)
		rc = mmf_delete(f);
	if (rc < 0)
		return fail("mmf_delete", rc);
	printf("deleted %s (directory fsynced)\n", path);
	printf("demo counts: records=%d walked=%d grows=%llu remaps=%llu syncs=%llu\n",
	       count, walked, (unsigned long long)st.grows, (unsigned long long)st.remaps,
	       (unsigned long long)st.syncs);
	return 0;
}
