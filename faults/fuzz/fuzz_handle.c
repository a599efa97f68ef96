/*
 * fuzz_handle - a libFuzzer target for one mmapfile handle, checked against
 * a shadow model (built with clang: -fsanitize=fuzzer,address,undefined).
 *
 * One input = arbitrary initial file contents and a sequence of operations:
 *
 *	byte 0      open: bit 0 read-only, bit 1 mmf_open_fd instead of
 *	            mmf_open, bit 2 O_TRUNC, bits 3-4 growth policy,
 *	            bits 5-7 the flags (reserve, populate, sync_before_grow)
 *	bytes 1-2   grow_chunk - 1 (little-endian)
 *	bytes 3-4   grow_max_step - 1
 *	bytes 5-6   the size a found-empty file is opened with
 *	bytes 7-8   L, the length of the initial contents (at most what is left)
 *	L bytes     the initial contents
 *	the rest    operations: one opcode byte, then its arguments (missing
 *	            bytes read as zero)
 *
 * Operations: mmf_bytes, mmf_slice at an offset, a slice walk from 0, an
 * mmf_reader in chunks, mmf_allocate_slice, mmf_append_buffer, mmf_truncate,
 * mmf_sync, mmf_sync_range, a close + reopen (read-write or read-only), and
 * mmf_bytes/mmf_sync_range at offsets near SIZE_MAX. Offsets and lengths stay
 * under 256 KiB (MAXOFF) so an input runs in well under a millisecond.
 *
 * The model is the file's bytes (shadow) and its size, and the policy rule
 * of mmapfile.h ("new = size + max(min(size, grow_max_step), need)" for
 * double, the exact end, the end rounded up to grow_chunk). Invariants,
 * checked after every operation (the whole mapping after the open, every
 * reopen and the last operation): the return code is the one the header
 * promises (0, MMF_EOF, MMF_ECORRUPT, -EBADF on a read-only handle); what a
 * read returns equals the shadow; mmf_size equals the model and fstat's
 * st_size; the whole mapping equals the shadow; a reopen shows exactly the
 * shadow. A broken invariant prints one line and aborts: libFuzzer keeps the
 * input as the reproducer.
 *
 * The file lives in a mkdtemp directory of $TMPDIR (default /tmp) made
 * before the first input (LLVMFuzzerInitialize) and removed at exit; $TMPDIR
 * is refused (one line, exit 2, no input run, no artifact written) unless mmf_scratch_parent accepts it (private_dir.h: not a symlink, this
 * user's or root's, sticky if others can write in it).
 */
#define _GNU_SOURCE
#include "mmapfile.h"
#include "private_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXOFF (1u << 18)	/* offsets and lengths stay below this */
/* The largest size a grow can reach: a write ends below 2 MAXOFF + 4, so a
 * grow starts below that and at most doubles it (plus the need). */
#define ROOM (5 * (size_t)MAXOFF)

struct src {
	const uint8_t *p;
	size_t n;
};

struct model {
	mmf_file *f;
	bool ro;
	mmf_options opt;
	uint8_t *shadow;	/* ROOM bytes: room for any grow */
	size_t size;
	uint8_t buf[MAXOFF];
	unsigned long op;
};

static char dir[4096], path[4200];

static unsigned get8(struct src *s)
{
	unsigned v = 0;

	if (s->n) {
		v = s->p[0];
		s->p++, s->n--;
	}
	return v;
}

static unsigned get16(struct src *s)
{
	unsigned lo = get8(s);

	return lo | get8(s) << 8;
}

/* An offset or length below MAXOFF, mostly small. */
static size_t get_off(struct src *s)
{
	unsigned a = get8(s);

	return a & 0x80 ? (size_t)(get16(s) | (a & 0xf) << 16) % MAXOFF : a;
}

static void fail(struct model *m, const char *what, long a, long b)
{
	fprintf(stderr, "fuzz_handle: op %lu: %s (%ld, expected %ld)\n", m->op, what, a, b);
	abort();
}

