/* record.c - record format of the crash workload (see record.h). */
#include "record.h"

#include <stdio.h>
#include <string.h>

uint32_t crash_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* splitmix64: the derived bytes of a record. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

size_t crash_payload_len(uint64_t seq)
{
	if (seq % CRASH_BIG_EVERY == 0)
		return CRASH_HDR + CRASH_BIG_MIN +
		       (size_t)(mix(seq) % (CRASH_BIG_MAX - CRASH_BIG_MIN + 1));
	return CRASH_HDR + 4 + (size_t)(mix(seq) % (CRASH_BODY_MAX - 3));
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void body_fill(uint64_t seq, unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(mix(seq * 1000003u + i / 8) >> (8 * (i % 8)));
}

static uint32_t record_crc(const unsigned char *p, size_t len)
{
	uint32_t c = crash_crc32c(0, p, 8);

	return crash_crc32c(c, p + CRASH_HDR, len - CRASH_HDR);
}

void crash_record_fill(uint64_t seq, unsigned char *p)
{
	size_t len = crash_payload_len(seq);

	put_le(p, seq, 8);
	body_fill(seq, p + CRASH_HDR, len - CRASH_HDR);
	put_le(p + 8, record_crc(p, len), 4);
}

enum crash_bad crash_record_check(uint64_t seq, const unsigned char *p,
				  size_t len)
{
	unsigned char want[CRASH_PAYLOAD_MAX];

	if (len != crash_payload_len(seq))
		return CRASH_BAD_LEN;
	if (get_le(p, 8) != seq)
		return CRASH_BAD_SEQ;
	if (get_le(p + 8, 4) != record_crc(p, len))
		return CRASH_BAD_CRC;
	crash_record_fill(seq, want);
	return memcmp(want, p, len) ? CRASH_BAD_BODY : CRASH_OK;
}

const char *crash_bad_name(enum crash_bad why)
{
	static const char *const names[] = {
		"ok", "zero", "eof", "past-end", "len", "seq", "crc", "body",
	};

	return (unsigned)why < sizeof(names) / sizeof(names[0]) ? names[why] : "?";
}

unsigned crash_file_of(uint64_t seq, unsigned per_file)
{
	return (unsigned)((seq - 1) / per_file) + 1;
}

int crash_file_name(char *buf, size_t n, const char *dir, unsigned k)
{
	return snprintf(buf, n, "%s/wal-%06u.log", dir, k);
}

int crash_mark_name(char *buf, size_t n, const char *dir, unsigned k)
{
	return snprintf(buf, n, "%s/mark-%06u", dir, k);
}
