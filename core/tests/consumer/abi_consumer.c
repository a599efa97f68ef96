/*
 * abi_consumer.c - a program built against the header and shared library of
 * an older release (core/tests/abi_check.sh builds it from that release's
 * tree) and run against the current libmmapfile.so: the ABI check.
 *
 * It uses only calls and caller-declared structs of libmmapfile 0.1.0
 * (mmf_options, mmf_stats, mmf_reader) and checks what each call returns,
 * so a layout or meaning change that old binaries would see fails here.
 * Exit 0 when every check held; 1 with the failing check named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <mmapfile.h>

static int failed(const char *what, int rc)
{
	printf("abi_consumer: FAIL %s (%d: %s)\n", what, rc, mmf_strerror(rc));
	return 1;
}

#define CHECK(cond, what, rc) \
	do { if (!(cond)) return failed(what, rc); } while (0)

int main(int argc, char **argv)
{
	char buf[16], empty[4200];
	const void *p;
	/* mmf_options as 0.1 laid it out, then a canary: a library that
	 * wrote a later, larger mmf_options would overwrite it. */
	struct {
		mmf_options o;
		unsigned char canary[64];
	} ob;
	mmf_options o;
	mmf_stats st;
	mmf_reader r;
	mmf_file *f;
	uint32_t n;
	size_t next;
	void *out;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: abi_consumer FILE\n");
		return 2;
	}
	snprintf(empty, sizeof(empty), "%s.empty", argv[1]);
	memset(&ob, 0xa5, sizeof(ob));
	mmf_options_init(&ob.o);
	for (size_t i = 0; i < sizeof(ob.canary); i++)
		CHECK(ob.canary[i] == 0xa5, "mmf_options_init writes past the 0.1 struct", (int)i);
	memset(&ob, 0xa5, sizeof(ob));
	mmf_options_seed(&ob.o);
	CHECK(ob.canary[0] == 0xa5 && ob.o.grow == MMF_GROW_SEED,
	      "mmf_options_seed writes past the 0.1 struct", 0);
	mmf_options_init(&o);
	CHECK(o.grow == MMF_GROW_DOUBLE && o.grow_max_step == (size_t)1 << 30 &&
	      o.grow_chunk == (size_t)64 << 20 && o.flags == MMF_RESERVE &&
	      o.mode == 0666, "mmf_options_init fills the 0.1 layout", 0);
	o.grow = MMF_GROW_CHUNK;
	o.grow_chunk = 8192;
	rc = mmf_open(argv[1], O_RDWR | O_CREAT | O_EXCL, 4096, &o, &f);
	CHECK(rc == 0 && mmf_size(f) == 4096, "mmf_open creates and sizes", rc);
	rc = mmf_allocate_slice(f, 5, 0, &out, &next);
	CHECK(rc == 0 && next == 9, "mmf_allocate_slice", rc);
	memcpy(out, "hello", 5);
	rc = mmf_append_buffer(f, 5000, "world", 5);
	CHECK(rc == 0 && mmf_size(f) == 8192, "append grows by the chunk option", rc);
	rc = mmf_sync_range(f, 0, 9);
	CHECK(rc == 0, "mmf_sync_range", rc);
	memset(&st, 0xff, sizeof(st));
	mmf_stats_get(f, &st);
	CHECK(st.grows == 2 && st.syncs == 1 && st.bytes_grown == 8192 &&
	      st.bytes_reserved == 8192 && st.shrinks == 0,
	      "mmf_stats_get fills the 0.1 layout", (int)st.grows);
	mmf_reader_init(&r, f, 5000);
	CHECK(mmf_reader_read(&r, buf, 5) == 5 && memcmp(buf, "world", 5) == 0,
	      "mmf_reader", 0);
	rc = mmf_close(f);
	CHECK(rc == 0, "mmf_close", rc);
	rc = mmf_open(argv[1], O_RDONLY, 0, NULL, &f);
	CHECK(rc == 0 && mmf_size(f) == 8192, "reopen read-only", rc);
	rc = mmf_slice(f, 0, &p, &n);
	CHECK(rc == 0 && n == 5 && memcmp(p, "hello", 5) == 0, "mmf_slice", rc);
	CHECK(mmf_bytes(f, 8192, 1, &p) == MMF_EOF, "mmf_bytes past the end", 0);
	CHECK(mmf_truncate(f, 1) == -EBADF, "read-only truncate", 0);
	rc = mmf_delete(f);
	CHECK(rc == 0 && access(argv[1], F_OK) != 0, "mmf_delete (read-only)", rc);
	/* 0.1 documents O_RDONLY | O_CREAT: an empty file, left empty. */
	rc = mmf_open(empty, O_RDONLY | O_CREAT, 4096, NULL, &f);
	CHECK(rc == 0 && mmf_size(f) == 0, "read-only O_CREAT", rc);
	CHECK(mmf_close(f) == 0 && unlink(empty) == 0, "close, unlink", 0);
	CHECK(mmf_open(argv[1], O_WRONLY, 0, NULL, &f) == -EINVAL, "O_WRONLY", 0);
	printf("abi_consumer: every 0.1 call behaved as documented\n");
	return 0;
}
