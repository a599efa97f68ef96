/*
 * mmapfile.c - the handle: open, map, read, grow, sync, close, delete.
 *
 * Every system call goes through the seam (os.c). The handle's invariant:
 * base maps exactly size bytes of fd, and size is the file's size (base is
 * NULL when size is 0); a stable handle's base maps fd over its whole
 * reservation, past the end too, from open to close. Every function either
 * keeps it or restores it before returning an error.
 */
#define _GNU_SOURCE
/* Only the public API is exported from the shared library (built with
 * -fvisibility=hidden): the declarations of mmapfile.h give its functions
 * default visibility, the seam (os.h) stays hidden. */
#include "abi.h"
#pragma GCC visibility push(default)
#include "mmapfile.h"
#pragma GCC visibility pop
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

/*
 * MMF_INJECT_SLOW_NS (a build option, see core/CMakeLists.txt) makes every
 * mmf_allocate_slice and mmf_append_buffer spin that many nanoseconds: a
 * known regression that proves scripts/compare catches one. 0 in real builds.
 */
#ifndef MMF_INJECT_SLOW_NS
#define MMF_INJECT_SLOW_NS 0
#endif

static void inject_slowdown(void)
{
	uint64_t until;

	if (MMF_INJECT_SLOW_NS == 0)
		return;
	until = mmf__os_now_ns() + MMF_INJECT_SLOW_NS;
	while (mmf__os_now_ns() < until)
		;
}

/* The largest size a file may have: what off_t can hold. */
#define MAX_FILE ((size_t)INT64_MAX)

struct mmf_file {
	int fd;
	bool writable;
	bool created;		/* found empty by this writable handle */
	bool by_write;		/* large appends go through pwrite (LARGE
				 * APPENDS): writable, fd takes positional
				 * writes, not MMF_POPULATE with MMF_RESERVE
				 * (its grows fault reserved pages in:
				 * stores win) */
	void *base;		/* NULL while size == 0 (MMF_STABLE: the
				 * file's mapping over the reservation,
				 * fixed at open) */
	size_t size;		/* readers: size_now(); writer: publish_size() */
	size_t reserved;	/* bytes of address space mapped at base
				 * (MMF_STABLE), else 0 */
	int poison;		/* 0, or the error of the first failed sync */
	char *path;		/* NULL when unknown (mmf_open_fd) */
	int dirfd;		/* the directory the file had its name in at
				 * open, -1 when unknown (then name is NULL) */
	char *name;		/* the file's name in dirfd */
	dev_t dev;		/* the file's identity (fstat at open) */
	ino_t ino;
	enum mmf_advice advice;	/* the kept access pattern */
	size_t small_end;	/* appends below it land in small folios
				 * (SMALL WRITES); 0: none prepared */
	size_t old_data;	/* bytes the file had at a writable open
				 * (SMALL WRITES: the part readahead may cache
				 * in large folios); 0 for a new file */
	size_t last_end;	/* where the last append or slice ended */
	size_t fresh;		/* no append of this handle wrote from here
				 * on (LARGE SLICES): past old_data, the
				 * appends' highest end and the zeros
				 * written ahead */
	size_t sync_chunk;	/* SMALL CHUNKS: the zero chunk for this
				 * small syncer's appends; 0: 4 KiB windows */
	size_t zero_chunk;	/* the largest chunk of zeros written since
				 * the last leave_large (LARGE SLICES, SMALL
				 * CHUNKS): the folios the appends meet */
	size_t unsynced;	/* bytes appended since the last sync */
	bool small_syncs;	/* the last sync after appends followed
				 * < SMALL_SYNC bytes of them: grown space is
				 * prepared too */
	bool bulk;		/* the mapping has MADV_HUGEPAGE (BULK STORES) */
	bool split;		/* mmf_advise_range gave part of the mapping a
				 * pattern: the mapping may be in parts */
	mmf_options opt;
	mmf_stats stats;
};

void mmf_options_init(mmf_options *o)
{
	memset(o, 0, sizeof(*o));
	o->grow = MMF_GROW_DOUBLE;
	o->grow_max_step = GIB;
	o->grow_chunk = 64 * MIB;
	o->flags = MMF_RESERVE;
	o->mode = 0666;
	o->max_size = 64 * GIB;
}

void mmf_options_seed(mmf_options *o)
{
	mmf_options_init(o);
	o->grow = MMF_GROW_SEED;
	o->flags = MMF_SYNC_BEFORE_GROW;
}

/* *o = opt (or the defaults when NULL), checked with the size to open. */
static int options_resolve(const mmf_options *opt, size_t size, mmf_options *o)
{
	if (size > MAX_FILE)
		return -EFBIG;
	if (!opt)
		mmf_options_init(o);
	else
		*o = *opt;
	if ((unsigned)o->grow > MMF_GROW_SEED ||
	    (o->flags & ~(MMF_FLAGS_ALL | MMF_STABLE | MMF_KEEP_FOLIOS)))
		return -EINVAL;
	if (o->grow == MMF_GROW_CHUNK && o->grow_chunk == 0)
		return -EINVAL;
	if ((o->flags & MMF_STABLE) && (o->max_size == 0 || o->max_size > MAX_FILE))
		return -EINVAL;
	return 0;
}

/* The size readers see. The writer publishes a new size (release) only once
 * the mapping and the file cover it, so a reader that loads it (acquire)
 * may touch every byte below it, even while a stable handle grows. */
static size_t size_now(const mmf_file *f)
{
	return __atomic_load_n(&f->size, __ATOMIC_ACQUIRE);
}

