/*
 * verify.h - the crash verifier: does a log directory hold everything the
 * writer acknowledged?
 *
 * What the writer acknowledged is summed up by these numbers (the largest of
 * each kind of line it printed): `ACK ... s` (records 1..s durable, whatever
 * call made them so: mmf_sync, mmf_sync_range, mmf_close), `CREATE k` (files
 * 1..k created), `DELETE k` (files 1..k deleted), `DELETING k` (the writer
 * decided to drop files 1..k and may have started deleting them: their
 * contents are no longer needed), `DIR k` (markers 1..k made durable by
 * mmf_sync_dir) and the last `ACK truncate k size` (file k shrunk to size,
 * then synced). crash_verify checks
 *   - markers 1..marks exist;
 *   - file shrunk_file is exactly shrunk_size bytes (unless its deletion
 *     began);
 *   - files 1..deleted are gone;
 *   - files deleting+1..created exist (deleted+1..deleting: anything goes);
 *   - in each of those, walking the slices from offset 0 and stopping at the
 *     first zero or invalid record, every acknowledged record is there,
 *     intact and in order;
 *   - no record was acknowledged before its file's creation was.
 * Anything after the last acknowledged record (unsynced records, a torn
 * prefix, a length pointing past the end, any garbage) is allowed and never
 * makes it crash.
 */
#ifndef MMF_CRASH_VERIFY_H
#define MMF_CRASH_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct crash_expect {
	uint64_t acked;		/* last acknowledged record (0: none) */
	unsigned created;	/* last file whose creation was acknowledged */
	unsigned deleted;	/* last file whose deletion was acknowledged */
	unsigned deleting;	/* last file whose deletion began (>= deleted) */
	unsigned per_file;	/* records per file (> 0) */
	unsigned marks;		/* last marker made durable (0: none) */
	unsigned shrunk_file;	/* file of the last acknowledged shrink (0: none) */
	uint64_t shrunk_size;	/* its size in bytes */
};

struct crash_report {
	unsigned violations;
	uint64_t acks_checked;	/* acknowledged records, creates, deletes,
				 * markers and shrinks checked */
	uint64_t present;	/* valid records found (acknowledged or not) */
	unsigned files;		/* files walked */
	char detail[256];	/* the first violation, or "-" */
};

/*
 * Check dir against e; fill *r. Returns 0 when nothing acknowledged is
 * missing, 1 on a violation (r->detail names the first), -EINVAL for a bad
 * expectation (per_file 0, deleting < deleted).
 */
int crash_verify(const char *dir, const struct crash_expect *e,
		 struct crash_report *r);

/* Print r as the one result line: `CRASH-VERIFY status=ok|violation ...`. */
void crash_report_print(const struct crash_expect *e,
			const struct crash_report *r, void *stream);

#endif /* MMF_CRASH_VERIFY_H */
