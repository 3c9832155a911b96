/* SPDX-License-Identifier: MIT */
/* ring tests: bad arguments and exact buffers on the record paths. */
#include <stdlib.h>

#include "ring_test.h"

/* Every hot entry point refuses a NULL handle, out-parameter or buffer
 * with -EINVAL, and changes nothing. */
static void api_args(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 3, false);
	struct iovec v = { "x", 1 };
	uint64_t u = 0, t = 0;
	size_t n = 0;
	void *p;
	char buf[8];

	CU_ASSERT_EQUAL(shmk_ring_write(NULL, "x", 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writev(NULL, &v, 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_reserve(NULL, 8, &p), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_reserve(f.w, 8, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_commit(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_head(NULL, &u), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_capacity(NULL, &u), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_read_message(NULL, &t, buf, sizeof(buf), &n, 0), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, NULL, 8, &n, 0), -EINVAL);
	/* nothing was written by the refused calls */
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, &u), 0);
	CU_ASSERT_EQUAL(u, 0);
	/* a NULL buffer of no bytes is an empty record, both ways */
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, NULL, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, NULL, 0, &n, 0), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(t, 3);
	rfx_close(&f);
}
H_REGISTER(api_args, 20, "ring.api.args");

/* Messages of 1..24 bytes written from buffers of exactly their size
 * (ASan catches a copy by words that reads past the end) and read into
 * buffers of exactly their size with guard bytes after (a copy by words
 * that writes past n changes them); one byte short is refused with the
 * record left in place. */
static void exact_buffers(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 9, false);
	uint64_t t = 0;
	size_t got = 0;

	for (size_t n = 1; n <= 24; n++) {
		uint8_t *src = malloc(n), *dst = malloc(n + 16);
		CU_ASSERT_FATAL(src && dst);
		fill(src, n, 9, n);
		CU_ASSERT_EQUAL(shmk_ring_write(f.w, src, n), 0);
		memset(dst, 0xA5, n + 16);
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, dst, n - 1, &got, 0), SHMK_EBUFSMALL);
		CU_ASSERT_EQUAL(got, n);
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, dst, n, &got, 0), 0);
		CU_ASSERT_EQUAL(got, n);
		CU_ASSERT(check(dst, n, 9, n));
		int guard = 0;
		for (size_t i = n; i < n + 16; i++)
			guard += dst[i] != 0xA5;
		CU_ASSERT_EQUAL(guard, 0);
		free(src);
		free(dst);
	}
	rfx_close(&f);
}
H_REGISTER(exact_buffers, 20, "ring.reader.read_message");
