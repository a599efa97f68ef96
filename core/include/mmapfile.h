/*
 * mmapfile.h - an mmap-backed file for the sstables and write-ahead logs of an
 * LSM-tree key-value store.
 *
 * This is the C form of the Go MmapFile of corekv (Badger's z.MmapFile), with
 * that design's defects fixed: reads are bounds-checked, the growth policy is
 * applied, creation and deletion are durable, a full disk is an error instead
 * of a SIGBUS, and a failed sync is never retried into a success.
 *
 * CALLING SEQUENCE
 *
 *	mmf_options o;
 *	mmf_file *f;
 *	mmf_options_init(&o);              // or mmf_options_seed(&o)
 *	rc = mmf_open("wal.log", O_RDWR | O_CREAT, 1 << 20, &o, &f);
 *	rc = mmf_allocate_slice(f, len, off, &p, &off);  // write len bytes at p
 *	rc = mmf_sync(f);                  // now durable
 *	rc = mmf_close(f);                 // or mmf_delete(f)
 *
 * Reading back: mmf_slice() walks length-prefixed records, mmf_bytes() gives a
 * raw range, an mmf_reader copies bytes out like read(2).
 *
 * ERRORS
 * Every function that can fail returns 0 on success and otherwise a NEGATIVE
 * errno (-ENOSPC, -EIO, ...) or one of the library codes below -4095:
 * MMF_EOF and MMF_ECORRUPT. Never -1 with errno. mmf_strerror() names any of
 * them. Out-parameters are written only on success.
 *
 * A write through a read-only handle (mmf_allocate_slice, mmf_append_buffer,
 * mmf_truncate) is -EBADF.
 *
 * POISONING
 * When msync(2) or fsync(2) fails, the kernel may already have dropped the
 * dirty pages: a retried sync can report success for data that is gone. So
 * after the first failed sync the handle is POISONED: every later mutating
 * call and every sync returns that same error. mmf_close() still releases
 * everything and returns it. mmf_delete() of a poisoned handle closes it and
 * returns the error WITHOUT removing the file, so what is on disk can still be
 * recovered.
 *
 * DURABILITY
 * - mmf_sync() / mmf_sync_range() returning 0: every byte written (through
 *   the mapping) before the call, and the file size, survive a process kill,
 *   a kernel crash and a power cut.
 * - mmf_open() returning 0 on a file it found empty (so: a file it created):
 *   the directory entry survives a power cut.
 * - mmf_delete() returning 0: the file stays gone after a power cut.
 * - Nothing else is promised: bytes written but not synced may or may not
 *   survive.
 * With MMF_RESERVE (the default) a writable handle never maps a byte that
 * has no disk block: mmf_open/mmf_open_fd allocate every hole of an existing
 * file (posix_fallocate(3) over the whole file: files sized by ftruncate,
 * sparse copies, the seed's files), and every grow (appends, mmf_truncate)
 * allocates the new range, including holes another process left there by
 * extending the file. So a full disk is -ENOSPC from the open or the grow,
 * never a SIGBUS on a later store. Measured on full loop images (table in
 * faults/crash/README.md): ext4 data=ordered and data=journal, xfs, btrfs
 * and tmpfs all returned -ENOSPC at the grow with every synced byte kept,
 * while the seed's options died of SIGBUS on each. On btrfs (copy on write)
 * only a fresh file written once was measured: a rewrite of reserved
 * blocks needs new ones and is not promised there, nor on NFS; nor can
 * anything hold when another process shrinks the file or punches
 * holes in it while it is mapped. The cost is one posix_fallocate over the
 * whole file per writable open (measured: 16 us for a 1 GiB file on ext4,
 * 7.6 ms for 256 MiB on tmpfs, which walks every page).
 * Growth assumes one process grows a file:
 * a grow that fails after extending the file cuts it back to the handle's
 * old size, and a grow without MMF_RESERVE sets the size with ftruncate.
 *
 * LIFETIME OF POINTERS
 * Pointers from mmf_data(), mmf_bytes(), mmf_slice() and mmf_allocate_slice()
 * are valid until the next call that may grow or shrink the file
 * (mmf_allocate_slice, mmf_append_buffer, mmf_truncate) or until
 * mmf_close()/mmf_delete(): growing may move the mapping. An mmf_reader holds
 * no pointer into the mapping and stays valid across growth.
 * With MMF_STABLE they stay valid across growth too (see STABLE).
 *
 * STABLE (MMF_STABLE in mmf_options.flags)
 * The handle maps the file over mmf_options.max_size bytes of address space
 * at open, past the file's end too (a shared file mapping commits no memory
 * or swap; default 64 GiB; a load or store past the end is a SIGBUS). A grow
 * is then the file's extension alone: no mapping call, so no grow waits for
 * the kernel's writeback of the file (which a remap does: milliseconds).
 * Without MMF_RESERVE the extension is ftruncate(2) to the new size: it
 * writes no byte and allocates no block (the new bytes read as zeros), and
 * the size it sets is in the journal at once, so a later mmf_sync_range
 * makes it durable (a write of one byte at the new end instead, the classic
 * extension, leaves ext4's on-disk size behind until that block is written
 * back: measured, bench/README.md "Stable growth"). With MMF_RESERVE it is
 * posix_fallocate(3) of the new bytes (cut back to the old size if it
 * fails part way). Errors of a grow: -EFBIG past max_size, or the call's
 * (-ENOSPC, -EDQUOT, -EIO, -EPERM on a sealed file), the handle unchanged.
 * Cost per 64 MiB sparse grow from 64 MiB to 8 GiB on ext4 (CPU time in
 * ftruncate): p50 6-9 us, p99 10-25 us when the new pages are dirtied 4 KiB
 * at a time; p50 15-28 us, p99 110-300 us with gigabytes of this file's
 * dirty large folios in the cache (each one-byte store read 8 MiB ahead);
 * with MMF_RESERVE the block allocation, whose tail is the disk's.
 * mmf_data() is the same non-NULL address for the life of the handle (even
 * while the size is 0), and every pointer the library returned stays valid
 * until a shrink below it, mmf_close or mmf_delete. stats.remaps and
 * stats.moves stay 0; mmf_advise's kept pattern covers the whole mapping.
 * The file never grows past max_size through the handle: a policy step is
 * cut to max_size, and a write or mmf_truncate that needs more is -EFBIG
 * with the handle unchanged; opening a file larger than max_size (or a new
 * one with size > max_size) is -EFBIG. Works with every growth policy and
 * flag, mmf_open and mmf_open_fd.
 * Concurrency contract of a stable handle: ONE writer thread (appends,
 * allocations, growing mmf_truncate, syncs, mmf_advise) and any number of
 * reader threads at the same time (mmf_bytes, mmf_slice, mmf_reader_read,
 * mmf_size, mmf_data). The writer publishes a new size (release) only after
 * the file covers it; a reader's call loads it (acquire) once, so it never
 * touches a byte past the file's end and sees a size no larger than
 * published.
 * The bytes themselves are the caller's to publish: a reader must not read
 * a record before the writer has published it (e.g. an atomic end offset
 * stored with release after the record is written). Shrinking, mmf_close,
 * mmf_delete and mmf_stats_get need exclusive use. Without MMF_STABLE the
 * THREADS rule below holds.
 *
 * SMALL WRITES (default; MMF_KEEP_FOLIOS in mmf_options.flags turns it off)
 * A store through the mapping dirties the whole page-cache folio it hits,
 * and writeback writes whole folios: on Linux >= 6.16 ext4 caches regular
 * files in folios up to 2 MiB, so a 1 KiB record + mmf_sync_range wrote up
 * to 1 MiB (measured, issue 12; xfs on 6.18 the same: bench/README.md). So a
 * writable handle of a non-empty file, at open, writes back the file's dirty
 * pages (sync_file_range: no device flush, no durability promise) and drops
 * its clean, unmapped page cache (POSIX_FADV_DONTNEED): the next reads
 * through any handle fault from the disk. And before appends
 * (mmf_allocate_slice, mmf_append_buffer) reach a 2 MiB-aligned window, the
 * window and the next lose their clean cache past the append point, read
 * back at once in 4 KiB folios (POSIX_FADV_WILLNEED; zeros in new space
 * cost no I/O): always in the bytes the file had at open; in space the
 * handle grew (since 0.3: readahead of the writer's faults made large
 * folios there too, past its first windows, about 8-16 MiB into a file)
 * while the writer syncs small amounts, i.e. its last mmf_sync or
 * mmf_sync_range followed less than 4 MiB of appends. SMALL CHUNKS (since
 * 0.3): when that sync followed 64 KiB or more, the writer's new space on
 * an MMF_RESERVE handle is instead written with zeros ahead of its appends
 * (as LARGE SLICES, mmf_allocate_slice) in chunks of a quarter of what it
 * synced (a power of two, 16 KiB to 1 MiB): folios of that size, one
 * fault each, and a sync writes at most 1.5x what it dirtied plus the
 * chunk of zeros ahead (4 KiB slices with a sync every 64 went from
 * 0.81x to 1.29x write(2), 256 faults per MiB to 20-31); where the
 * zeros cannot go (bytes written or cached there), the 4 KiB windows
 * instead; a later, smaller sync turns the windows around the appends
 * back into 4 KiB folios, as for bulk stores below. A writer that syncs
 * 4 MiB or more at a time keeps the kernel's large folios (faults cost less;
 * a sync writes at most 2 MiB of folio past each end of what it dirtied),
 * and so does one that has not synced yet: the folio its appends are in
 * when the first small sync comes may stay large. BULK STORES (since 0.3):
 * on a handle with MMF_RESERVE, such a writer's first append of 64 KiB or
 * more (mmf_allocate_slice of 65532 bytes, mmf_append_buffer of 65536), or
 * its 4 MiB of appends since its last sync, put MADV_HUGEPAGE on the whole
 * mapping: new space comes in 2 MiB folios, one page fault each instead of
 * 512, and mmf_append_buffer stores records below 64 KiB (64 KiB slices
 * went from 0.25x to 0.76-1.1x write(2), 4 KiB appends without sync from
 * 1.1x to 2.6x; bench/README.md "Appends at every size"). Its
 * first small sync ends that: MADV_NOHUGEPAGE, and the 2 MiB window it is
 * in and the next are unmapped from this handle, their clean cache dropped
 * and read back in 4 KiB folios (one-off: that sync wrote its whole folio,
 * up to 2 MiB, and up to 4 MiB are read). Raw stores elsewhere
 * through mmf_data() fault with the handle's advice (mmf_advise) into
 * whatever the cache holds. Advisory: failures are ignored. Measured
 * figures: bench/README.md, "Small writes".
 *
 * THREADS
 * A handle is not thread-safe for mutation. Any number of threads may read
 * (mmf_bytes, mmf_slice, readers, mmf_data, mmf_size) while nobody mutates.
 *
 * SEVERAL HANDLES OF ONE FILE (in one process or several)
 * Each handle maps the size the file had when it opened it (or its own
 * grows). mmf_delete through one handle never takes bytes from another:
 * the others keep reading (and writing) them until they close, as with
 * unlink(2). The one call that does: mmf_truncate shrinking the file, after
 * which another handle's access past the new end is a SIGBUS (the kernel's
 * rule for shared mappings): shrink only a file no other handle maps.
 *
 * NAMES
 * A handle remembers the file's directory (an open descriptor, kept until
 * close) and its last name component at open time. The directory fsync of
 * mmf_open and mmf_delete, and mmf_delete's unlink, act on that directory
 * even after the process changed directory or the directory was renamed;
 * mmf_delete removes the name only if it still is the opened file (same
 * device and inode), else it returns -ESTALE and removes nothing. So each
 * handle with a known name holds two file descriptors.
 *
 * ABI
 * libmmapfile.so.0. mmf_stats and mmf_reader keep their 0.1 layout.
 * mmf_options grew in 0.2 (max_size, at its end): the shared library has
 * symbol versions, and binaries built against 0.1 call the MMAPFILE_0.1
 * versions of mmf_options_init/_seed, mmf_open and mmf_open_fd, which take
 * the 0.1 struct (core/src/compat.c, mmapfile.map); binaries built against
 * this header take the MMAPFILE_0.2 ones. Changed in 0.2 without a new
 * SONAME, as fixes of what 0.1 already
 * promised (handles independent, no SIGBUS, read-only never changes a
 * file): mmf_delete no longer truncates and refuses a name that is no longer
 * its file (-ESTALE); mmf_open refuses flags 0.1 did not list (and
 * O_RDONLY | O_TRUNC); a writable MMF_RESERVE open allocates the file's
 * holes. Changed in 0.3, no new symbol: mmf_append_buffer copies records
 * of MMF_APPEND_BY_WRITE bytes or more with pwrite(2), so it may return
 * that call's error where a store would have died of SIGBUS (a fix of the
 * same kind); with MMF_RESERVE, mmf_allocate_slice of 65532 bytes or more
 * writes zeros over the slice's never-written pages first (LARGE
 * SLICES), and a writer that syncs 64 KiB to 4 MiB at a time has its new
 * space written with zeros ahead in chunks (SMALL WRITES): dirty zero
 * pages a sync may write. The test unit.abi runs a program built against 0.1's header
 * and library on the current one.
 */
