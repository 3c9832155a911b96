/* SPDX-License-Identifier: MIT */
/* slots tests: sequence-number width, handle and read bounds, read_ptr, loans. */
#include "slots_test.h"

/* ------------------------------------------------------------ sequence numbers */

static void sn_wrap(void)
{
	char fl[256];
	struct shmk_slots *o;
	struct shmk_slots_opts opts = { .first_sn = UINT32_MAX - 3 };
	struct rd_arg a;
	const uint64_t n = 12;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(
		shmk_slots_create_opts(new_flink(fl, sizeof(fl)), 3, 64, &opts, &o), 0);
	a = (struct rd_arg){ .flink = fl, .slot = 0, .expect = n, .want_index = -1, .len = 20 };
	pid_t pid = t_fork_run(reader_proc, &a);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	uint64_t next = UINT32_MAX - 3;
	for (uint64_t k = 0; k < n; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, 20), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(sh->got[0], n);
	CU_ASSERT_EQUAL(sh->bad[0], 0);
	CU_ASSERT_EQUAL(sh->first_sn[0], (uint64_t)UINT32_MAX - 3);
	CU_ASSERT_EQUAL(sh->last_sn[0], (uint64_t)UINT32_MAX - 3 + n - 1);	/* past 2^32 */
	shmk_slots_close(o);

	/* near UINT64_MAX: exhaustion is refused, never wrapped */
	opts.first_sn = UINT64_MAX - 2;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create_opts(new_flink(fl, sizeof(fl)), 4, 64, &opts, &o),
			      0);
	shmk_slot_handle_t h;
	uint64_t sn = 0;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(sn, UINT64_MAX - 2);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(sn, UINT64_MAX - 1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o, h, 1, &sn, NULL), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	shmk_slots_close(o);
}
H_REGISTER(sn_wrap, 90, "slots.sn.width");

/* ------------------------------------------------------------ handles and reads */

static void handle_bounds(void)
{
	struct sfx f = sfx_new(3, 16, 0);
	shmk_slot_handle_t bad = { .index = 3 }, worse = { .index = UINT32_MAX };
	void *p;
	const void *cp;
	size_t n;
	uint64_t sn;
	char buf[8];

	shmk_slot_handle_t hs[2] = { bad, worse };
	for (int i = 0; i < 2; i++) {
		shmk_slot_handle_t h = hs[i];
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, "a", 1, &sn, NULL), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_commit_in_place(f.o, h, 1, &sn, NULL), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_discard_slot(f.o, h), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(f.o, h, &p, &n), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(f.r, h, &cp, &n), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_read_slot(f.r, h, buf, sizeof(buf), NULL), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, h, 0), SHMK_ERANGE);
	}
	sfx_close(&f);
}
H_REGISTER(handle_bounds, 20, "slots.handle.bounds");

static void read_bounds(void)
{
	shmk_slot_handle_t h, rh;
	uint64_t sn;
	size_t len, n;
	const void *cp;
	char buf[256];

	struct sfx f = sfx_new(2, 100, -1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, "abc", 3, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
	uint8_t *m = seg_map(f.o, &len);
	struct shmk_slot_hdr *sl = (void *)(m + 0x140 + (size_t)rh.index * 128);
	atomic_store(&sl->sample_size, 101);	/* capacity + 1: still inside the slot padding */
	CU_ASSERT_EQUAL(shmk_slots_read_slot(f.r, rh, buf, sizeof(buf), NULL), SHMK_EINTEGRITY);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(f.r, rh, &cp, &n), SHMK_EINTEGRITY);
	atomic_store(&sl->sample_size, UINT32_MAX);
	CU_ASSERT_EQUAL(shmk_slots_read_slot(f.r, rh, buf, sizeof(buf), NULL), SHMK_EINTEGRITY);
	atomic_store(&sl->sample_size, 100);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(f.r, rh, &cp, &n), 0);
	CU_ASSERT_EQUAL(n, 100);
	/* a short buffer gets EBUFSMALL with the size */
	struct shmk_slot_info info;
	CU_ASSERT_EQUAL(shmk_slots_read_slot(f.r, rh, buf, 10, &info), SHMK_EBUFSMALL);
	CU_ASSERT_EQUAL(info.sample_size, 100);
	munmap(m, len);
	sfx_close(&f);
}
H_REGISTER(read_bounds, 20, "slots.read.bounds");

