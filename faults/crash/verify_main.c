/*
 * mmf_crash_verify DIR --acked S --created C --deleted D [--deleting D2]
 *                  --per-file M [--marks N] [--shrunk FILE.SIZE]
 *
 * Checks that DIR holds everything the crash writer acknowledged (verify.h)
 * and prints one line `CRASH-VERIFY status=ok|violation key=value ...`.
 * Exit: 0 ok, 1 violation, 2 usage error (mmf_cli.h: one line on stderr).
 */
#include "verify.h"

#include "mmf_cli.h"

#include <stdio.h>
#include <string.h>

/* --shrunk FILE.SIZE (one word of the crash-vm guest's list of states). */
static int parse_shrunk(const char *s, struct crash_expect *e)
{
	const char *dot = strchr(s, '.');
	char file[24];
	uint64_t k, size;

	if (!dot || (size_t)(dot - s) >= sizeof(file))
		return -1;
	memcpy(file, s, (size_t)(dot - s));
	file[dot - s] = '\0';
	if (mmf_cli_u64(file, 0, UINT32_MAX, &k) != 0 ||
	    mmf_cli_u64(dot + 1, 0, INT64_MAX, &size) != 0)
		return -1;
	e->shrunk_file = (unsigned)k;
	e->shrunk_size = size;
	return 0;
}

int main(int argc, char **argv)
{
	struct crash_expect e = {0};
	struct crash_report r;
	uint64_t acked = 0, created = 0, deleted = 0, deleting = 0, per_file = 0;
	uint64_t marks = 0;
	const char *pos[1], *shrunk = NULL;
	int rc;
	struct mmf_cli_opt opts[] = {
		MMF_CLI_U64("acked", &acked, 0, UINT64_MAX / 2, "SEQ",
			    "last sequence number the writer acknowledged"),
		MMF_CLI_U64("created", &created, 0, UINT32_MAX, "N",
			    "last file the writer printed CREATE for"),
		MMF_CLI_U64("deleted", &deleted, 0, UINT32_MAX, "N",
			    "last file the writer printed DELETE for"),
		MMF_CLI_U64("deleting", &deleting, 0, UINT32_MAX, "N",
			    "last file it printed DELETING for (default: --deleted)"),
		MMF_CLI_U64("per-file", &per_file, 1, UINT32_MAX, "M",
			    "records per file (the writer's --per-file)"),
		MMF_CLI_U64("marks", &marks, 0, UINT32_MAX, "N",
			    "last marker the writer printed DIR for (default 0)"),
		MMF_CLI_STRING("shrunk", &shrunk, "FILE.SIZE",
			       "its last `ACK truncate FILE SIZE` (default none)"),
	};
	struct mmf_cli cli = {
		.prog = "mmf_crash_verify", .synopsis = "DIR --acked SEQ --created N "
			"--deleted N [--deleting N] --per-file M [--marks N] "
			"[--shrunk FILE.SIZE]",
		.about = "Checks that DIR holds every record the crash writer "
			 "acknowledged; prints one CRASH-VERIFY line.\nExit 0 ok, "
			 "1 violation, 2 usage.",
		.opts = opts, .nopts = sizeof(opts) / sizeof(opts[0]),
		.min_pos = 1, .max_pos = 1, .pos = pos,
	};

	rc = mmf_cli_parse(&cli, argc, argv);
	if (rc != MMF_CLI_OK)
		return mmf_cli_exit(rc);
	for (size_t i = 0; i < cli.nopts; i++)
		if (!opts[i].seen && i != 3 && i < 5)
			return mmf_cli_usage_error(&cli, "--%s is required", opts[i].name);
	e.acked = acked;
	e.created = (unsigned)created;
	e.deleted = (unsigned)deleted;
	e.deleting = (unsigned)(opts[3].seen ? deleting : deleted);
	e.per_file = (unsigned)per_file;
	e.marks = (unsigned)marks;
	if (shrunk && parse_shrunk(shrunk, &e) < 0)
		return mmf_cli_usage_error(&cli, "--shrunk must be FILE.SIZE, got '%s'",
					   shrunk);
	if (e.deleting < e.deleted)
		return mmf_cli_usage_error(&cli, "--deleting must be >= --deleted");
	rc = crash_verify(pos[0], &e, &r);
	if (rc < 0)	/* only a bad expectation (verify.h), refused above */
		return mmf_cli_usage_error(&cli, "bad expectation: %d", rc);
	crash_report_print(&e, &r, stdout);
	return rc;
}