#ifndef MMAPFILE_H
#define MMAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library error codes (errno values are returned negated, these as they are). */
#define MMF_EOF      (-4096)	/* the range passes the end of the file */
#define MMF_ECORRUPT (-4097)	/* a length prefix points past the end */

/* An open mmap-backed file. Opaque. */
typedef struct mmf_file mmf_file;

/* How the file grows when a write passes its end. */
enum mmf_grow {
	/* new = size + max(min(size, grow_max_step), need): the seed's doubling
	 * step, where need is len + 4 for mmf_allocate_slice and len for
	 * mmf_append_buffer. */
	MMF_GROW_DOUBLE = 0,
	/* new = exactly the end the write needs. */
	MMF_GROW_EXACT = 1,
	/* new = the needed end rounded up to a multiple of grow_chunk. */
	MMF_GROW_CHUNK = 2,
	/* What the seed does: DOUBLE in mmf_allocate_slice, EXACT in
	 * mmf_append_buffer. */
	MMF_GROW_SEED = 3,
};

/* Flags of mmf_options.flags. */
#define MMF_RESERVE          (1u << 0)	/* posix_fallocate new space */
#define MMF_POPULATE         (1u << 1)	/* prefault new space (MADV_POPULATE_WRITE) */
#define MMF_SYNC_BEFORE_GROW (1u << 2)	/* msync the whole mapping before each grow */
/* Every growth flag (as in 0.1; MMF_STABLE is not one). */
#define MMF_FLAGS_ALL        (MMF_RESERVE | MMF_POPULATE | MMF_SYNC_BEFORE_GROW)
#define MMF_STABLE           (1u << 3)	/* map max_size of address space at
					 * open, grow in place: see STABLE */
