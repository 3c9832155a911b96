/* SPDX-License-Identifier: MIT */
/* ring tests: a file cut under a mapped ring. */
#include "ring_test.h"

/* ---------------------------------------------------------------- truncation */

static void truncated(void)
{
	char path[256];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct shmk_ring *r = mk(path, sizeof(path), 65536, 0);
	struct shmk_ring_writer *w = local_writer(r, 5);
	static uint8_t buf[512];
	uint64_t tag = 0, head = 0;
	size_t got = 0;

	CU_ASSERT_EQUAL(shmk_ring_check(r), 0);
	CU_ASSERT_EQUAL(shmk_ring_writer_check(w), 0);
	CU_ASSERT_EQUAL(shmk_ring_check(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writer_check(NULL), -EINVAL);
	/* the hot path makes no fstat at all */
	CU_ASSERT_EQUAL(shmk_fault_set("fstat:1"), 0);
	for (int i = 0; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_ring_write(w, buf, 100), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_ring_read_message(r, &tag, buf, sizeof(buf), &got, 0), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);

	/* a peer cuts all but the header page: the wait's spin reads only
	 * the header, and the check before its first park (before the
	 * writers page is read) reports the cut */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(path, (off_t)page), 0);
	CU_ASSERT_EQUAL(shmk_ring_head(r, &head), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, head, 120ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &tag, buf, sizeof(buf), &got,
					       120ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_check(r), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_writer_check(w), SHMK_ETRUNCATED);
	/* the header too: closing touches nothing */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(path, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_check(r), SHMK_ETRUNCATED);
	/* closes say what they could not undo (token and slot stay) */
	CU_ASSERT_EQUAL(shmk_ring_writer_close(w), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_close(r), SHMK_ETRUNCATED);
	unlink(path);
}
H_REGISTER(truncated, 120, "ring.truncate.check", "ring.truncate.wait", "ring.truncate.close", "ring.truncate.hot-path");

static void truncated_parked(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct rfx f = rfx_new(65536, 0, 5, false);
	uint64_t head = 0;

	/* parked in wait when the peer cuts the file: the next wake-up (a
	 * slice of at most 50 ms) checks before it touches the writers page */
	pid_t pid = t_fork_truncator(f.path, (off_t)page);
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, &head), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, head, 120ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	rfx_close(&f);
}
H_REGISTER(truncated_parked, 120, "ring.truncate.wait");