static void publish_size(mmf_file *f, size_t size)
{
	__atomic_store_n(&f->size, size, __ATOMIC_RELEASE);
}

static size_t page_up(size_t n)
{
	size_t page = mmf__os_page_size();

	return (n + page - 1) / page * page;
}

/* The length mapped (or reserved) at base, for munmap. */
static size_t map_len(const mmf_file *f)
{
	return f->reserved ? f->reserved : f->size;
}

/* Release what f holds; safe on a half-built handle and idempotent.
 * Returns the first error. */
static int teardown(mmf_file *f)
{
	int rc = 0, e;

	if (f->base) {
		rc = mmf__os_munmap(f->base, map_len(f));
		f->base = NULL;
	}
	if (f->fd >= 0) {
		e = mmf__os_close(f->fd);
		if (rc == 0)
			rc = e;
		f->fd = -1;
	}
	if (f->dirfd >= 0) {
		e = mmf__os_close(f->dirfd);
		if (rc == 0)
			rc = e;
		f->dirfd = -1;
	}
	free(f->path);
	free(f->name);
	f->path = f->name = NULL;
	return rc;
}

/* msync [addr, addr + len) (fdatasync when nothing is mapped); a failure
 * poisons the handle. */
static int sync_mapping(mmf_file *f, void *addr, size_t len)
{
	uint64_t t0 = mmf__os_now_ns();
	int rc = addr ? mmf__os_msync(addr, len) : mmf__os_fdatasync(f->fd);

	f->stats.syncs++;
	f->stats.sync_ns += mmf__os_now_ns() - t0;
	if (rc < 0)
		f->poison = rc;
	return rc;
}

static size_t sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* The size a grow to at least `end` goes to, at most cap unless end is
 * past it. `need` is the bytes the write needs (len + 4 for a slice, len
 * for a buffer), as in the seed's step. */
static size_t grow_target(const mmf_options *o, size_t size, size_t end,
			  size_t need, bool append, size_t cap)
{
	enum mmf_grow g = o->grow;
	size_t t = end, step;

	if (g == MMF_GROW_SEED)
		g = append ? MMF_GROW_EXACT : MMF_GROW_DOUBLE;
	if (g == MMF_GROW_DOUBLE) {
		step = size < o->grow_max_step ? size : o->grow_max_step;
		t = sat_add(size, step < need ? need : step);
	} else if (g == MMF_GROW_CHUNK) {
		t = sat_add(end, o->grow_chunk - 1);
		t -= t % o->grow_chunk;
	}
	if (t > cap)
		t = cap;
	return t < end ? end : t;	/* never short of the needed end */
}

/* Re-apply the handle's access pattern to the whole mapping after a remap
 * (a first mapping, or a move, starts with none). A stable handle's
 * mapping never changes and mmf_advise advised all of it. Advisory: a
 * failure leaves a good mapping with the kernel's default readahead. */
static void keep_advice(mmf_file *f)
{
	if (f->advice != MMF_ADVICE_NORMAL && f->size && !f->reserved)
		(void)mmf__os_advise(f->base, f->size, f->advice);
}

/* Extend the file from old to new bytes: posix_fallocate with RESERVE (a
 * failure is undone, as it may have extended part way), else ftruncate. */
static int extend_file(mmf_file *f, size_t old, size_t new_size)
{
	int rc;

	if (!(f->opt.flags & MMF_RESERVE))
		return mmf__os_ftruncate(f->fd, new_size);
	rc = mmf__os_fallocate(f->fd, old, new_size - old);
	if (rc < 0) {
		(void)mmf__os_ftruncate(f->fd, old);
		return rc;
	}
	f->stats.bytes_reserved += new_size - old;
	return 0;
}

/* Map the grown file up to new_size by mremap (may move), or a first mmap
 * of an empty file; a stable handle maps its whole reservation since open:
 * no call (a mapping call takes the file's i_mmap lock, which the kernel's
 * writeback of the same file holds per page: milliseconds, bench/README.md
 * "Stable growth"). *addr = the mapping's start. */
static int map_grown(mmf_file *f, size_t old, size_t new_size, void **addr)
{
	if (f->reserved) {
		*addr = f->base;
		return 0;
	}
	return f->base ? mmf__os_mremap(f->base, old, new_size, addr)
		       : mmf__os_mmap(f->fd, new_size, 1, addr);
}

/* mmf_advise_range with a pattern (RANDOM, SEQUENTIAL, NORMAL) on part of
 * the mapping splits it into parts with other flags, and mremap cannot grow
 * or shrink across parts (EFAULT): the kept pattern on the whole mapping
 * merges them back before a remap. */
static int unsplit(mmf_file *f)
{
	int rc;

	if (!f->split || f->reserved || !f->base)
		return 0;
	rc = mmf__os_advise(f->base, f->size, f->advice);
	if (rc == 0)
		f->split = false;
	return rc;
}

/* Grow file and mapping to new_size > f->size, by the flags. On error the
 * file is cut back and the handle keeps its old size and mapping. */