#define MMF_KEEP_FOLIOS      (1u << 4)	/* keep large page-cache folios for
					 * writes: see SMALL WRITES */

/* Access advice (madvise(2)): how the mapping will be read. */
enum mmf_advice {
	MMF_ADVICE_NORMAL = 0,	/* the kernel's default readahead */
	MMF_ADVICE_RANDOM = 1,	/* no readahead: random reads (MADV_RANDOM) */
	MMF_ADVICE_SEQUENTIAL = 2,	/* aggressive readahead */
	MMF_ADVICE_WILLNEED = 3,	/* read the pages in now */
	MMF_ADVICE_DONTNEED = 4,	/* drop the pages from this mapping now
					 * (written bytes stay in the file) */
};

/*
 * Options of a handle. Caller-declared: fill with mmf_options_init() or
 * mmf_options_seed(), then change fields. Whatever the policy, a grow never
 * ends short of the end the write needs. The flags apply to growth by
 * mmf_truncate() and to the sizing of a new file by mmf_open() too.
 * MMF_POPULATE is advisory: if prefaulting fails the grow still succeeds.
 */
typedef struct mmf_options {
	enum mmf_grow grow;	/* default MMF_GROW_DOUBLE; seed MMF_GROW_SEED */
	size_t grow_max_step;	/* cap of one doubling step; default 1 GiB */
	size_t grow_chunk;	/* step of MMF_GROW_CHUNK; default 64 MiB */
	unsigned flags;		/* default MMF_RESERVE; seed MMF_SYNC_BEFORE_GROW */
	mode_t mode;		/* permissions of a created file; default 0666 */
	/* Since 0.2: with MMF_STABLE, the address space mapped at open, in
	 * bytes (rounded up to pages), and the size the file may reach through
	 * this handle; default 64 GiB; ignored without MMF_STABLE. */
	size_t max_size;
} mmf_options;