static void expect_rc(struct model *m, const char *what, long rc, long want)
{
	if (rc != want)
		fail(m, what, rc, want);
}

static void dir_remove(void)
{
	unlink(path);
	rmdir(dir);
}

static void make_dir(void)
{
	const char *t = getenv("TMPDIR");
	char why[512];

	t = t && *t ? t : "/tmp";
	if (mmf_scratch_parent(t, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_handle: TMPDIR %s\n", why);
		_exit(2);	/* not abort: libFuzzer would keep an artifact */
	}
	snprintf(dir, sizeof(dir), "%s/mmf-fuzz.XXXXXX", t);
	if (!mkdtemp(dir)) {
		perror("fuzz_handle: mkdtemp");
		_exit(1);
	}
	snprintf(path, sizeof(path), "%s/f.dat", dir);
	atexit(dir_remove);
}

/* The size mmapfile.h promises after a write that needs [0, end). */
static size_t grown(const struct model *m, size_t end, size_t need, bool append)
{
	enum mmf_grow g = m->opt.grow;
	size_t t = end, step;

	if (end <= m->size)
		return m->size;
	if (g == MMF_GROW_SEED)
		g = append ? MMF_GROW_EXACT : MMF_GROW_DOUBLE;
	if (g == MMF_GROW_DOUBLE) {
		step = m->size < m->opt.grow_max_step ? m->size : m->opt.grow_max_step;
		t = m->size + (step < need ? need : step);
	} else if (g == MMF_GROW_CHUNK) {
		t = (end + m->opt.grow_chunk - 1) / m->opt.grow_chunk * m->opt.grow_chunk;
	}
	return t < end ? end : t;
}

/* The model resized: new bytes are zero. */
static void resize(struct model *m, size_t size)
{
	if (size > ROOM)
		fail(m, "the model grew past its room", (long)size, (long)ROOM);
	if (size > m->size)
		memset(m->shadow + m->size, 0, size - m->size);
	m->size = size;
}

/* Size (model, mmf_size, st_size) after every operation; with whole, also
 * every byte of the mapping (after open, reopen and the last operation: per
 * operation it would cost more than the operation). */
static void check_handle(struct model *m, bool whole)
{
	struct stat st;

	expect_rc(m, "mmf_size", (long)mmf_size(m->f), (long)m->size);
	if (fstat(mmf_fd(m->f), &st) < 0)
		fail(m, "fstat", -errno, 0);
	expect_rc(m, "st_size", (long)st.st_size, (long)m->size);
	if (m->size == 0 || !whole)
		return;
	if (!mmf_data(m->f))
		fail(m, "mmf_data NULL with a size", (long)m->size, 0);
	if (memcmp(mmf_data(m->f), m->shadow, m->size))
		fail(m, "the mapping differs from the model", 0, 0);
}

static void op_bytes(struct model *m, struct src *s, bool huge)
{
	size_t off = get_off(s), len = get_off(s);
	const void *p = NULL;
	int rc;

	if (huge)
		off = SIZE_MAX - off;
	rc = mmf_bytes(m->f, off, len, &p);
	if (off > m->size || len > m->size - off || m->size == 0) {
		expect_rc(m, "mmf_bytes past the end", rc, MMF_EOF);
		return;
	}
	expect_rc(m, "mmf_bytes", rc, 0);
	if (len && memcmp(p, m->shadow + off, len))
		fail(m, "mmf_bytes content", (long)off, (long)len);
}

/* What mmf_slice must give at off: rc, and the payload length. */
static int slice_want(const struct model *m, size_t off, uint32_t *n)
{
	const uint8_t *q = m->shadow + off;

	if (off > m->size || m->size - off < 4)
		return MMF_EOF;
	*n = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
	return *n > m->size - off - 4 ? MMF_ECORRUPT : 0;
}

/* One slice at off; returns the next offset, or 0 after an error. */
static size_t check_slice(struct model *m, size_t off)
{
	const void *p = NULL;
	uint32_t n = 0, got = 0;
	int want = slice_want(m, off, &n), rc = mmf_slice(m->f, off, &p, &got);

	expect_rc(m, "mmf_slice", rc, want);
	if (rc)
		return 0;
	expect_rc(m, "mmf_slice length", got, n);
	if (n && memcmp(p, m->shadow + off + 4, n))
		fail(m, "mmf_slice payload", (long)off, (long)n);
	return off + 4 + n;
}

static void op_walk(struct model *m)
{
	size_t off = 0;

	for (int i = 0; i < 64 && (off = check_slice(m, off)) != 0; i++)
		;
}

static void op_reader(struct model *m, struct src *s)
{
	size_t off = get_off(s), chunk = get_off(s) + 1, at = off;
	mmf_reader r;
	ssize_t n;

	mmf_reader_init(&r, m->f, off);
	for (int i = 0; i < 64; i++) {	/* at most 64 reads: an input stays fast */
		n = mmf_reader_read(&r, m->buf, chunk);
		if (n < 0)
			fail(m, "mmf_reader_read", (long)n, 0);
		size_t left = at < m->size ? m->size - at : 0;
		expect_rc(m, "mmf_reader_read count", n, (long)(left < chunk ? left : chunk));
		if (n && memcmp(m->buf, m->shadow + at, (size_t)n))
			fail(m, "mmf_reader_read content", (long)at, (long)n);
		at += (size_t)n;
		if (n == 0)
			break;
	}
}

/* Pattern bytes seed + 31 i (period 256), copied in blocks: a byte loop
 * over a megabyte is slow under the fuzzer's comparison tracing. */
static void fill(uint8_t *p, size_t len, unsigned seed)
{
	uint8_t pat[256];

	for (unsigned i = 0; i < 256; i++)
		pat[i] = (uint8_t)(seed + i * 31);
	for (size_t at = 0; at < len; at += 256)
		memcpy(p + at, pat, len - at < 256 ? len - at : 256);
}

static void op_allocate(struct model *m, struct src *s)
{
	size_t len = get_off(s), off = get_off(s), next = 0;
	unsigned seed = get8(s);
	void *p = NULL;
	int rc = mmf_allocate_slice(m->f, len, off, &p, &next);

	if (m->ro) {
		expect_rc(m, "mmf_allocate_slice read-only", rc, -EBADF);
		return;
	}
	expect_rc(m, "mmf_allocate_slice", rc, 0);
	expect_rc(m, "mmf_allocate_slice next", (long)next, (long)(off + 4 + len));
	resize(m, grown(m, off + 4 + len, len + 4, false));
	m->shadow[off] = (uint8_t)(len >> 24);
	m->shadow[off + 1] = (uint8_t)(len >> 16);
	m->shadow[off + 2] = (uint8_t)(len >> 8);
	m->shadow[off + 3] = (uint8_t)len;
	fill(p, len, seed);
	fill(m->shadow + off + 4, len, seed);
}

static void op_append(struct model *m, struct src *s)
{
	size_t len = get_off(s), off = get_off(s);
	unsigned seed = get8(s);
	int rc;

	fill(m->buf, len, seed);
	rc = mmf_append_buffer(m->f, off, m->buf, len);
	if (m->ro) {
		expect_rc(m, "mmf_append_buffer read-only", rc, -EBADF);
		return;
	}
	expect_rc(m, "mmf_append_buffer", rc, 0);
	if (len)	/* the code: an empty append writes nothing, never grows */
		resize(m, grown(m, off + len, len, true));
	memcpy(m->shadow + off, m->buf, len);
}

static void op_truncate(struct model *m, struct src *s)
{
	size_t size = get_off(s);
	int rc = mmf_truncate(m->f, size);

	if (m->ro) {
		expect_rc(m, "mmf_truncate read-only", rc, -EBADF);
		return;
	}
	expect_rc(m, "mmf_truncate", rc, 0);
	resize(m, size);
}

static void op_sync_range(struct model *m, struct src *s, bool huge)
{
	size_t off = get_off(s), len = get_off(s);
	int rc;

	if (huge)
		off = SIZE_MAX - off;
	rc = mmf_sync_range(m->f, off, len);
	expect_rc(m, "mmf_sync_range", rc,
		  off > m->size || len > m->size - off ? MMF_EOF : 0);
}

/* Open path as the model says: 0, or a return code the caller checks. */
static int open_handle(struct model *m, unsigned how, size_t init)
{
	int oflags = m->ro ? O_RDONLY : O_RDWR | (how & 4 ? O_TRUNC : 0), fd, rc;

	if (!(how & 2))
		return mmf_open(path, oflags, init, &m->opt, &m->f);
	fd = open(path, oflags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = mmf_open_fd(fd, init, !m->ro, &m->opt, &m->f);
	if (rc < 0)
		close(fd);
	return rc;
}

/* Close (a sync) and reopen read-write or read-only: exactly the shadow. */
static void op_reopen(struct model *m, struct src *s)
{
	unsigned how = get8(s);

	expect_rc(m, "mmf_close", mmf_close(m->f), 0);
	m->f = NULL;
	m->ro = how & 1;
	expect_rc(m, "reopen", open_handle(m, how & 2, 4096), 0);
	if (m->size == 0 && !m->ro)
		resize(m, 4096);	/* a found-empty file is sized by a writer */
	check_handle(m, true);
}

static void step(struct model *m, struct src *s)
{
	unsigned opc = get8(s) % 13;

	switch (opc) {
	case 0: op_bytes(m, s, false); break;
	case 1: check_slice(m, get_off(s)); break;
	case 2: op_walk(m); break;
	case 3: op_reader(m, s); break;
	case 4: case 5: op_allocate(m, s); break;
	case 6: case 7: op_append(m, s); break;
	case 8: op_truncate(m, s); break;
	case 9: expect_rc(m, "mmf_sync", mmf_sync(m->f), 0); break;
	case 10: op_sync_range(m, s, get8(s) & 1); break;
	case 11: op_reopen(m, s); break;
	case 12: op_bytes(m, s, true); break;
	}
	check_handle(m, s->n == 0);
}

/* Write the initial contents, open the handle; 0, or -1 when the header
 * promises a refusal (checked here). */
static int start(struct model *m, struct src *s)
{
	unsigned how = get8(s), init;
	size_t len;
	int fd, rc;

	mmf_options_init(&m->opt);
	m->ro = how & 1;
	m->opt.grow = (enum mmf_grow)(how >> 3 & 3);
	m->opt.flags = how >> 5 & MMF_FLAGS_ALL;
	m->opt.grow_chunk = get16(s) + 1;
	m->opt.grow_max_step = get16(s) + 1;
	init = get16(s);
	len = get16(s);
	len = len < s->n ? len : s->n;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, s->p, len) != (ssize_t)len || close(fd) < 0)
		fail(m, "writing the initial file", -errno, 0);
	memcpy(m->shadow, s->p, len);
	s->p += len, s->n -= len;
	m->size = how & 4 && !m->ro ? 0 : len;	/* O_TRUNC (writers only) */
	rc = open_handle(m, how, init);
	expect_rc(m, "open", rc, 0);
	if (m->size == 0 && !m->ro)
		resize(m, init);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	make_dir();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model *m;
	struct src s = { data, size };

	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m || !(m->shadow = calloc(1, ROOM)))
			abort();
	}
	m->op = 0;
	if (start(m, &s) == 0) {
		check_handle(m, true);
		for (m->op = 1; s.n > 0 && m->op <= 256; m->op++)
			step(m, &s);
		check_handle(m, true);
		expect_rc(m, "final mmf_close", mmf_close(m->f), 0);
	}
	m->f = NULL;
	return 0;
}
