/*
 * compat.c - the 0.1 ABI of the shared library (only libmmapfile.so).
 *
 * mmf_options grew a field in 0.2 (max_size). Programs built against the
 * 0.1 header pass (and let mmf_options_init fill) the smaller 0.1 struct.
 * The version script (mmapfile.map) makes the 0.2 calls the default
 * versions (mmf_open@@MMAPFILE_0.2); the functions here are the
 * MMAPFILE_0.1 versions of the four calls that take mmf_options. An old
 * binary has unversioned references, which the dynamic linker binds to the
 * first version node, MMAPFILE_0.1: these. They copy the 0.1 fields to a
 * whole mmf_options (max_size at its default) and call the current code.
 * unit.abi runs a 0.1 consumer against this library.
 */
#define _GNU_SOURCE
#include "abi.h"	/* mmf_open here is the 0.2 one, mmf__open_v02 */
#include "mmapfile.h"

#include <errno.h>
#include <string.h>

/* The 0.1 layout of mmf_options. */
struct mmf_options_v01 {
	enum mmf_grow grow;
	size_t grow_max_step;
	size_t grow_chunk;
	unsigned flags;
	mode_t mode;
};

#define V01_FLAGS (MMF_RESERVE | MMF_POPULATE | MMF_SYNC_BEFORE_GROW)
#define COMPAT(name, ver) \
	__attribute__((visibility("default"), symver(#name "@" ver)))

/* *v = the 0.1 fields of what fill (mmf_options_init/_seed) gives. */
static void fill_v01(void (*fill)(mmf_options *), struct mmf_options_v01 *v)
{
	mmf_options o;

	fill(&o);
	v->grow = o.grow;
	v->grow_max_step = o.grow_max_step;
	v->grow_chunk = o.grow_chunk;
	v->flags = o.flags;
	v->mode = o.mode;
}

/* o = v's fields (or the defaults for NULL); -EINVAL for flags 0.1 did not
 * have (0.1 refused them too). */
static int from_v01(const struct mmf_options_v01 *v, mmf_options *o)
{
	mmf_options_init(o);
	if (!v)
		return 0;
	if (v->flags & ~V01_FLAGS)
		return -EINVAL;
	o->grow = v->grow;
	o->grow_max_step = v->grow_max_step;
	o->grow_chunk = v->grow_chunk;
	o->flags = v->flags;
	o->mode = v->mode;
	return 0;
}

void mmf__options_init_v01(struct mmf_options_v01 *v)
	COMPAT(mmf_options_init, "MMAPFILE_0.1");
void mmf__options_init_v01(struct mmf_options_v01 *v)
{
	fill_v01(mmf_options_init, v);
}

void mmf__options_seed_v01(struct mmf_options_v01 *v)
	COMPAT(mmf_options_seed, "MMAPFILE_0.1");
void mmf__options_seed_v01(struct mmf_options_v01 *v)
{
	fill_v01(mmf_options_seed, v);
}

int mmf__open_v01(const char *path, int oflags, size_t size,
		  const struct mmf_options_v01 *v, mmf_file **out)
	COMPAT(mmf_open, "MMAPFILE_0.1");
int mmf__open_v01(const char *path, int oflags, size_t size,
		  const struct mmf_options_v01 *v, mmf_file **out)
{
	mmf_options o;
	int rc = from_v01(v, &o);

	return rc < 0 ? rc : mmf_open(path, oflags, size, &o, out);
}

int mmf__open_fd_v01(int fd, size_t size, bool writable,
		     const struct mmf_options_v01 *v, mmf_file **out)
	COMPAT(mmf_open_fd, "MMAPFILE_0.1");
int mmf__open_fd_v01(int fd, size_t size, bool writable,
		     const struct mmf_options_v01 *v, mmf_file **out)
{
	mmf_options o;
	int rc = from_v01(v, &o);

	return rc < 0 ? rc : mmf_open_fd(fd, size, writable, &o, out);
}