static void read_ptr(void)
{
	shmk_slot_handle_t h, rh;
	uint64_t sn;
	const void *cp;
	size_t n;

	struct sfx f = sfx_new(1, 32, -1);
	/* nothing committed: the reserved slot has no sample */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(f.r, h, &cp, &n), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, "first", 5, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(f.r, rh, &cp, &n), 0);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(memcmp(cp, "first", 5), 0);
	/* the pointer is into the segment: the owner's mapping shows the same bytes */
	CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	/* recycled: the old handle is refused, not misread */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, "second", 6, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(f.r, rh, &cp, &n), SHMK_EEMPTY);
	char buf[8];
	CU_ASSERT_EQUAL(shmk_slots_read_slot(f.r, rh, buf, sizeof(buf), NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), SHMK_EEMPTY);
	sfx_close(&f);
}
H_REGISTER(read_ptr, 20, "slots.read.ptr");

/* Zero-copy loan: 1 MiB samples to a reader process; commit_in_place is
 * byte-for-byte commit_slot; loans stay with the owner's handle. */
static void loan(void)
{
	char fl[256], fl2[256];
	struct shmk_slots *o, *o2, *r;
	shmk_slot_handle_t h, h2;
	const size_t mib = 1 << 20;
	struct rd_arg a;
	void *p;
	size_t cap, la, lb;
	uint64_t sn, sn2;
	struct shmk_slots_toolarge tl = { 0 };

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 3, mib, &o), 0);
	a = (struct rd_arg){ .flink = fl, .slot = 0, .expect = 8, .want_index = -1, .len = mib };
	pid_t pid = t_fork_run(reader_proc, &a);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	uint64_t next = 1;
	for (int k = 0; k < 8; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, mib), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(sh->got[0], 8);
	CU_ASSERT_EQUAL(sh->bad[0], 0);
	/* too large: SampleTooLarge{sample, capacity} */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o, h, mib + 1, &sn, &tl), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(tl.sample, mib + 1);
	CU_ASSERT_EQUAL(tl.capacity, mib);
	tl.sample = 0;
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "", mib + 2, &sn, &tl), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(tl.sample, mib + 2);
	/* loans are the owner's: a reader handle gets -EPERM */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(r, h, &p, &cap), -EPERM);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(r, UINT32_MAX, &h2), -EPERM);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(r, h, 1, &sn, NULL), -EPERM);
	shmk_slots_close(r);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	/* a committed (not loaned) slot cannot be loaned again */
	CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(o, h, &p, &cap), -EINVAL);
	shmk_slots_close(o);

	/* byte-for-byte: two fresh segments, same steps, the two commit paths */
	uint8_t *src = malloc(mib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	fill(src, mib - 17, 99);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, mib, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl2, sizeof(fl2)), 2, mib, &o2), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o2, UINT32_MAX, &h2), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, src, mib - 17, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(o2, h2, &p, &cap), 0);
	CU_ASSERT_EQUAL(cap, mib);
	memcpy(p, src, mib - 17);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o2, h2, mib - 17, &sn2, NULL), 0);
	CU_ASSERT_EQUAL(sn, sn2);
	uint8_t *ma = seg_map(o, &la);
	uint8_t *mb = seg_map(o2, &lb);
	CU_ASSERT_EQUAL_FATAL(la, lb);
	CU_ASSERT_EQUAL(memcmp(ma, mb, la), 0);
	munmap(ma, la);
	munmap(mb, lb);
	free(src);
	shmk_slots_close(o);
	shmk_slots_close(o2);
}
H_REGISTER(loan, 120, "slots.loan.inplace");