/* Counters of one handle since it was opened. Caller-declared. */
typedef struct mmf_stats {
	uint64_t grows;		/* times the file grew (ftruncate/fallocate) */
	uint64_t shrinks;	/* times mmf_truncate made it smaller */
	uint64_t remaps;	/* mremap calls (plus first maps of an empty file;
				 * 0 with MMF_STABLE) */
	uint64_t moves;		/* remaps that moved the mapping */
	uint64_t syncs;		/* msync/fdatasync calls, including SYNC_BEFORE_GROW */
	uint64_t bytes_grown;	/* bytes added to the file by grows */
	uint64_t bytes_reserved;	/* of those, bytes reserved with posix_fallocate */
	uint64_t grow_ns;	/* time spent growing (wall clock) */
	uint64_t sync_ns;	/* time spent syncing (wall clock) */
} mmf_stats;

/* A sequential reader. Caller-declared; its fields are private. */
typedef struct mmf_reader {
	const mmf_file *mmf__file;
	size_t mmf__off;
} mmf_reader;

/* Fill *o with the defaults: DOUBLE, 1 GiB step cap, 64 MiB chunk,
 * MMF_RESERVE, mode 0666, max_size 64 GiB. */
void mmf_options_init(mmf_options *o);

/* Fill *o with the seed's behaviour: MMF_GROW_SEED, 1 GiB step cap,
 * MMF_SYNC_BEFORE_GROW, no reservation (a full disk is a SIGBUS), 0666. */
