/*
 * test_verify.c - the crash verifier passes what it must pass (any garbage
 * after the last acknowledged record) and catches what it must catch (an
 * acknowledged record, creation, deletion, directory marker or shrunk size
 * that did not survive).
 */
#define _GNU_SOURCE
#include "record.h"
#include "verify.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define PER_FILE 20u

struct fx {
	char dir[64];
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	strcpy(x->dir, "/tmp/mmf_crash_verify_XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char path[PATH_MAX];
	unsigned k;

	for (k = 1; k <= 64; k++) {
		crash_file_name(path, sizeof(path), x->dir, k);
		(void)unlink(path);
		crash_mark_name(path, sizeof(path), x->dir, k);
		(void)unlink(path);
	}
	assert_int_equal(rmdir(x->dir), 0);
	free(x);
	return 0;
}

static void append_bytes(const struct fx *x, unsigned k, const void *p,
			 size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	crash_file_name(path, sizeof(path), x->dir, k);
	f = fopen(path, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Append record seq (as mmf_allocate_slice lays it out) to file k. */
static void append_record(const struct fx *x, unsigned k, uint64_t seq)
{
	unsigned char buf[4 + CRASH_PAYLOAD_MAX];
	size_t len = crash_payload_len(seq);

	buf[0] = 0;
	buf[1] = 0;
	buf[2] = (unsigned char)(len >> 8);
	buf[3] = (unsigned char)len;
	crash_record_fill(seq, buf + 4);
	append_bytes(x, k, buf, 4 + len);
}

/* Records 1..n in their files (files 1..file_of(n) created). */
static void write_log(const struct fx *x, uint64_t n)
{
	uint64_t s;

	for (s = 1; s <= n; s++)
		append_record(x, crash_file_of(s, PER_FILE), s);
}

static int verify(const struct fx *x, uint64_t acked, unsigned created,
		  unsigned deleted, struct crash_report *r)
{
	struct crash_expect e = { acked, created, deleted, deleted, PER_FILE,
				  0, 0, 0 };
	FILE *devnull = fopen("/dev/null", "w");
	int rc = crash_verify(x->dir, &e, r);

	assert_non_null(devnull);
	crash_report_print(&e, r, devnull);	/* must not crash either */
	fclose(devnull);
	return rc;
}

static void test_record_crc32c_known_value(void **state)
{
	(void)state;
	assert_int_equal(crash_crc32c(0, "123456789", 9), 0xe3069283u);
}

static void test_record_roundtrip_and_mismatch(void **state)
{
	unsigned char p[CRASH_PAYLOAD_MAX];
	size_t len = crash_payload_len(7);

	(void)state;
	crash_record_fill(7, p);
	assert_int_equal(crash_record_check(7, p, len), CRASH_OK);
	assert_int_not_equal(crash_record_check(8, p, len), CRASH_OK);
	assert_int_equal(crash_record_check(7, p, len - 1), CRASH_BAD_LEN);
	p[len - 1] ^= 1;
	assert_int_equal(crash_record_check(7, p, len), CRASH_BAD_CRC);
}

static void test_verify_clean_log_ok(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 50);
	assert_int_equal(verify(x, 50, 3, 0, &r), 0);
	assert_int_equal(r.violations, 0);
	assert_int_equal(r.present, 50);
	assert_int_equal(r.files, 3);
	assert_int_equal(r.acks_checked, 50 + 3);
	assert_string_equal(r.detail, "-");
}

static void test_verify_nothing_acked_empty_dir_ok(void **state)
{
	struct crash_report r;

	assert_int_equal(verify(*state, 0, 0, 0, &r), 0);
	assert_int_equal(r.files, 0);
}

/* Garbage after the last acknowledged record: a clean verdict. */
static void test_verify_garbage_tails_ok(void **state)
{
	static const unsigned char torn[] = { 0x00, 0x01 };
	static const unsigned char past_end[] = { 0x7f, 0xff, 0xff, 0xff, 1, 2 };
	static const unsigned char huge[] = { 0xff, 0xff, 0xff, 0xff };
	static const unsigned char wrong_len[] = { 0, 0, 0, 3, 1, 2, 3 };
	unsigned char zeros[4096] = {0}, half[4 + CRASH_PAYLOAD_MAX];
	struct fx *x = *state;
	struct crash_report r;
	unsigned i;

	struct { const void *p; size_t n; } tails[] = {
		{ torn, sizeof(torn) }, { past_end, sizeof(past_end) },
		{ huge, sizeof(huge) }, { wrong_len, sizeof(wrong_len) },
		{ zeros, sizeof(zeros) }, { half, 0 },
	};
	half[0] = 0;
	half[1] = 0;
	half[2] = (unsigned char)(crash_payload_len(46) >> 8);
	half[3] = (unsigned char)crash_payload_len(46);
	crash_record_fill(46, half + 4);
	tails[5].p = half;
	tails[5].n = 4 + crash_payload_len(46) / 2;

	write_log(x, 45);	/* file 3 holds 41..45 */
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		append_bytes(x, 3, tails[i].p, tails[i].n);
		assert_int_equal(verify(x, 45, 3, 0, &r), 0);
		assert_int_equal(r.present, 45);
	}
}

/* A record after the acknowledged ones that is valid but out of order (a
 * different seq) just ends the walk. */
static void test_verify_unacked_wrong_seq_tail_ok(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 43);
	append_record(x, 3, 7);
	assert_int_equal(verify(x, 43, 3, 0, &r), 0);
	assert_int_equal(r.present, 43);
}