static int grow_to(mmf_file *f, size_t new_size)
{
	uint64_t t0 = mmf__os_now_ns();
	size_t old = f->size, page = mmf__os_page_size(), head;
	void *addr;
	int rc;

	if (new_size > MAX_FILE || (f->reserved && new_size > f->opt.max_size))
		return -EFBIG;
	if ((f->opt.flags & MMF_SYNC_BEFORE_GROW) && f->size) {
		rc = sync_mapping(f, f->base, f->size);
		if (rc < 0)
			return rc;
	}
	rc = unsplit(f);
	if (rc < 0)
		return rc;
	rc = extend_file(f, old, new_size);
	if (rc < 0)
		return rc;
	rc = map_grown(f, old, new_size, &addr);
	if (rc < 0) {
		(void)mmf__os_ftruncate(f->fd, old);
		return rc;
	}
	f->stats.remaps += !f->reserved;
	f->stats.moves += f->base && addr != f->base;
	if (addr != f->base)	/* never written for a stable handle */
		f->base = addr;
	publish_size(f, new_size);
	keep_advice(f);
	if (f->opt.flags & MMF_POPULATE) {
		/* Advisory: a failed prefault leaves a good, larger file. */
		head = old - old % page;
		(void)mmf__os_madvise_populate((char *)addr + head, new_size - head);
	}
	f->stats.grows++;
	f->stats.bytes_grown += new_size - old;
	f->stats.grow_ns += mmf__os_now_ns() - t0;
	return 0;
}

/* shrink_to of a stable handle: the mapping stays; the kernel takes the
 * pages past the new end out of it (an access there is a SIGBUS until a
 * grow brings them back, as zeros). */
static int shrink_stable(mmf_file *f, size_t new_size)
{
	size_t old = f->size;
	int rc;

	publish_size(f, new_size);
	rc = mmf__os_ftruncate(f->fd, new_size);
	if (rc < 0) {
		publish_size(f, old);
		return rc;
	}
	f->stats.shrinks++;
	return 0;
}

/* Shrink mapping, then file, to new_size < f->size: the mapping never
 * covers bytes past the end of the file. On error the old size is restored
 * where the kernel lets us. */
static int shrink_to(mmf_file *f, size_t new_size)
{
	size_t old = f->size;
	void *addr = NULL, *back;
	int rc;

	if (f->old_data > new_size)
		f->old_data = new_size;	/* space grown again later is new */
	if (f->small_end > new_size)
		f->small_end = new_size;	/* to be made ready again */
	if (f->last_end > new_size)
		f->last_end = new_size;
	if (f->fresh > new_size)
		f->fresh = new_size;
	if (f->reserved)
		return shrink_stable(f, new_size);
	rc = unsplit(f);
	if (rc < 0)
		return rc;
	rc = new_size ? mmf__os_mremap(f->base, old, new_size, &addr)
		      : mmf__os_munmap(f->base, old);
	if (rc < 0)
		return rc;
	f->base = addr;
	f->size = new_size;
	f->bulk = f->bulk && addr;	/* a new mapping has no advice */
	keep_advice(f);
	rc = mmf__os_ftruncate(f->fd, new_size);
	if (rc < 0) {
		int e = addr ? mmf__os_mremap(addr, new_size, old, &back)
			     : mmf__os_mmap(f->fd, old, 1, &back);
		if (e == 0) {
			f->base = back;
			f->size = old;
			keep_advice(f);	/* a new mapping has none */
		}
		return rc;
	}
	f->stats.shrinks++;
	return 0;
}

/* Mutating calls: a read-only handle is -EBADF, a poisoned one its error. */
static int check_mutable(const mmf_file *f)
{
	return f->writable ? f->poison : -EBADF;
}

/*
 * SMALL WRITES (header: MMF_KEEP_FOLIOS). A store dirties the whole folio
 * it hits, and writeback writes whole folios (ext4 on Linux >= 6.16 keeps
 * regular files in folios up to 2 MiB): a small sync inside a large folio
 * writes all of it. Readahead makes such folios: of data the file already
 * had (its old_data), and in space the library grew too, once a writer's
 * faults are past readahead's first windows (about 8-16 MiB into a file
 * here: bench/README.md "Small writes"). So before appends reach a 2 MiB-
 * aligned window, the window and the next one are made ready: from the
 * append's first whole page on they lose their clean, unmapped cache
 * (large folios readahead may have made there; the bytes before it are the
 * caller's, maybe dirty, and fadvise would start their writeback), which
 * POSIX_FADV_WILLNEED reads in again at once: it fills 4 KiB folios (zeros
 * for unwritten extents and holes, without I/O) and sets no readahead
 * mark, so the appends' faults find small folios and start no readahead.
 * Below old_data always; in grown space only while the writer syncs small
 * amounts (its last sync followed less than SMALL_SYNC bytes of appends)
 * and too little for SMALL CHUNKS (below 64 KiB):
 * there small folios cost stores ~20 % (more faults, measured), and a
 * writer that syncs 4 MiB or more at a time writes at most 2 MiB of whole
 * folio past each end of it, <= 2x what it dirtied. No madvise: advice on
 * a part of the mapping splits it, and mremap cannot grow a split mapping
 * (EFAULT, found by fault.soak); MADV_NOHUGEPAGE on the whole mapping did
 * not keep readahead's folios small (measured). Dirty folios are left
 * alone. Advisory.
 */
#define SMALL_WINDOW (2 * MIB)
#define SMALL_SYNC (2 * SMALL_WINDOW)

/* The end of the 2 MiB window that holds `at` and of the next, cut at the
 * end of the file. */
static size_t windows_end(const mmf_file *f, size_t at)
{
	size_t to = at - at % SMALL_WINDOW + 2 * SMALL_WINDOW;

	return to < page_up(f->size) ? to : page_up(f->size);
}

