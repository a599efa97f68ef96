/*
 * growth_sizes - the file sizes the library grows through, for the capacity
 * model's test (scripts/mmfresults/tests/test_model.py compares them with
 * model.simulate, which replays the growth policy in Python).
 *
 * usage: growth_sizes DIR POLICY API INIT REC DATA CHUNK MAX_STEP
 *   POLICY double|exact|chunk|seed, API allocate_slice|append_buffer; the
 *   sizes are bytes. Creates DIR/growth_sizes.dat opened at INIT bytes
 *   (flags none: plain ftruncate, so the test does no I/O to speak of),
 *   appends DATA / REC records of REC bytes (allocate_slice: the 4-byte
 *   length prefix included), deletes the file.
 * Output: one line per size the file had, the open's size first, in bytes.
 * Exit status 0, 1 with a message when a library call fails, 2 bad usage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmapfile.h"

#define MAX_REC (1u << 16)

static int parse_policy(const char *s, enum mmf_grow *out)
{
	static const char *const names[] = {"double", "exact", "chunk", "seed"};
	static const enum mmf_grow values[] = {MMF_GROW_DOUBLE, MMF_GROW_EXACT,
					       MMF_GROW_CHUNK, MMF_GROW_SEED};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = values[i];
			return 0;
		}
	}
	return -1;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *end || s[0] == '-')
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Append n records of rec bytes, printing every new size; 0 or an error. */
static int append_all(mmf_file *f, int slice, size_t rec, size_t n)
{
	static char buf[MAX_REC];
	size_t off = 0, last = mmf_size(f);

	for (size_t i = 0; i < n; i++) {
		void *p;
		size_t next;
		int rc = slice ? mmf_allocate_slice(f, rec - 4, off, &p, &next)
			       : mmf_append_buffer(f, off, buf, rec);

		if (rc < 0)
			return rc;
		off += rec;
		if (mmf_size(f) != last) {
			last = mmf_size(f);
			printf("%zu\n", last);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	mmf_options o;
	mmf_file *f;
	size_t init, rec, data, chunk, max_step;
	char path[4096];
	int slice, rc;

	mmf_options_init(&o);
	if (argc != 9 || parse_policy(argv[2], &o.grow) < 0 ||
	    (strcmp(argv[3], "allocate_slice") && strcmp(argv[3], "append_buffer")) ||
	    parse_size(argv[4], &init) || parse_size(argv[5], &rec) ||
	    parse_size(argv[6], &data) || parse_size(argv[7], &chunk) ||
	    parse_size(argv[8], &max_step) || rec < 8 || rec > MAX_REC) {
		fprintf(stderr, "usage: growth_sizes DIR double|exact|chunk|seed "
			"allocate_slice|append_buffer INIT REC(8..65536) DATA CHUNK MAX_STEP\n");
		return 2;
	}
	slice = strcmp(argv[3], "allocate_slice") == 0;
	o.grow_chunk = chunk;
	o.grow_max_step = max_step;
	o.flags = 0;
	snprintf(path, sizeof(path), "%s/growth_sizes.dat", argv[1]);
	rc = mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, init, &o, &f);
	if (rc < 0) {
		fprintf(stderr, "growth_sizes: mmf_open %s: %s\n", path, mmf_strerror(rc));
		return 1;
	}
	printf("%zu\n", mmf_size(f));
	rc = append_all(f, slice, rec, data / rec);
	if (rc < 0)
		fprintf(stderr, "growth_sizes: append: %s\n", mmf_strerror(rc));
	if (mmf_delete(f) < 0 && rc == 0)
		rc = -1;
	return rc < 0 ? 1 : 0;
}
