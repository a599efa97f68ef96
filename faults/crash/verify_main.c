/*
 * mmf_crash_verify DIR --acked S --created C --deleted D [--deleting D2]
 *                  --per-file M [--marks N] [--shrunk K.SIZE]
 *
 * Checks that DIR holds everything the crash writer acknowledged (verify.h)
 * and prints one line `CRASH-VERIFY status=ok|violation key=value ...`.
 * Exit: 0 ok, 1 violation, 2 usage error.
 */
#include "verify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fputs("usage: mmf_crash_verify DIR --acked SEQ --created N "
	      "--deleted N [--deleting N] --per-file M\n"
	      "       [--marks N] [--shrunk FILE.SIZE]\n", stderr);
	return 2;
}

static int parse_u64(const char *s, unsigned long long max,
		     unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return -1;
	v = strtoull(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* --shrunk K.SIZE (a '.': the crash-vm guest splits its specs at ':'). */
static int parse_shrunk(const char *s, struct crash_expect *e)
{
	char buf[64], *dot;
	unsigned long long k, size;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	dot = strchr(buf, '.');
	if (!dot)
		return -1;
	*dot = '\0';
	if (parse_u64(buf, 0xffffffffu, &k) < 0 ||
	    parse_u64(dot + 1, (unsigned long long)INT64_MAX, &size) < 0)
		return -1;
	e->shrunk_file = (unsigned)k;
	e->shrunk_size = size;
	return 0;
}

int main(int argc, char **argv)
{
	struct crash_expect e = {0};
	int deleting = 0;
	struct crash_report r;
	unsigned long long v;
	int i, rc;

	if (argc < 2 || argv[1][0] == '-')
		return usage();
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--shrunk")) {
			if (parse_shrunk(argv[i + 1], &e) < 0)
				return usage();
			continue;
		}
		if (parse_u64(argv[i + 1], 0xffffffffull * 1000, &v) < 0)
			return usage();
		if (!strcmp(argv[i], "--acked"))
			e.acked = v;
		else if (!strcmp(argv[i], "--created") && v <= 0xffffffffu)
			e.created = (unsigned)v;
		else if (!strcmp(argv[i], "--deleted") && v <= 0xffffffffu)
			e.deleted = (unsigned)v;
		else if (!strcmp(argv[i], "--deleting") && v <= 0xffffffffu)
			e.deleting = (unsigned)v, deleting = 1;
		else if (!strcmp(argv[i], "--per-file") && v <= 0xffffffffu)
			e.per_file = (unsigned)v;
		else if (!strcmp(argv[i], "--marks") && v <= 0xffffffffu)
			e.marks = (unsigned)v;
		else
			return usage();
	}
	if (!deleting)
		e.deleting = e.deleted;
	if (i != argc || e.per_file == 0)
		return usage();
	rc = crash_verify(argv[1], &e, &r);
	if (rc < 0)
		return usage();
	crash_report_print(&e, &r, stdout);
	return rc;
}