/* Unmap [from, to) from this handle (MADV_DONTNEED keeps the bytes: a
 * shared mapping's dirty bits go to the page cache; fault-around of reads
 * maps readahead's clean folios ahead of a replaying writer, which then
 * could not be dropped: unit.small's replay test under valgrind wrote
 * 2 MiB per record), drop its clean cache and read it in again in 4 KiB
 * folios; appends below `to` are ready for small writes. */
static void refill_small(mmf_file *f, size_t from, size_t to)
{
	if (from < to) {
		(void)mmf__os_advise((char *)f->base + from, to - from,
				     MMF_ADVICE_DONTNEED);
		mmf__os_drop_cache(f->fd, from, to - from, 0);
		mmf__os_prefetch(f->fd, from, to - from);
	}
	f->small_end = to;
}

static void prepare_small(mmf_file *f, size_t off, size_t end)
{
	if ((f->opt.flags & MMF_KEEP_FOLIOS) || end <= f->small_end ||
	    (off >= f->old_data && !f->small_syncs))
		return;
	refill_small(f, page_up(off), windows_end(f, off));
}

/*
 * BULK STORES (header: SMALL WRITES). Stores into new space take a write
 * fault per 4 KiB page (~2.4-5 us here), write(2) one call per folio: a
 * 64 KiB mmf_allocate_slice ran at 0.25x write(2) (bench/README.md,
 * "Appends at every size"). With MADV_HUGEPAGE on the mapping the kernel
 * maps new space in 2 MiB folios, one fault each. So a writer that does
 * not sync small amounts gets MADV_HUGEPAGE on the whole mapping (advice
 * on a part would split it) at its first append of BULK_STORE bytes or
 * more, or once it has appended SMALL_SYNC bytes since its last sync; on
 * MMF_RESERVE handles only: without it a whole folio written back would
 * allocate 2 MiB of a sparse file for one store. While it lasts,
 * mmf_append_buffer stores records below BULK_STORE (a store into a mapped
 * 2 MiB folio costs no fault: 4 KiB appends 2.0x faster than by pwrite,
 * measured); larger ones stay with pwrite, which fills new folios without
 * zeroing them first.
 * A sync writes whole folios: a writer that syncs 4 MiB (SMALL_SYNC) or
 * more at a time writes at most 2 MiB of folio past each end of what it
 * dirtied. The first small sync ends it (leave_large): MADV_NOHUGEPAGE, and
 * the window the writer is in and the next are unmapped from this handle
 * (MADV_DONTNEED keeps the bytes: a shared mapping's dirty bits go to the
 * page cache), their clean cache dropped and read back in 4 KiB folios:
 * one-off, at most 4 MiB. The sync that got here wrote the writer's folio
 * whole, so it is clean; a folio still dirty stays (no writeback here:
 * sync_file_range would consume a write error that the caller's next
 * mmf_sync must report). Advisory: a failed MADV_NOHUGEPAGE keeps bulk
 * mode, so the next small sync tries again.
 */
#define BULK_STORE (64 * KIB)
#define PREFILL_AHEAD (1 * MIB)	/* LARGE SLICES */

static void enter_bulk(mmf_file *f, size_t len)
{
	if (f->bulk || f->small_syncs || !f->base ||
	    (f->opt.flags & (MMF_KEEP_FOLIOS | MMF_RESERVE)) != MMF_RESERVE ||
	    (len < BULK_STORE && f->unsynced < SMALL_SYNC))
		return;
	f->bulk = mmf__os_advise_huge(f->base, map_len(f), 1) == 0;
}

static void leave_large(mmf_file *f)
{
	size_t from = f->last_end - f->last_end % SMALL_WINDOW;
	size_t to = windows_end(f, f->last_end);

	if (f->bulk && mmf__os_advise_huge(f->base, map_len(f), 0) < 0)
		return;	/* still bulk: the next small sync tries again */
	f->bulk = false;
	f->zero_chunk = 0;
	refill_small(f, from, to);
}

/*
 * SMALL CHUNKS (header: SMALL WRITES). A writer that syncs small amounts
 * gets its grown space in 4 KiB folios (prepare_small): one write fault
 * per page, a 4 KiB folio made by readahead per page (14 % of a 4 KiB
 * slice's time with a sync every 64, perf), and one write-protect per
 * page when the sync writes it back. When it syncs `synced` >= 64 KiB at
 * a time, folios of a quarter of that (a power of two, 16 KiB to 1 MiB)
 * still write at most 1.5x what it dirtied per sync (a partial folio at
 * each end), so its appends instead get zeros written ahead in chunks of
 * that size (prefill), folios of that size, one fault each (measured:
 * bench/README.md "Appends at every size"). A later sync of less makes
 * the chunk smaller and leave_large turns the windows around the appends
 * back into 4 KiB folios. Not with MMF_KEEP_FOLIOS.
 */
#define SMALL_CHUNK_MIN (16 * KIB)

static size_t small_chunk(const mmf_file *f, size_t synced)
{
	size_t c = SMALL_CHUNK_MIN;

	if ((f->opt.flags & MMF_KEEP_FOLIOS) || synced / 4 < c)
		return 0;
	while (c * 2 <= synced / 4 && c < PREFILL_AHEAD)
		c *= 2;
	return c;
}

/* After a successful sync: how much the writer appended since the last. */
static void note_sync(mmf_file *f)
{
	if (f->unsynced == 0)
		return;
	f->small_syncs = f->unsynced < SMALL_SYNC;
	f->sync_chunk = f->small_syncs ? small_chunk(f, f->unsynced) : 0;
	f->unsynced = 0;
	if (f->small_syncs && (f->bulk || f->zero_chunk > f->sync_chunk))
		leave_large(f);
}