/* Random tails of random length, many times: never a crash, always ok. */
static void test_verify_random_tails_ok(void **state)
{
	struct fx *x = *state;
	struct crash_report r;
	unsigned char junk[600];
	unsigned i, j, seed = 12345;
	size_t n;

	write_log(x, 41);
	for (i = 0; i < 300; i++) {
		n = (size_t)(rand_r(&seed) % (int)sizeof(junk));
		for (j = 0; j < n; j++)
			junk[j] = (unsigned char)rand_r(&seed);
		if (n >= 4 && (i & 1))
			junk[0] = junk[1] = 0;	/* plausible small length */
		append_bytes(x, 3, junk, n);
		assert_int_equal(verify(x, 41, 3, 0, &r), 0);
		assert_int_equal(r.violations, 0);
	}
}

static void test_verify_acked_record_missing_is_violation(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 45);
	assert_int_equal(verify(x, 46, 3, 0, &r), 1);
	assert_int_equal(r.violations, 1);
	assert_non_null(strstr(r.detail, "acked-seq=46:missing:eof"));
}

static void test_verify_acked_record_corrupt_is_violation(void **state)
{
	struct fx *x = *state;
	struct crash_report r;
	char path[PATH_MAX];
	FILE *f;
	int c;

	write_log(x, 45);
	crash_file_name(path, sizeof(path), x->dir, 2);
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 40, SEEK_SET), 0);	/* inside record 21 */
	c = fgetc(f);
	assert_int_equal(fseek(f, 40, SEEK_SET), 0);
	fputc(c ^ 0x10, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(verify(x, 45, 3, 0, &r), 1);
	assert_non_null(strstr(r.detail, "acked-seq=21:missing:crc"));
	/* Only 20 records of file 2 lost from 21: the walk stops there. */
	assert_int_equal(r.present, 20 + 5);
}

static void test_verify_acked_records_out_of_order_is_violation(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 40);
	append_record(x, 3, 42);
	append_record(x, 3, 41);
	assert_int_equal(verify(x, 42, 3, 0, &r), 1);
	assert_non_null(strstr(r.detail, "acked-seq=41:missing"));
}

static void test_verify_acked_created_file_missing_is_violation(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 40);	/* files 1, 2; file 3 acked created, never made */
	assert_int_equal(verify(x, 40, 3, 0, &r), 1);
	assert_non_null(strstr(r.detail, "file=3:acked-created:missing"));
}

static void test_verify_acked_deleted_file_present_is_violation(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 45);
	assert_int_equal(verify(x, 45, 3, 1, &r), 1);
	assert_non_null(strstr(r.detail, "file=1:acked-deleted:present"));
}

