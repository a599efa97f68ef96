/*
 * abi.h - symbol versions of libmmapfile.so (include before mmapfile.h).
 *
 * In the shared library (MMF_SHARED_ABI) the four calls whose mmf_options
 * grew in 0.2 are compiled under internal names and exported only as
 * name@@MMAPFILE_0.2, the default version (.symver at the end of
 * mmapfile.c); compat.c defines their name@MMAPFILE_0.1 versions for
 * binaries built against 0.1. A plain exported `mmf_open` would take the
 * first version node of mmapfile.map and shadow the compat one. The static
 * libraries keep the plain names.
 */
#ifndef MMF_ABI_H
#define MMF_ABI_H

#ifdef MMF_SHARED_ABI
#define mmf_options_init mmf__options_init_v02
#define mmf_options_seed mmf__options_seed_v02
#define mmf_open         mmf__open_v02
#define mmf_open_fd      mmf__open_fd_v02
#endif

#endif
