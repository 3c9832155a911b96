/* SPDX-License-Identifier: MIT */
/*
 * copy.c - the large copies of copy.h.  What they are chosen for: the
 * destination of a copy in was last read by the peer on the other CPU, the
 * source of a copy out was just written there, and a ring record's payload
 * starts 16 bytes into a record packed after the one before, so it lies 0,
 * 16, 32 or 48 bytes off a line while the caller's buffer is usually line
 * aligned.
 *
 * Measured with ring/copy_tput/4096 (ilv_ratio against the Lamport ring,
 * far placement, AMD EPYC (Zen 4), glibc 2.36, variants alternating in one
 * session; session 11's note):
 *   in:  memcpy (glibc)                               0.72-0.80
 *        rep movsb, destination aligned to 64 first   0.87-0.88
 *        non-temporal 16-byte stores, then sfence     0.82-0.84
 *        64-byte loop, prefetching for writing        0.43-0.47
 *        rep movsb from the first byte                0.92-0.96
 *   out (writer on rep movsb):
 *        64-byte loop                                 0.92-0.96
 *        rep movsb                                    0.88-0.90
 * In session 12, also far: 64-byte vector loops with aligned plain stores
 * 0.48 (each line fetched from the reader before it is written), the same
 * with 64-byte non-temporal stores 0.61, rep movsq as rep movsb; and for
 * the plain Lamport ring (slot and buffer both line aligned) glibc's
 * memcpy out 2.27-2.40 M records/s against 2.14-2.23 for the loop.  The
 * bench's Lamport floors copy with glibc's memcpy, not with these: with
 * rep movsb in, the plain floor ran 3-5 % faster in some runs and 16-22 %
 * slower in others (1.47-1.50 against 1.78-1.88 M/s) while the ring, on
 * this copy, did not slow down (bench/README.md, floors.{c,h}).
 * Below SHMK_COPY_LARGE the callers' memcpy stays: at 1024 bytes rep movsb
 * in read 3.08-3.18 M records/s against memcpy's 2.43-2.48 in three far
 * runs, but 1.04x (noise 0.015) in a far bench-ab and 0.947x (noise 0.06)
 * in a close one; at 256 bytes the runs were too few to tell, at 64 bytes
 * no difference.  The copy out was measured at 4 KiB only.
 */
#include <stdint.h>
#include <string.h>

#include "copy.h"
#include "internal.h"

/* Inline asm is not instrumented: sanitizer builds tell their runtime
 * about the two ranges, as its memcpy interceptor would, so the copy they
 * test is the one every build runs. */
#if defined(__has_feature)
#define COPY_HAS_FEATURE(f) __has_feature(f)
#else
#define COPY_HAS_FEATURE(f) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || COPY_HAS_FEATURE(address_sanitizer)
void __asan_loadN(void *p, size_t n);
void __asan_storeN(void *p, size_t n);
#define COPY_SAN_RANGES(d, s, n) (__asan_loadN((void *)(s), (n)), __asan_storeN((d), (n)))
#elif defined(__SANITIZE_THREAD__) || COPY_HAS_FEATURE(thread_sanitizer)
void __tsan_read_range(void *p, unsigned long n);
void __tsan_write_range(void *p, unsigned long n);
#define COPY_SAN_RANGES(d, s, n) (__tsan_read_range((void *)(s), (n)), __tsan_write_range((d), (n)))
#else
#define COPY_SAN_RANGES(d, s, n) ((void)0)
#endif

/* rep movsb writes whole lines without fetching them first from the
 * reader's cache, which is what counts here; where CPUID has no ERMS
 * (enhanced rep movsb) it is slow, and memcpy is used. */
void shmk__copy_in(void *restrict dst, const void *restrict src, size_t n)
{
#if defined(__x86_64__)
	if (shmk__erms) {
		COPY_SAN_RANGES(dst, src, n);
		/* the direction flag is clear at every call (the ABI) */
		__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
		return;
	}
#endif
	memcpy(dst, src, n);
}

/* From 2112 bytes on, glibc 2.36 copies with rep movsb, which on AMD Zen
 * is slow when source and destination lie differently against a line
 * (glibc BZ 30994; 2.39 stopped preferring it there), as three in four
 * ring payloads do: a 64-byte loop instead.  Taking memcpy for the fourth,
 * whose two ends lie alike, lost: ring/reserve_tput/4096 0.911x in
 * bench-ab (noise 0.02), 2.3-3.9 M/s against 3.1-4.0 alternating. */
void shmk__copy_out(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		__builtin_memcpy(d + i, s + i, 64);
		/* keeps the compiler from turning the loop back into a call
		 * to memcpy (loop distribution) */
		__asm__ volatile("" : : "r"(d + i) : "memory");
	}
	if (i < n)
		memcpy(d + i, s + i, n - i);
}
