/* SPDX-License-Identifier: MIT */
/* The one PRNG, the one checksum and the one message scheme (support.h). */
#include <string.h>

#include "support.h"

uint64_t t_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t t_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Built before main(), so threads (the *_tsan programs) never race to build it. */
static uint32_t crc_table[256];

__attribute__((constructor)) static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t t_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

size_t t_msg_fill(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq, uint64_t *rng)
{
	uint32_t len = T_MSG_HDR + (uint32_t)(t_rand(rng) % (max - T_MSG_HDR + 1));

	memcpy(buf, &prod, 4);
	memcpy(buf + 4, &len, 4);
	memcpy(buf + 8, &seq, 8);
	for (uint32_t i = T_MSG_HDR; i < len; i += 8) {
		uint64_t r = t_rand(rng);
		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
	uint32_t crc = t_crc32(0, buf, 16);
	crc = t_crc32(crc, buf + T_MSG_HDR, len - T_MSG_HDR);
	memcpy(buf + 16, &crc, 4);
	return len;
}

size_t t_msg_make(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq, uint64_t seed)
{
	uint64_t rng = seed ^ ((uint64_t)prod << 40) ^ (seq * 0x9e3779b97f4a7c15ULL) ^ 1;

	return t_msg_fill(buf, max, prod, seq, &rng);
}

int t_msg_check(const uint8_t *buf, size_t n, uint32_t *prod, uint64_t *seq)
{
	uint32_t len, crc;

	if (n < T_MSG_HDR)
		return -1;
	memcpy(prod, buf, 4);
	memcpy(&len, buf + 4, 4);
	memcpy(seq, buf + 8, 8);
	memcpy(&crc, buf + 16, 4);
	if (len != n)
		return -1;
	uint32_t c = t_crc32(0, buf, 16);
	c = t_crc32(c, buf + T_MSG_HDR, len - T_MSG_HDR);
	return c == crc ? 0 : -1;
}
