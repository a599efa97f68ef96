/*
 * stress_stable.c - one writer, several readers, one MMF_STABLE handle
 * (issue 14's concurrency contract, mmapfile.h "STABLE").
 *
 * The writer appends records with mmf_allocate_slice at a 256 KiB stride, so
 * the sparse file (no MMF_RESERVE) grows from 1 MiB to >= 1 GiB through
 * every growth policy in turn, and publishes each record's count with a
 * release store. Readers load the count (acquire) and verify every record
 * published since their last pass through mmf_slice (length, checksum),
 * re-verify the first record through the pointer they took at the start
 * (it must stay valid across every grow), read one record through an
 * mmf_reader, and check mmf_data never changes and mmf_size covers what
 * was published. Built with ThreadSanitizer by tsan_check.sh (CTest
 * stress.stable_tsan); any data race fails the run there.
 *
 * usage: stress_stable DIR [RECORDS]   (default 4096 records = 1 GiB)
 * Exit 0 when every check held, 1 on a violation, 2 on a usage error.
 */
#define _GNU_SOURCE
#include "mmapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STRIDE  (256u << 10)	/* bytes between record starts */
#define PAYLOAD 1016u		/* seq (8) + data + checksum (8) */
#define READERS 3

struct shared {
	mmf_file *f;
	void *base;
	size_t records;
	size_t published;	/* records written; atomic */
	int done;		/* atomic */
	unsigned long verified[READERS];
	int failed;		/* atomic */
};

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static void fill_record(unsigned char *p, uint64_t seq)
{
	uint64_t sum;

	memcpy(p, &seq, 8);
	for (size_t i = 8; i < PAYLOAD - 8; i++)
		p[i] = (unsigned char)(seq * 31 + i);
	sum = fnv1a(p, PAYLOAD - 8);
	memcpy(p + PAYLOAD - 8, &sum, 8);
}

static int record_ok(const unsigned char *p, uint64_t seq)
{
	uint64_t got_seq, sum;

	memcpy(&got_seq, p, 8);
	memcpy(&sum, p + PAYLOAD - 8, 8);
	return got_seq == seq && sum == fnv1a(p, PAYLOAD - 8);
}

static void fail(struct shared *s, const char *what, size_t i)
{
	fprintf(stderr, "stress_stable: FAIL %s (record %zu)\n", what, i);
	__atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
}

static void check_one(struct shared *s, size_t i, unsigned long *n)
{
	const void *p;
	uint32_t len;
	int rc = mmf_slice(s->f, (size_t)i * STRIDE, &p, &len);

	if (rc != 0 || len != PAYLOAD || !record_ok(p, i))
		fail(s, "published record unreadable or corrupt", i);
	++*n;
}

struct reader_arg {
	struct shared *s;
	int id;
};

static void *reader(void *arg)
{
	struct shared *s = ((struct reader_arg *)arg)->s;
	int id = ((struct reader_arg *)arg)->id;
	const void *first = NULL;
	size_t next = 0, pub;
	unsigned char buf[PAYLOAD];
	unsigned long n = 0;
	int done;
	uint32_t len;

	do {
		done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
		pub = __atomic_load_n(&s->published, __ATOMIC_ACQUIRE);
		if (mmf_data(s->f) != s->base)
			fail(s, "mmf_data moved", pub);
		if (pub > 0 && mmf_size(s->f) < (pub - 1) * (size_t)STRIDE + 4 + PAYLOAD)
			fail(s, "mmf_size short of what was published", pub);
		if (pub > 0 && !first && mmf_slice(s->f, 0, &first, &len) != 0)
			fail(s, "first record", 0);
		if (first && !record_ok(first, 0))
			fail(s, "pointer to the first record went bad", 0);
		for (; next < pub; next++)
			check_one(s, next, &n);
		if (pub > 1) {
			size_t i = (size_t)(n * 2654435761u) % pub;
			mmf_reader r;

			mmf_reader_init(&r, s->f, (size_t)i * STRIDE + 4);
			if (mmf_reader_read(&r, buf, PAYLOAD) != PAYLOAD ||
			    !record_ok(buf, i))
				fail(s, "mmf_reader read of a published record", i);
		}
	} while (!done && !__atomic_load_n(&s->failed, __ATOMIC_RELAXED));
	s->verified[id] = n;
	return NULL;
}