static void test_verify_deleted_files_gone_ok(void **state)
{
	struct fx *x = *state;
	struct crash_report r;
	char path[PATH_MAX];

	write_log(x, 45);
	crash_file_name(path, sizeof(path), x->dir, 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(verify(x, 45, 3, 1, &r), 0);
	assert_int_equal(r.files, 2);
}

/* A kill inside mmf_delete can leave the file truncated but not unlinked:
 * fine once its deletion began (DELETING), a violation before. */
static void test_verify_deletion_begun_file_may_be_empty(void **state)
{
	struct crash_expect e = { 45, 3, 0, 1, PER_FILE, 0, 0, 0 };
	struct fx *x = *state;
	struct crash_report r;
	char path[PATH_MAX];

	write_log(x, 45);
	crash_file_name(path, sizeof(path), x->dir, 1);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(crash_verify(x->dir, &e, &r), 0);
	assert_int_equal(r.files, 2);
	e.deleting = 0;
	assert_int_equal(crash_verify(x->dir, &e, &r), 1);
	assert_non_null(strstr(r.detail, "acked-seq=1:missing:eof"));
	e.deleted = 1;
	assert_int_equal(crash_verify(x->dir, &e, &r), -22);
}

static void test_verify_ack_before_create_is_violation(void **state)
{
	struct fx *x = *state;
	struct crash_report r;

	write_log(x, 45);
	assert_int_equal(verify(x, 45, 2, 0, &r), 1);
	assert_non_null(strstr(r.detail, "before-its-file-was-created"));
}

/* Markers 1..marks (DIR k: mmf_sync_dir returned 0) must exist. */
static void test_verify_acked_marker_missing_is_violation(void **state)
{
	struct crash_expect e = { 45, 3, 0, 0, PER_FILE, 3, 0, 0 };
	struct fx *x = *state;
	struct crash_report r;
	char path[PATH_MAX];
	unsigned k;
	FILE *f;

	write_log(x, 45);
	for (k = 1; k <= 2; k++) {
		crash_mark_name(path, sizeof(path), x->dir, k);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(crash_verify(x->dir, &e, &r), 1);
	assert_non_null(strstr(r.detail, "mark=3:acked-sync-dir:missing"));
	e.marks = 2;
	assert_int_equal(crash_verify(x->dir, &e, &r), 0);
	assert_int_equal(r.acks_checked, 45 + 3 + 2);
}

/* ACK truncate k size: file k is exactly size bytes, unless its deletion
 * began. */
static void test_verify_acked_shrink_size(void **state)
{
	struct crash_expect e = { 45, 3, 0, 0, PER_FILE, 0, 2, 0 };
	struct fx *x = *state;
	struct crash_report r;
	char path[PATH_MAX];
	unsigned char zeros[4096] = {0};
	struct stat st;

	write_log(x, 45);
	crash_file_name(path, sizeof(path), x->dir, 2);
	assert_int_equal(stat(path, &st), 0);
	e.shrunk_size = (uint64_t)st.st_size;
	assert_int_equal(crash_verify(x->dir, &e, &r), 0);
	assert_int_equal(r.acks_checked, 45 + 3 + 1);
	/* the shrink was lost: the old, larger size (zeros after the records) */
	append_bytes(x, 2, zeros, sizeof(zeros));
	assert_int_equal(crash_verify(x->dir, &e, &r), 1);
	assert_non_null(strstr(r.detail, "acked-shrink-size="));
	e.deleting = 2;		/* its deletion began: anything goes */
	assert_int_equal(crash_verify(x->dir, &e, &r), 0);
}

static void test_verify_bad_expectation_einval(void **state)
{
	struct crash_expect e = { 1, 1, 0, 0, 0, 0, 0, 0 };
	struct crash_report r;
	struct fx *x = *state;

	assert_int_equal(crash_verify(x->dir, &e, &r), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_crc32c_known_value),
		cmocka_unit_test(test_record_roundtrip_and_mismatch),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_verify_clean_log_ok),
		T(test_verify_nothing_acked_empty_dir_ok),
		T(test_verify_garbage_tails_ok),
		T(test_verify_unacked_wrong_seq_tail_ok),
		T(test_verify_random_tails_ok),
		T(test_verify_acked_record_missing_is_violation),
		T(test_verify_acked_record_corrupt_is_violation),
		T(test_verify_acked_records_out_of_order_is_violation),
		T(test_verify_acked_created_file_missing_is_violation),
		T(test_verify_acked_deleted_file_present_is_violation),
		T(test_verify_deleted_files_gone_ok),
		T(test_verify_deletion_begun_file_may_be_empty),
		T(test_verify_ack_before_create_is_violation),
		T(test_verify_acked_marker_missing_is_violation),
		T(test_verify_acked_shrink_size),
		T(test_verify_bad_expectation_einval),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