void mmf_options_seed(mmf_options *o);

/*
 * Open (and with O_CREAT create) path and map it whole.
 * oflags: O_RDONLY or O_RDWR, plus
 *   O_CREAT, O_EXCL           as for open(2); O_EXCL only with O_CREAT. A
 *                             read-only O_CREAT open creates an empty file
 *                             (durably) and leaves it empty;
 *   O_TRUNC                   as for open(2), with O_RDWR only (a read-only
 *                             handle never changes a file's bytes);
 *   O_NOFOLLOW                the last component must not be a symlink (-ELOOP);
 *   O_NOATIME, O_NOCTTY, O_NONBLOCK, O_CLOEXEC, O_LARGEFILE
 *                             accepted, no effect on the handle (the
 *                             descriptor is always close-on-exec).
 * Every other flag is -EINVAL before anything is opened: O_WRONLY, O_APPEND,
 * O_SYNC/O_DSYNC (they act on write(2), not on stores into a mapping: use
 * mmf_sync), O_DIRECT, O_PATH, O_TMPFILE, O_DIRECTORY, O_ASYNC.
 * A non-empty file keeps its own size and `size` is ignored; a writable
 * handle with MMF_RESERVE allocates its holes first (see DURABILITY). A file
 * found empty (created, emptied by O_TRUNC, or empty before) is sized to
 * `size` bytes by a writable handle (0 leaves it empty and unmapped), its
 * directory is fsynced before mmf_open returns (writable or O_CREAT), so its
 * creation is durable, and mmf_created() is true (writable). A read-only
 * handle never changes the file.
 * The directory of path is opened first (read access to it is needed) and
 * kept (see NAMES); the file is opened in it.
 * opt may be NULL for the defaults. On success *out is the handle.
 * Errors: -EINVAL (NULL path/out, refused flags, bad options: also
 * MMF_STABLE with max_size 0 or past INT64_MAX), -EFBIG (MMF_STABLE: the
 * file, or `size` for an empty one, larger than max_size), -EISDIR (a
 * directory), -ENODEV (not a regular file: FIFO, device, socket), any errno of
 * open/fstat/ftruncate/posix_fallocate/mmap/fsync (-ENOENT, -EACCES, -ENOSPC,
 * -ENOMEM, -EIO, ...), -EFBIG (size too large for the platform).
 * After an error nothing is open; a file that was created stays (empty or
 * partly sized); allocating an existing file's holes may have allocated
 * part of them (its size and bytes are unchanged).
 * Durable after 0: the directory entry, if the file was empty.
 */
