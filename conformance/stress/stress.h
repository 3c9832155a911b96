/* SPDX-License-Identifier: MIT */
/*
 * stress.h - helpers every conformance/stress/<module>_<what>.c program
 * shares (header-only, so stress.mk needs no extra object):
 *
 *   - knobs: STRESS_SECONDS (time bound, default 3 s: the short run `make
 *     check` does), STRESS_MESSAGES (count bound; each program names its
 *     own default, the `make stress` target raises the time bound so the
 *     count bound ends the run);
 *   - a seeded xorshift generator (seed from h_seed(): printed, SHMK_SEED
 *     replays) and CRC-32 for per-message checksums;
 *   - the result record: one JSON object per program written to
 *     $SHMK_STRESS_JSON when set (stress.mk collects them into
 *     reports/out/stress.json, schema shmkit.stress/1), and the closing
 *     line `<prog>: 1 passed, 0 failed, 0 skipped` that run-tests.sh reads.
 *     The seed is written as a decimal string: JSON readers such as jq
 *     round integers above 2^53, and a rounded seed replays nothing.
 */
#ifndef SHMK_STRESS_H
#define SHMK_STRESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static inline double st_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double st_seconds(void)
{
	const char *s = getenv("STRESS_SECONDS");
	double v = s && *s ? strtod(s, NULL) : 3.0;

	return v > 0 ? v : 3.0;
}

static inline uint64_t st_messages(uint64_t dflt)
{
	const char *s = getenv("STRESS_MESSAGES");
	unsigned long long v = s && *s ? strtoull(s, NULL, 0) : 0;

	return v ? (uint64_t)v : dflt;
}

static inline uint64_t st_env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	unsigned long long v = s && *s ? strtoull(s, NULL, 0) : 0;

	return v ? (uint64_t)v : dflt;
}

/* xorshift64*: small, seedable, good enough for payload bytes and choices */
static inline uint64_t st_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline uint32_t st_crc32(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	const uint8_t *b = p;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* The result of one program: `counts` is a JSON object body such as
 * "\"sent\": 10, \"lost\": 0". */
static inline void st_report(const char *prog, uint64_t seed, double seconds, bool passed,
			     const char *counts_fmt, ...)
{
	const char *path = getenv("SHMK_STRESS_JSON");
	char counts[1024];
	va_list ap;

	va_start(ap, counts_fmt);
	vsnprintf(counts, sizeof(counts), counts_fmt, ap);
	va_end(ap);
	if (path && *path) {
		FILE *f = fopen(path, "a");
		if (f) {
			fprintf(f,
				"{\"program\": \"%s\", \"seed\": \"%llu\", \"seconds\": %.3f, "
				"\"counts\": {%s}, \"result\": \"%s\"}\n",
				prog, (unsigned long long)seed, seconds, counts,
				passed ? "pass" : "fail");
			fclose(f);
		}
	}
	printf("%s: %d passed, %d failed, 0 skipped\n", prog, passed ? 1 : 0, passed ? 0 : 1);
	fflush(stdout);
}

#endif