/*
 * LARGE SLICES (header: mmf_allocate_slice). The caller's stores into a
 * new slice meet pages the cache does not have: the first store of each
 * faults, and the kernel allocates a folio (readahead's size, up to 2 MiB;
 * in bulk stores 2 MiB) and zeroes it before the store overwrites it. On
 * this VM 2 MiB folios come from the free blocks the balloon reported to
 * the host (virtio free page reporting, order >= 9), whose first touch
 * costs a host fault: 0.4-0.7 GB/s against 9 GB/s for memory freed just
 * before, and 1 MiB slices ran at 0.29-0.80x write(2), whose 1 MiB calls
 * fill folios of at most 1 MiB (measured: bench/README.md "Appends at
 * every size"). So on an MMF_RESERVE handle whose writer does not sync
 * small amounts, a slice of BULK_STORE bytes or more first gets its fresh
 * pages written with zeros by pwrite(2), up to the next PREFILL_AHEAD
 * boundary (the file's end at most). Fresh: past the bytes the file had
 * at open and every byte this handle's appends reached, and before the
 * first byte lseek(SEEK_DATA) calls data once the clean cache there is
 * dropped (readahead's zeros): so never over bytes anybody wrote (another
 * handle, another process, stores through mmf_data(): a break-it review
 * found all three zeroed when only the handle's appends were known). The
 * cache gets the zeros in folios as large as each call (<= 1 MiB), copied
 * from one zero buffer, and the stores then fault about once per slice
 * (1 per MiB for 1 MiB slices, 17 for 64 KiB ones, instead of 256;
 * measured). Not without MMF_RESERVE: the zeros would allocate blocks of
 * a sparse file the caller may never fill. Advisory: a failed pwrite
 * leaves the pages to the stores' faults. The zeros past the record are
 * dirty pages: the writer's first small sync ends them as it ends bulk
 * stores (leave_large: its windows unmapped, their clean cache dropped,
 * which starts the writeback of the dirty zeros, and read back in 4 KiB
 * folios), so its records after it dirty 4 KiB pages (unit.small). A sync
 * of 4 MiB or more writes up to PREFILL_AHEAD of zeros past its end,
 * written again with the records later: <= 1.25x.
 *
 * prefill() writes the zeros for a record of need bytes at [off, end) and
 * says whether a small syncer's pages up to end are zeros written in
 * chunks (SMALL CHUNKS), so that its 4 KiB windows are not needed.
 */
static bool prefill(mmf_file *f, size_t off, size_t end, size_t need,
		    bool append)
{
	size_t chunk = f->small_syncs ? f->sync_chunk
		     : !append && need >= BULK_STORE ? PREFILL_AHEAD : 0;
	size_t from, to;

	if (!chunk || !f->by_write || !(f->opt.flags & MMF_RESERVE))
		return false;
	from = page_up(off > f->fresh ? off : f->fresh);
	to = end + (chunk - end % chunk) % chunk;
	if (to > f->size || to < end)
		to = f->size;
	if (from >= to)
		return f->small_syncs;
	/* only where nothing was ever written: not another handle's or
	 * process's bytes, nor stores through mmf_data() (clean cache of
	 * unwritten space, which readahead may have made, goes first) */
	mmf__os_drop_cache(f->fd, from, to - from, 0);
	to = mmf__os_data_from(f->fd, from, to);
	if (to < f->size)
		to -= to % mmf__os_page_size();
	if (from >= to || mmf__os_pwrite_zeros(f->fd, from, to - from) < 0)
		return false;	/* advisory: the stores fault the pages in */
	f->fresh = to;
	if (f->zero_chunk < chunk)
		f->zero_chunk = chunk;
	return f->small_syncs && to >= end;
}

/* Make sure [off, end) is in the file, growing by the policy, and ready for
 * small writes or bulk stores: a record of need = end - off bytes (a slice
 * with its length prefix, then prefilled) is appended there. */
static int ensure_end(mmf_file *f, size_t off, size_t end, size_t need,
		      bool append)
{
	size_t cap = f->reserved ? f->opt.max_size : MAX_FILE;
	int rc = 0;

	if (end > f->size)
		rc = grow_to(f, grow_target(&f->opt, f->size, end, need, append,
					    cap));
	if (rc < 0)
		return rc;
	f->last_end = end;
	f->unsynced = sat_add(f->unsynced, need);
	enter_bulk(f, need);
	if (!prefill(f, off, end, need, append))
		prepare_small(f, off, end);
	if (f->fresh < end)
		f->fresh = end;
	return 0;
}

/* The directory part of path (malloc'd; "." for a bare name) and, in
 * *name, its last component ("." when path ends with '/'). */