static int writer(struct shared *s)
{
	size_t next;
	void *p;
	int rc;

	for (size_t i = 0; i < s->records; i++) {
		rc = mmf_allocate_slice(s->f, PAYLOAD, (size_t)i * STRIDE, &p, &next);
		if (rc != 0) {
			fprintf(stderr, "stress_stable: append %zu: %s\n", i,
				mmf_strerror(rc));
			return 1;
		}
		fill_record(p, i);
		__atomic_store_n(&s->published, i + 1, __ATOMIC_RELEASE);
		if (i % 512 == 511 && (rc = mmf_sync_range(s->f, (size_t)i * STRIDE,
							    PAYLOAD + 4)) != 0) {
			fprintf(stderr, "stress_stable: sync: %s\n", mmf_strerror(rc));
			return 1;
		}
	}
	return 0;
}

/* One phase: a fresh stable file grown by `grow`, the writer in this thread
 * and READERS reader threads. 0 when every check held. */
static int phase(const char *dir, enum mmf_grow grow, size_t records)
{
	static const char *const name[] = { "double", "exact", "chunk", "seed" };
	struct reader_arg args[READERS];
	pthread_t tid[READERS];
	struct shared s;
	char path[4096];
	mmf_options o;
	mmf_stats st;
	unsigned long verified = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	s.records = records;
	snprintf(path, sizeof(path), "%s/stable-%s", dir, name[grow]);
	mmf_options_init(&o);
	o.flags = MMF_STABLE;		/* sparse: no MMF_RESERVE */
	o.grow = grow;
	o.grow_chunk = 4u << 20;
	o.grow_max_step = 64u << 20;
	o.max_size = (size_t)2 << 30;
	rc = mmf_open(path, O_RDWR | O_CREAT | O_TRUNC, 1u << 20, &o, &s.f);
	if (rc != 0) {
		fprintf(stderr, "stress_stable: open %s: %s\n", path, mmf_strerror(rc));
		return 1;
	}
	s.base = mmf_data(s.f);
	for (int i = 0; i < READERS; i++) {
		args[i] = (struct reader_arg){ &s, i };
		if (pthread_create(&tid[i], NULL, reader, &args[i]) != 0)
			return 1;
	}
	rc = writer(&s);
	__atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++) {
		pthread_join(tid[i], NULL);
		verified += s.verified[i];
	}
	mmf_stats_get(s.f, &st);
	printf("stress_stable: %-6s %zu records, file %zu MiB, %llu grows, "
	       "%llu moves, %lu reader verifications\n", name[grow], records,
	       mmf_size(s.f) >> 20, (unsigned long long)st.grows,
	       (unsigned long long)st.moves, verified);
	if (st.moves != 0 || mmf_data(s.f) != s.base)
		fail(&s, "the mapping moved", records);
	if (verified < (unsigned long)READERS * records)
		fail(&s, "readers verified fewer records than published", verified);
	if (mmf_delete(s.f) != 0)
		fail(&s, "delete", records);
	return rc != 0 || s.failed;
}

int main(int argc, char **argv)
{
	static const enum mmf_grow grows[] = {
		MMF_GROW_CHUNK, MMF_GROW_DOUBLE, MMF_GROW_EXACT, MMF_GROW_SEED,
	};
	size_t records = 4096;
	char *end;
	int bad = 0;

	bool help = argc == 2 && strcmp(argv[1], "--help") == 0;

	if (help || argc < 2 || argc > 3) {
		fprintf(help ? stdout : stderr,
			"usage: stress_stable DIR [RECORDS]\n"
			"one writer and %d readers on an MMF_STABLE handle per "
			"growth policy; RECORDS at a 256 KiB stride (default "
			"4096: a 1 GiB sparse file)\n", READERS);
		return help ? 0 : 2;
	}
	if (argc == 3) {
		errno = 0;
		records = strtoul(argv[2], &end, 10);
		if (errno || *end || records == 0 || records > 8000) {
			fprintf(stderr, "stress_stable: RECORDS must be 1..8000\n");
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof(grows) / sizeof(grows[0]); i++)
		bad |= phase(argv[1], grows[i], records);
	printf("stress_stable: %s\n", bad ? "FAIL" : "OK");
	return bad;
}
