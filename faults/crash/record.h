/*
 * record.h - the records of the crash workload, shared by the writer, the
 * verifier and their tests.
 *
 * A log is a series of files DIR/wal-NNNNNN.log (N from 1). File k holds the
 * records with sequence numbers (k-1)*per_file+1 ... k*per_file, in order,
 * each one slice of mmf_allocate_slice (4-byte big-endian length, payload).
 * The payload of record `seq` is
 *
 *	u64 seq (little-endian) | u32 crc32c(seq bytes + body) | body
 *
 * where the body's length and bytes are derived from seq alone, so the
 * verifier can recompute every record without any state from the writer.
 */
#ifndef MMF_CRASH_RECORD_H
#define MMF_CRASH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define CRASH_HDR 12u			/* seq + crc */
#define CRASH_BODY_MAX 251u		/* body length is 4 ... CRASH_BODY_MAX */
/* Every CRASH_BIG_EVERY-th record (seq % it == 0) is big instead: a body
 * of CRASH_BIG_MIN ... CRASH_BIG_MAX bytes, so that the writer appends it
 * with mmf_append_buffer, whose records of MMF_APPEND_BY_WRITE bytes or
 * more go through pwrite(2), not the mapping. */
#define CRASH_BIG_EVERY 8u
#define CRASH_BIG_MIN 4096u
#define CRASH_BIG_MAX 12288u
#define CRASH_PAYLOAD_MAX (CRASH_HDR + CRASH_BIG_MAX)

/* Why a record does not check out (0: it does). */
enum crash_bad {
	CRASH_OK = 0,
	CRASH_BAD_ZERO,		/* a zero length prefix: the end of the log */
	CRASH_BAD_EOF,		/* the prefix passes the end of the file */
	CRASH_BAD_PAST_END,	/* the length points past the end of the file */
	CRASH_BAD_LEN,		/* the length is not the one of this seq */
	CRASH_BAD_SEQ,		/* another sequence number */
	CRASH_BAD_CRC,		/* the checksum does not match */
	CRASH_BAD_BODY,		/* the body is not the one derived from seq */
};

/* CRC32C (Castagnoli), reflected, init/final xor ~0: crc32c("123456789") =
 * 0xe3069283. Pass 0 to start. */
uint32_t crash_crc32c(uint32_t crc, const void *buf, size_t len);

/* The payload length of record seq: CRASH_HDR + body length. */
size_t crash_payload_len(uint64_t seq);

/* Write record seq's payload (crash_payload_len(seq) bytes) to p. */
void crash_record_fill(uint64_t seq, unsigned char *p);

/* Check that p[0, len) is exactly record seq's payload. */
enum crash_bad crash_record_check(uint64_t seq, const unsigned char *p,
				  size_t len);

/* A short name for a reason ("crc", "seq", ...). */
const char *crash_bad_name(enum crash_bad why);

/* The file (1-based) that holds record seq (seq >= 1). */
unsigned crash_file_of(uint64_t seq, unsigned per_file);

/* buf = DIR/wal-NNNNNN.log; returns snprintf's count. */
int crash_file_name(char *buf, size_t n, const char *dir, unsigned k);

/* buf = DIR/mark-NNNNNN, the empty marker the writer makes before creating
 * file k and makes durable with mmf_sync_dir; returns snprintf's count. */
int crash_mark_name(char *buf, size_t n, const char *dir, unsigned k);

#endif /* MMF_CRASH_RECORD_H */