static char *split_path(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');

	*name = slash ? slash + 1 : path;
	if (**name == '\0')
		*name = ".";
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Remember the directory and name the file has: the directory is opened
 * now and the name checked against the file (st) when check is set; a name
 * that is not (or no longer) this file leaves the handle without one.
 * Takes ownership of dirfd. */
static int set_name(mmf_file *f, int dirfd, const char *name,
		    const struct stat *st, bool check)
{
	struct stat nst;
	int rc = 0;

	f->dirfd = dirfd;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	if (check)
		rc = mmf__os_fstatat(dirfd, name, &nst);
	if (check && (rc == -ENOENT || (rc == 0 && (nst.st_dev != st->st_dev ||
						   nst.st_ino != st->st_ino)))) {
		free(f->path);
		f->path = NULL;
		rc = 0;
		(void)mmf__os_close(f->dirfd);
		f->dirfd = -1;
		free(f->name);
		f->name = NULL;
	}
	return rc;
}

/* mmf_open_fd: the name /proc/self/fd gives, if it still is fd's file. */
static int find_name(mmf_file *f, const struct stat *st)
{
	const char *name;
	char *dir;
	int dirfd = -1, rc;

	f->path = mmf__os_fd_path(f->fd);
	if (!f->path)
		return 0;	/* unknown: no delete, no durable create */
	dir = split_path(f->path, &name);
	if (!dir)
		return -ENOMEM;
	rc = mmf__os_open(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, &dirfd);
	free(dir);
	if (rc < 0)
		return rc;
	return set_name(f, dirfd, name, st, true);
}

/* The file is empty: size it (writable), and make its creation durable
 * (writable, or created by a read-only O_CREAT open). */
static int size_new_file(mmf_file *f, size_t size, bool creating)
{
	int rc = 0;

	f->created = f->writable;
	if (f->writable && size > 0)
		rc = grow_to(f, size);
	if (rc == 0 && f->dirfd >= 0 && (f->writable || creating))
		rc = mmf__os_fsync(f->dirfd);
	return rc;
}

/* Map a non-empty file. A writable handle with MMF_RESERVE first allocates
 * every block of it (holes of a sparse file, of an ftruncate-sized one):
 * no store through the mapping can then need a block the disk lacks. */
static int map_existing(mmf_file *f, size_t size)
{
	int rc;

	if (f->writable && (f->opt.flags & MMF_RESERVE)) {
		rc = mmf__os_fallocate(f->fd, 0, size);
		if (rc < 0)
			return rc;
	}
	/* SMALL WRITES: large folios cached before this open (write(2),
	 * pread, readahead) go, so stores fault in small ones. */
	if (f->writable && !(f->opt.flags & MMF_KEEP_FOLIOS))
		mmf__os_drop_cache(f->fd, 0, 0, 1);
	f->old_data = f->writable ? size : 0;
	f->fresh = f->old_data;
	rc = f->reserved ? 0 : mmf__os_mmap(f->fd, size, f->writable, &f->base);
	if (rc == 0)
		publish_size(f, size);
	return rc;
}

/* MMF_STABLE: map the file over max_size bytes of address space at open,
 * past its end too (a shared file mapping commits no memory; pages past the
 * end fault with SIGBUS). Growth then only extends the file: base never
 * changes and no grow or shrink touches the mapping. */
static int reserve_space(mmf_file *f, size_t file_size)
{
	size_t len = page_up(f->opt.max_size);
	int rc;

	if (file_size > f->opt.max_size)
		return -EFBIG;
	rc = mmf__os_mmap(f->fd, len, f->writable, &f->base);
	if (rc == 0)
		f->reserved = len;
	return rc;
}

/* Build a handle around fd, whose name is `name` in dirfd (dirfd < 0:
 * look it up through /proc). On error fd is left open for the caller;
 * dirfd is always taken. */
static int map_fd(int fd, int dirfd, const char *path, const char *name,
		  size_t size, bool writable, bool creating,
		  const mmf_options *o, mmf_file **out)
{
	mmf_file *f = calloc(1, sizeof(*f));
	struct stat st;
	int rc = -ENOMEM;

	if (!f) {
		if (dirfd >= 0)
			(void)mmf__os_close(dirfd);
		return -ENOMEM;
	}
	f->fd = fd;
	f->dirfd = dirfd;
	f->writable = writable;
	f->opt = *o;
	f->path = path ? strdup(path) : NULL;
	if (path && !f->path)
		goto fail;
	rc = mmf__os_fstat(fd, &st);
	if (rc < 0)
		goto fail;
	rc = S_ISDIR(st.st_mode) ? -EISDIR : S_ISREG(st.st_mode) ? 0 : -ENODEV;
	/* Without MMF_RESERVE a prefault that met a full disk failed
	 * silently, and a store there is a SIGBUS where pwrite is -ENOSPC. */
	f->by_write = writable && mmf__os_positional_writes(fd) &&
		      (o->flags & (MMF_POPULATE | MMF_RESERVE)) !=
		      (MMF_POPULATE | MMF_RESERVE);
	if (rc == 0)
		rc = dirfd >= 0 ? set_name(f, dirfd, name, &st, false)
				: find_name(f, &st);
	if (rc == 0 && (o->flags & MMF_STABLE))
		rc = reserve_space(f, (size_t)st.st_size);
	if (rc == 0)
		rc = st.st_size > 0 ? map_existing(f, (size_t)st.st_size)
				    : size_new_file(f, size, creating);
	if (rc < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	f->fd = -1;		/* not ours to close */
	(void)teardown(f);
	free(f);
	return rc;
}

/* The flags mmf_open accepts (header: mmf_open). */
#define OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_NOATIME | \
		    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_LARGEFILE)

static int check_oflags(int oflags)
{
	int acc = oflags & O_ACCMODE;

	if ((acc != O_RDONLY && acc != O_RDWR) || (oflags & ~OPEN_FLAGS))
		return -EINVAL;
	if ((oflags & O_EXCL) && !(oflags & O_CREAT))
		return -EINVAL;
	if (acc == O_RDONLY && (oflags & O_TRUNC))
		return -EINVAL;	/* a read-only handle never changes a file */
	return 0;
}

int mmf_open(const char *path, int oflags, size_t size,
	     const mmf_options *opt, mmf_file **out)
{
	int dirfd = -1, fd = -1, rc;
	const char *name;
	mmf_options o;
	char *dir;

	if (!path || !out || check_oflags(oflags) < 0)
		return -EINVAL;
	rc = options_resolve(opt, size, &o);
	if (rc < 0)
		return rc;
	dir = split_path(path, &name);
	if (!dir)
		return -ENOMEM;
	rc = mmf__os_open(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, &dirfd);
	free(dir);
	if (rc < 0)
		return rc;
	/* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it. */
	rc = mmf__os_open(dirfd, name, oflags | O_NONBLOCK, o.mode, &fd);
	if (rc < 0) {
		(void)mmf__os_close(dirfd);
		return rc;
	}
	rc = map_fd(fd, dirfd, path, name, size, (oflags & O_ACCMODE) == O_RDWR,
		    oflags & O_CREAT, &o, out);
	if (rc < 0)
		(void)mmf__os_close(fd);
	return rc;
}

int mmf_open_fd(int fd, size_t size, bool writable,
		const mmf_options *opt, mmf_file **out)
{
	mmf_options o;
	int rc;

	if (fd < 0)
		return -EBADF;
	if (!out)
		return -EINVAL;
	rc = options_resolve(opt, size, &o);
	if (rc < 0)
		return rc;
	return map_fd(fd, -1, NULL, NULL, size, writable, false, &o, out);
}

bool mmf_created(const mmf_file *f)
{
	return f->created;
}

void *mmf_data(const mmf_file *f)
{
	return f->base;
}

size_t mmf_size(const mmf_file *f)
{
	return size_now(f);
}

int mmf_fd(const mmf_file *f)
{
	return f->fd;
}

const char *mmf_path(const mmf_file *f)
{
	return f->path;
}

/* Is [off, off + len) inside the file? Overflow-proof. */
static bool in_file(const mmf_file *f, size_t off, size_t len)
{
	size_t size = size_now(f);

	return off <= size && len <= size - off;
}

int mmf_bytes(const mmf_file *f, size_t off, size_t len, const void **out)
{
	if (size_now(f) == 0 || !in_file(f, off, len))
		return MMF_EOF;
	*out = (const char *)f->base + off;
	return 0;
}

int mmf_slice(const mmf_file *f, size_t off, const void **out, uint32_t *len)
{
	const unsigned char *p;
	uint32_t n;

	if (!in_file(f, off, 4))
		return MMF_EOF;
	p = (const unsigned char *)f->base + off;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
	if (!in_file(f, off + 4, n))
		return MMF_ECORRUPT;
	*out = p + 4;
	*len = n;
	return 0;
}

int mmf_allocate_slice(mmf_file *f, size_t len, size_t off, void **out,
		       size_t *next)
{
	unsigned char *p;
	int rc = check_mutable(f);

	inject_slowdown();
	if (rc < 0)
		return rc;
	if (!out || !next || len > UINT32_MAX)
		return -EINVAL;
	if (off > MAX_FILE - 4 || len > MAX_FILE - 4 - off)
		return -EFBIG;
	rc = ensure_end(f, off, off + 4 + len, len + 4, false);
	if (rc < 0)
		return rc;
	p = (unsigned char *)f->base + off;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	*out = p + 4;
	*next = off + 4 + len;
	return 0;
}

/*
 * LARGE APPENDS (header: mmf_append_buffer). A store through the mapping
 * into a page nobody has touched takes a write fault per 4 KiB page
 * (~2.4 us here: bench/README.md, "Appends at every size"), while write(2)
 * fills a whole folio per call: 64 KiB appends through the mapping ran at
 * 0.26x write(2). So records of MMF_APPEND_BY_WRITE bytes or more are
 * copied with pwrite(2): the page cache is the one the mapping shows, so
 * the bytes are visible through mmf_data() at once, and write(2) marks dirty
 * only the blocks it wrote, never a whole large folio (SMALL WRITES). Below
 * it a page's fault is shared by several records and the store wins.
 */
int mmf_append_buffer(mmf_file *f, size_t off, const void *buf, size_t len)
{
	int rc = check_mutable(f);

	inject_slowdown();
	if (rc < 0)
		return rc;
	if (!buf && len > 0)
		return -EINVAL;
	if (off > MAX_FILE || len > MAX_FILE - off)
		return -EFBIG;
	if (len == 0)
		return 0;
	rc = ensure_end(f, off, off + len, len, true);
	if (rc < 0)
		return rc;
	if (len >= MMF_APPEND_BY_WRITE && f->by_write &&
	    (!f->bulk || len >= BULK_STORE))
		return mmf__os_pwrite(f->fd, buf, len, off);
	memcpy((char *)f->base + off, buf, len);
	return 0;
}

int mmf_truncate(mmf_file *f, size_t size)
{
	int rc = check_mutable(f);

	if (rc < 0)
		return rc;
	if (size > MAX_FILE)
		return -EFBIG;
	if (size == f->size)
		return 0;
	return size > f->size ? grow_to(f, size) : shrink_to(f, size);
}

int mmf_sync(mmf_file *f)
{
	int rc;

	if (!f->writable)
		return 0;
	if (f->poison)
		return f->poison;
	rc = sync_mapping(f, f->size ? f->base : NULL, f->size);
	if (rc == 0)
		note_sync(f);
	return rc;
}

int mmf_sync_range(mmf_file *f, size_t off, size_t len)
{
	size_t start;
	int rc;

	if (f->writable && f->poison)
		return f->poison;	/* every sync, whatever its range */
	if (!in_file(f, off, len))
		return MMF_EOF;
	if (!f->writable || len == 0)
		return 0;
	start = off - off % mmf__os_page_size();
	rc = sync_mapping(f, (char *)f->base + start, off + len - start);
	if (rc == 0)
		note_sync(f);
	return rc;
}

int mmf_close(mmf_file *f)
{
	int rc, e;

	if (!f)
		return 0;
	rc = mmf_sync(f);
	e = teardown(f);
	free(f);
	return rc < 0 ? rc : e;
}

/* Is the name the handle was opened by still its file? 0, -ESTALE (gone,
 * or another file), or the error of fstatat. */
static int same_file(const mmf_file *f)
{
	struct stat st;
	int rc = mmf__os_fstatat(f->dirfd, f->name, &st);

	if (rc == -ENOENT)
		return -ESTALE;
	if (rc < 0)
		return rc;
	return st.st_dev == f->dev && st.st_ino == f->ino ? 0 : -ESTALE;
}

int mmf_delete(mmf_file *f)
{
	int rc, e = 0;

	if (!f)
		return 0;
	rc = f->poison ? f->poison : f->dirfd < 0 ? -EINVAL : same_file(f);
	if (rc == 0 && f->base) {
		rc = mmf__os_munmap(f->base, map_len(f));
		if (rc == 0)
			f->base = NULL;
	}
	if (rc == 0) {
		/* No truncation: other handles and processes keep reading
		 * their bytes; the space is freed when the last one closes. */
		e = mmf__os_close(f->fd);
		f->fd = -1;
		rc = mmf__os_unlink(f->dirfd, f->name);
		if (rc == 0)
			rc = mmf__os_fsync(f->dirfd);
	}
	if (rc == 0)
		rc = e;
	e = teardown(f);
	free(f);
	return rc < 0 ? rc : e;
}

int mmf_sync_dir(const char *dir)
{
	int fd = -1, rc, e;

	if (!dir)
		return -EINVAL;
	rc = mmf__os_open(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, &fd);
	if (rc < 0)
		return rc;
	rc = mmf__os_fsync(fd);
	e = mmf__os_close(fd);
	return rc < 0 ? rc : e;
}

void mmf_reader_init(mmf_reader *r, const mmf_file *f, size_t off)
{
	r->mmf__file = f;
	r->mmf__off = off;
}

ssize_t mmf_reader_read(mmf_reader *r, void *buf, size_t len)
{
	const mmf_file *f = r->mmf__file;
	size_t size = size_now(f), n;

	if (!buf && len > 0)
		return -EINVAL;
	if (r->mmf__off >= size)
		return 0;
	n = size - r->mmf__off;
	if (n > len)
		n = len;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	memcpy(buf, (const char *)f->base + r->mmf__off, n);
	r->mmf__off += n;
	return (ssize_t)n;
}

const char *mmf_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err == MMF_EOF)
		return "range passes the end of the file";
	if (err == MMF_ECORRUPT)
		return "record length prefix points past the end of the file";
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown mmapfile error";
}