int mmf_open(const char *path, int oflags, size_t size,
	     const mmf_options *opt, mmf_file **out);

/*
 * Map an already open regular file. Takes ownership of fd on success only
 * (mmf_close closes it); on error the caller still owns fd. `size` and
 * `writable` as in mmf_open (writable needs fd opened O_RDWR). The path, used
 * by mmf_delete and for the directory fsync of an empty file, is looked up
 * from /proc/self/fd and its directory opened; the name is kept only if it
 * still is fd's file (device and inode), else mmf_path() is NULL, as when it
 * cannot be found (an unlinked file, no /proc): then mmf_delete is -EINVAL
 * and an empty file's creation is not made durable (call mmf_sync_dir).
 * Holes and empty files as in mmf_open.
 * Errors: as mmf_open, plus -EBADF (fd < 0; or writable, MMF_RESERVE and fd
 * not open for writing: without MMF_RESERVE that is -EACCES), errors of
 * opening the directory (-EACCES, ...).
 */
int mmf_open_fd(int fd, size_t size, bool writable,
		const mmf_options *opt, mmf_file **out);

/* True when this handle found its file empty and, being writable, sized it
 * (a file just created, or emptied by O_TRUNC): the caller writes a fresh
 * header. False for read-only handles and files that had bytes. */
bool mmf_created(const mmf_file *f);

/* The mapping (NULL while the size is 0), its size (= the file size), the file
 * descriptor, the path given to mmf_open (NULL if unknown; as given, so a
 * relative path or a renamed file's old name: for messages). mmf_data is
 * invalidated by any call that can grow or shrink. */
void *mmf_data(const mmf_file *f);
size_t mmf_size(const mmf_file *f);
int mmf_fd(const mmf_file *f);
const char *mmf_path(const mmf_file *f);

/*
 * *out = the mapping at [off, off + len). Never crashes on any off/len
 * (including SIZE_MAX and off + len overflowing).
 * Errors: MMF_EOF when off + len passes the end (or the file is empty).
 */
int mmf_bytes(const mmf_file *f, size_t off, size_t len, const void **out);

/*
 * Read the record at off: a 4-byte big-endian length n, then n bytes.
 * *out = the payload, *len = n.
 * Errors: MMF_EOF if the 4-byte prefix passes the end; MMF_ECORRUPT if the
 * payload does (the seed returned an empty slice).
 */
int mmf_slice(const mmf_file *f, size_t off, const void **out, uint32_t *len);

