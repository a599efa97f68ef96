/*
 * devio.h - what reached the block device, for the C programs of the harness
 * (loadgen; the same sources and meanings as bench_fixture.h's DevIO and
 * OwnIO, bench/README.md "Device work").
 *
 *	struct mmf_devio io;
 *	struct mmf_devio_snap a, b;
 *	mmf_devio_open(&io, dir);          // never fails: unavailable parts are -1
 *	mmf_devio_read(&io, &a); ... work ...; mmf_devio_read(&io, &b);
 *	b.write_bytes - a.write_bytes      // device-wide bytes written
 *	mmf_devio_close(&io);              // leaves and removes the own cgroup
 *
 * Sources:
 * - dev: /sys/block/<disk>/stat of the device holding dir (its st_dev, a
 *   partition resolved to its disk; device-mapper and loop devices as they
 *   are). Fields 1 reads, 3 sectors read, 5 writes, 7 sectors written
 *   (x 512 bytes), 16 flushes. DEVICE-WIDE: the journal, background
 *   writeback and every other process's I/O on that disk.
 * - own: this process's bios to that device (root and cgroup v1 blkio only):
 *   the process moves into a child blkio cgroup mmf-devio-<pid> whose
 *   throttle limits on the device are 2^50 B/s (never binding; they make the
 *   kernel count the cgroup's bios in blkio.throttle.io_service_bytes and
 *   io_serviced). Not the journal thread, not the flusher threads.
 * - proc: /proc/self/io read_bytes and write_bytes (bytes of page cache this
 *   process dirtied, per folio).
 * Every value is a double (bytes or counts); -1 when its source is unavailable.
 */
#ifndef MMF_DEVIO_H
#define MMF_DEVIO_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mmf_devio {
	char stat_path[512];	/* "" when the device is unknown */
	char name[64];		/* "vda", or "unknown" */
	char numbers[32];	/* "major:minor" of the disk */
	char parent[512], child[512];	/* the own cgroup ("" when none) */
	char own_why[128];	/* why own counters are -1 ("" when counted) */
};

struct mmf_devio_snap {
	double reads, read_bytes, writes, write_bytes, flushes;
	double own_reads, own_read_bytes, own_writes, own_write_bytes;
	double proc_read_bytes, proc_dirtied_bytes;
};

/* Resolve dir's device; with own, set up the own-I/O cgroup (root only). */
void mmf_devio_open(struct mmf_devio *io, const char *dir, bool own);
/* A snapshot of every counter now. */
void mmf_devio_read(const struct mmf_devio *io, struct mmf_devio_snap *s);
/* Leave and remove the own cgroup (idempotent). */
void mmf_devio_close(struct mmf_devio *io);

#ifdef __cplusplus
}
#endif

#endif /* MMF_DEVIO_H */