void mmf_stats_get(const mmf_file *f, mmf_stats *out)
{
	*out = f->stats;
}

/* madvise [off, off + len) rounded out to pages; nothing mapped: 0. */
static int advise_range(mmf_file *f, size_t off, size_t len,
			enum mmf_advice advice)
{
	size_t start = off - off % mmf__os_page_size();

	if (f->size == 0 || len == 0)
		return 0;
	return mmf__os_advise((char *)f->base + start, off + len - start,
			      advice);
}

int mmf_advise(mmf_file *f, enum mmf_advice advice)
{
	int rc;

	if ((unsigned)advice > MMF_ADVICE_DONTNEED)
		return -EINVAL;
	if (f->reserved && advice <= MMF_ADVICE_SEQUENTIAL)
		/* a kept pattern on all a stable handle maps: growth needs none */
		rc = mmf__os_advise(f->base, f->reserved, advice);
	else
		rc = advise_range(f, 0, f->size, advice);
	if (rc == 0 && advice <= MMF_ADVICE_SEQUENTIAL) {
		f->advice = advice;
		f->split = false;	/* one pattern on all of it again */
	}
	return rc;
}

int mmf_advise_range(mmf_file *f, size_t off, size_t len,
		     enum mmf_advice advice)
{
	int rc;

	if ((unsigned)advice > MMF_ADVICE_DONTNEED)
		return -EINVAL;
	if (!in_file(f, off, len))
		return MMF_EOF;
	rc = advise_range(f, off, len, advice);
	if (advice <= MMF_ADVICE_SEQUENTIAL && len > 0)
		f->split = true;	/* even after a failure: maybe part done */
	return rc;
}

/*
 * In libmmapfile.so these are the default versions of the calls whose
 * mmf_options grew in 0.2; compat.c holds their MMAPFILE_0.1 versions for
 * binaries built against 0.1 (see mmapfile.map). The static libraries have
 * one version of everything.
 */
#ifdef MMF_SHARED_ABI
__asm__(".symver mmf__options_init_v02, mmf_options_init@@MMAPFILE_0.2\n\t"
	".symver mmf__options_seed_v02, mmf_options_seed@@MMAPFILE_0.2\n\t"
	".symver mmf__open_v02, mmf_open@@MMAPFILE_0.2\n\t"
	".symver mmf__open_fd_v02, mmf_open_fd@@MMAPFILE_0.2");
#endif