/*
 * Make room for a record of len bytes at off: write the big-endian prefix at
 * off, grow by the policy if off + 4 + len passes the end, and return the
 * payload pointer in *out (the caller fills it) and off + 4 + len in *next.
 * Errors: -EBADF (read-only), -EINVAL (len > UINT32_MAX, NULL out/next),
 * -EFBIG (the end overflows, or passes max_size with MMF_STABLE), the
 * poison error, any grow error (-ENOSPC,
 * -ENOMEM, -EIO from SYNC_BEFORE_GROW, which poisons). After a grow error the
 * handle keeps its old size and mapping and nothing was written.
 * Durable after 0: nothing new (call mmf_sync).
 * The payload's bytes are the caller's to fill: where nothing was ever
 * written they are zeros. LARGE SLICES (since 0.3): on an MMF_RESERVE
 * handle whose writer does not sync small amounts (SMALL WRITES), a slice
 * of 65532 bytes or more first has its never-written pages written with
 * zeros by pwrite(2), up to the next 1 MiB boundary (the file's end at
 * most). Never-written: past what the file held at open and every byte
 * the handle's appends reached, and where lseek(SEEK_DATA) finds no data
 * (after dropping clean cache there), so bytes anybody wrote before the
 * call, through any handle, descriptor or mmf_data(), are never
 * overwritten; a write into that space by another thread or process while
 * the call runs (between its lseek and its pwrite) can be (forced with an
 * LD_PRELOAD shim in a review; as with appends, one writer per region of
 * a file, and the space ahead of an appender is its own). The cache then
 * holds those pages in folios of up to 1 MiB, and the caller's stores
 * fault about once per slice, not per 4 KiB page, and meet no 2 MiB folio
 * (on a VM those can be memory the host must back again): 1 MiB slices
 * with a sync every 64 went from 0.81x to 1.04x write(2) with warm
 * memory, from 0.32-0.35x to 0.82-0.87x without (bench/README.md
 * "Appends at every size"). A
 * payload the caller leaves unfilled is written to the disk as zeros.
 * Advisory: a failed pwrite(2) is ignored (the stores fault the pages in).
 * Below 65532 bytes each 4 KiB page of new space faults once (~2.4 us
 * here) unless BULK STORES or SMALL CHUNKS (SMALL WRITES) made larger
 * folios; a record already in memory appends faster as mmf_append_buffer
 * of its 4-byte prefix, then of its payload (copied by write(2) from
 * MMF_APPEND_BY_WRITE bytes on).
 */
int mmf_allocate_slice(mmf_file *f, size_t len, size_t off, void **out,
		       size_t *next);

/*
 * Copy len bytes of buf to off, growing by the policy (the seed grew to the
 * exact end whatever its policy) if off + len passes the end.
 * Records of MMF_APPEND_BY_WRITE bytes or more are copied with pwrite(2)
 * into the file instead of stores through the mapping (the same page cache:
 * the bytes show through mmf_data() at once): one write fault per 4 KiB
 * page made 64 KiB appends 4x slower than write(2) (bench/README.md,
 * "Appends at every size"). Not when the fd of mmf_open_fd() has O_APPEND
 * or O_DIRECT, nor with MMF_POPULATE and MMF_RESERVE (since its grows
 * fault the new, reserved pages in, a store costs no fault there): then
 * stores, whatever the size; nor, below 64 KiB, in BULK STORES (SMALL
 * WRITES), whose 2 MiB folios take no fault per page. MMF_POPULATE
 * without MMF_RESERVE copies: a prefault that met a full disk fails
 * silently, and a store into that page would die of SIGBUS.
 * Errors: as mmf_allocate_slice (-EINVAL for buf NULL with len > 0); and,
 * since 0.3, the error of that pwrite(2) (-EIO, -ENOSPC, -EDQUOT, -EFBIG):
 * the handle keeps any growth the call made, is not poisoned (nothing synced
 * is lost), and the bytes [off, off + len) are unspecified (where a store
 * would have died of SIGBUS).
 * Durable after 0: nothing new (call mmf_sync).
 */
#define MMF_APPEND_BY_WRITE 4096
int mmf_append_buffer(mmf_file *f, size_t off, const void *buf, size_t len);

/*
 * Make the file and the mapping exactly size bytes. Bytes below
 * min(old, new) are kept; new bytes read as zero. Growth follows the flags
 * (RESERVE, POPULATE, SYNC_BEFORE_GROW); 0 unmaps.
 * Errors: -EBADF (read-only), -EFBIG, the poison error, errors of
 * ftruncate/posix_fallocate/mremap/mmap/munmap/msync. After an error the
 * handle keeps its old size and mapping, with one exception: when a shrink's
 * ftruncate fails and remapping the old size fails too, the handle keeps the
 * smaller mapping (the file keeps all its bytes; nothing is lost, the handle
 * stays usable and mmf_size tells the truth).
 * Durable after 0: nothing new (call mmf_sync).
 */
int mmf_truncate(mmf_file *f, size_t size);

/*
 * msync(MS_SYNC) the whole mapping (fdatasync when nothing is mapped).
 * A read-only handle has nothing to sync and returns 0.
 * Errors: the poison error; -EIO (or another errno) from msync/fdatasync,
 * which poisons the handle.
 * Durable after 0: every byte written before the call, and the size.
 */
int mmf_sync(mmf_file *f);

