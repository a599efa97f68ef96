/*
 * matrix.h - the operations, option variants and expected outcomes of the
 * fault matrix (test_matrix.c runs them, matrix_ops.c implements them).
 *
 * A scenario is one public operation under one option variant. Its fixture
 * is a directory with a file "f" whose first `base` bytes were written and
 * synced; some operations then rewrite the last page without syncing it (so
 * a sync has something to lose) or work on a second file "new".
 */
#ifndef MMF_MATRIX_H
#define MMF_MATRIX_H

#include "fault_util.h"
#include "mmapfile.h"

#include <stdbool.h>
#include <stddef.h>

#define MX_BASE   16384u	/* synced size of the fixture file */
#define MX_DIRTY  4096u		/* its last page, rewritten unsynced */
#define MX_REC    1000u		/* payload of the growing slice */
#define MX_LARGE  65532u	/* ... of the large one: 64 KiB with its
				 * prefix, whose fresh pages are written
				 * with zeros first (LARGE SLICES) */
#define MX_APPEND 6000u		/* ... of the growing append_buffer:
				 * >= MMF_APPEND_BY_WRITE, so a pwrite */
_Static_assert(MX_APPEND >= MMF_APPEND_BY_WRITE, "append by write(2)");
#define MX_NEW    8192u		/* size a new file is opened to */
#define MX_SHRINK 8292u		/* target of the shrinking truncate */
#define MX_GROWBY 5000u		/* the growing truncate adds this */
#define MX_CHUNK  65536u	/* grow_chunk of the CHUNK variant */
#define MX_MODEL  (1u << 17)	/* room for any size a scenario reaches */
#define MX_MAXSIZE (1u << 20)	/* max_size of the STABLE variant */

enum mx_op {
	OP_OPEN_CREATE, OP_OPEN_EXISTING, OP_OPEN_FD, OP_OPEN_FD_EMPTY,
	OP_ALLOCATE_SLICE, OP_ALLOCATE_LARGE, OP_APPEND_BUFFER, OP_APPEND_EMPTY,
	OP_TRUNCATE_GROW, OP_TRUNCATE_SHRINK, OP_TRUNCATE_ZERO,
	OP_SYNC, OP_SYNC_EMPTY, OP_SYNC_RANGE,
	OP_CLOSE, OP_CLOSE_EMPTY, OP_DELETE, OP_SYNC_DIR, OP_ADVISE,
	MX_NOPS
};

enum mx_variant {
	V_DEFAULT, V_EXACT, V_CHUNK, V_SEED, V_NORESERVE, V_POPULATE,
	V_SYNCGROW, V_ALLFLAGS,
	V_ADVISED,		/* defaults, the fixture handle advised RANDOM */
	V_STABLE,		/* defaults + MMF_STABLE, max_size MX_MAXSIZE */
	V_STABLE_SPARSE,	/* MMF_STABLE without MMF_RESERVE: a grow is
				 * ftruncate alone */
	MX_NVARIANTS
};

/* What an operation does to the handle it works on. */
enum mx_hclass {
	HC_OPENS,		/* produces a handle (open, open_fd) */
	HC_KEEPS,		/* works on the fixture handle, which stays */
	HC_FREES,		/* consumes the fixture handle (close, delete) */
	HC_NONE,		/* no handle (sync_dir) */
};

/* The outcome of a failure at one call of one point. */
enum mx_outcome {
	MX_FAILS,		/* -errno; the handle as before (or none) */
	MX_POISONS,		/* -errno; the handle poisoned with it */
	MX_SUCCEEDS,		/* 0: the failure was advisory */
	MX_COPY_FAILS,		/* -errno; the handle grown as on success,
				 * not poisoned, the bytes copied unspecified */
};

/* The subject file afterwards, reopened with a fresh handle. */
enum mx_fstate {
	F_ABSENT,		/* no such file */
	F_OLD,			/* the size before the operation */
	F_NEW,			/* the size the operation aims at */
	F_ZERO,			/* exists, empty */
};

struct mx_ctx {
	enum mx_op op;
	enum mx_variant v;
	mmf_options opt;
	char *dir, *path, *subject;
	mmf_file *f;		/* the fixture handle */
	mmf_file *opened;	/* what an open operation produced */
	int fd;			/* the caller's fd of the open_fd operations */
	int fds;		/* open descriptors before the fixture */
	size_t old_size, new_size, intact;
	unsigned char *before;	/* subject's image before the operation */
	unsigned char *model;	/* ... and after it succeeds */
};

struct mx_op_info {
	const char *name;
	unsigned variants;	/* bit per mx_variant it runs under */
	size_t base;		/* synced size of the fixture */
	bool dirty;		/* rewrite the last page unsynced */
	bool own_file;		/* works on "new", not on "f" */
	enum mx_hclass hclass;
	enum mx_fstate done;	/* the subject after success */
	int (*run)(struct mx_ctx *c);
};

extern const struct mx_op_info mx_ops[MX_NOPS];
extern const char *const mx_variant_name[MX_NVARIANTS];

/* Is op one of the growing writes (its variants matter)? */
bool mx_op_grows(enum mx_op op);

/* Options of a variant. */
void mx_options(enum mx_variant v, mmf_options *o);

/* Build the fixture of (op, v) with every point quiet; asserts on error. */
void mx_setup(struct mx_ctx *c, enum mx_op op, enum mx_variant v);
/* Release what is left and remove the directory; asserts no fd leaked. */
void mx_teardown(struct mx_ctx *c);

/* After the operation returned: check the handle (state, content, poison)
 * and release it, then reopen and check the subject file. */
void mx_check_after(struct mx_ctx *c, enum mx_outcome o, enum mx_fstate fs,
		    int err);
/* Check path reopened: state fs, `size` bytes, the first `intact` equal to
 * image, all of them when exact. */
void mx_check_file(const char *path, enum mx_fstate fs, size_t size,
		   const unsigned char *image, size_t intact, bool exact);

#endif