/*
 * As mmf_sync, for [off, off + len) only (rounded out to pages).
 * Errors: the poison error (checked first); MMF_EOF for a range past the
 * end; as mmf_sync.
 * Durable after 0: the bytes of the range written before the call, and the
 * size.
 */
int mmf_sync_range(mmf_file *f, size_t off, size_t len);

/*
 * Sync (if writable), unmap, close, free. f is freed even when an error is
 * returned; NULL is fine (returns 0).
 * Errors: the poison error, msync/munmap/close errors (the first one).
 * Durable after 0: as after mmf_sync.
 */
int mmf_close(mmf_file *f);

/*
 * Check that the name the handle was opened by still is its file, unmap,
 * close, unlink the name in the directory of open time, fsync that
 * directory; frees f whatever happens (NULL is fine). Read-only handles
 * delete too (the directory's permissions decide). Nothing is synced.
 * The file is not truncated: other handles and processes that have it open
 * keep every byte until they close; its disk space is freed when the last
 * of them closes (at once when there is none). The seed truncated to 0
 * first, freeing the space at once but killing their next read by SIGBUS.
 * Measured (ext4, a 256 MiB file): alone, delete takes 45 ms either way
 * (the space is freed inside it); with a second handle open, the seed's
 * delete freed the 256 MiB at once (44 ms), this one takes 0.9 ms and the
 * 256 MiB are freed by that handle's mmf_close (51 ms).
 * Errors: the poison error (a poisoned handle is only closed: the file stays
 * for recovery); -ESTALE when the name is gone or now names another file
 * (renamed, replaced; a symlink named at open is not the file): the handle
 * is closed and nothing is removed; -EINVAL (name unknown, see
 * mmf_open_fd); fstatat/munmap/close/unlink/fsync errors. The name is
 * unlinked only if the check and the unmap succeeded. A rename racing the
 * call itself is not covered.
 * Durable after 0: the file stays gone after a power cut.
 */
int mmf_delete(mmf_file *f);

/*
 * open(dir), fsync, close.
 * Errors: those of open/fsync/close (-ENOENT, -ENOTDIR, -EIO, ...).
 * Durable after 0: the directory's entries as they are now.
 */
int mmf_sync_dir(const char *dir);

/* A reader of f starting at off. f must outlive it. */
void mmf_reader_init(mmf_reader *r, const mmf_file *f, size_t off);

/*
 * Copy up to len bytes at the reader's offset into buf and advance. Returns
 * the count copied, 0 at the end; -EINVAL for buf NULL with len > 0. Sees the
 * current size and mapping, even after the file grew and moved.
 */
ssize_t mmf_reader_read(mmf_reader *r, void *buf, size_t len);

/*
 * Tell the kernel how the whole mapping will be read. NORMAL, RANDOM and
 * SEQUENTIAL are the handle's access pattern: kept, and applied again to the
 * whole mapping after every grow, shrink and move (and to the first mapping
 * of an empty file); re-applying is advisory (a failure there leaves the
 * grow's result). WILLNEED and DONTNEED act once, on what is mapped now.
 * Errors: -EINVAL (unknown advice), errors of madvise (the pattern is then
 * not changed).
 */
int mmf_advise(mmf_file *f, enum mmf_advice advice);

/*
 * The same advice for [off, off + len) only (rounded out to pages), once:
 * nothing is kept. A pattern given to a range lasts until the next grow or
 * shrink of a handle without MMF_STABLE, which first puts the kept pattern
 * on the whole mapping again (the range's pattern split the mapping, and a
 * split mapping cannot be remapped: before 0.3 such a grow failed with
 * -EFAULT); that madvise's error, if any, is the grow's.
 * Errors: -EINVAL (unknown advice), MMF_EOF (range past the end), errors of
 * madvise.
 */
int mmf_advise_range(mmf_file *f, size_t off, size_t len,
		     enum mmf_advice advice);

/* A message for any return code of this library (0, MMF_E*, -errno). */
const char *mmf_strerror(int err);

/* Copy f's counters into *out. */
void mmf_stats_get(const mmf_file *f, mmf_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* MMAPFILE_H */
