/* SPDX-License-Identifier: MIT */
/* slots tests: readers: index, registration, order of delivery, recycling, reuse, reaping, disconnect. */
#include "slots_test.h"

/* ------------------------------------------------------------ readers */

static void reader_index(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h = { 0 };
	unsigned idx;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(o, 32, &idx), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(o, 255, &idx), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(o, -2, &idx), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(o, 32, &h), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(o, UINT32_MAX, &h), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(o, h, 32), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(o, h, 1000), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(o, 32), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(o, 31, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(o, 31), 0);
	shmk_slots_close(o);
}
H_REGISTER(reader_index, 20, "slots.reader.index");

static int register_child(void *arg)
{
	struct shmk_slots *r;
	unsigned idx;
	int rc = shmk_slots_attach(arg, &r);

	if (rc)
		return 2;
	rc = shmk_slots_register_reader(r, 7, &idx);
	sh->rc[0] = rc;
	sh->token[0] = shmk_self_token();
	bump(&sh->ready);
	wait_value(&sh->go, 1, 20);
	/* no close: the process dies holding index 7 */
	return rc == 0 && idx == 7 ? 0 : 1;
}

static void reader_register(void)
{
	char fl[256];
	struct shmk_slots *o, *r[33];
	unsigned idx;
	size_t len;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	pid_t pid = t_fork_run(register_child, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 10), 0);
	CU_ASSERT_EQUAL(sh->rc[0], 0);
	/* the registry entry holds the child's token */
	struct shmk_slots_hdr *hd = seg_map(o, &len);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[7]), sh->token[0]);
	CU_ASSERT_NOT_EQUAL(sh->token[0], shmk_self_token());
	/* that index is held: EBUSY; any other: the first free one */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[0]), 0);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(r[0], 7, &idx), SHMK_EBUSY);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(r[0], -1, &idx), 0);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[0]), shmk_self_token());
	/* fill the other 30, then none is free */
	int n = 1;
	for (; n < 31; n++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[n]), 0);
		CU_ASSERT_EQUAL(shmk_slots_register_reader(r[n], -1, &idx), 0);
	}
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[n]), 0);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(r[n], -1, &idx), SHMK_EFULL);
	shmk_slots_close(r[n]);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	for (int i = 0; i < 31; i++)
		shmk_slots_close(r[i]);
	munmap(hd, len);
	shmk_slots_close(o);
}
H_REGISTER(reader_register, 30, "slots.reader.register");

/* Owner and three reader processes: every sample reaches every reader, in
 * order and intact, through 8 slots recycled many times. */
static void multi_reader(void)
{
	char fl[256];
	struct shmk_slots *o;
	struct rd_arg a[3];
	pid_t pid[3];
	const uint64_t n = 300;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 8, 200, &o), 0);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct rd_arg){ .flink = fl, .slot = i, .expect = n, .want_index = -1,
					.len = 150, .copy = i == 2 };
		pid[i] = t_fork_run(reader_proc, &a[i]);
	}
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 3, 20), 0);
	uint64_t next = 1;
	for (uint64_t k = 0; k < n; k++) {
		int rc = publish(o, &next, 150);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
	}
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(h_wait(pid[i], 60), 0);
		CU_ASSERT_EQUAL(sh->got[i], n);
		CU_ASSERT_EQUAL(sh->bad[i], 0);
		CU_ASSERT_EQUAL(sh->first_sn[i], 1);
		CU_ASSERT_EQUAL(sh->last_sn[i], n);
		CU_ASSERT_EQUAL(sh->rc[i], 0);
	}
	shmk_slots_close(o);
}
H_REGISTER(multi_reader, 120, "slots.publish.order+2", "slots.reuse.rule");

/* Delivery in sequence-number order after the slots wrapped around. */
static void delivery_order(void)
{
	shmk_slot_handle_t h, rh;
	uint64_t sn;

	struct sfx f = sfx_new(4, 16, -1);
	for (int k = 0; k < 4; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, &k, sizeof(k), &sn, NULL), 0);
	}
	/* read sn 1 and 2 (slots 0, 1), so the owner reuses slots 0 and 1 */
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
		CU_ASSERT_EQUAL(rh.sn, (uint64_t)k + 1);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	}
	uint32_t used[2];
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
		used[k] = h.index;
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, &k, sizeof(k), &sn, NULL), 0);
	}
	CU_ASSERT(used[0] < 2 && used[1] < 2);	/* lower indices now hold newer samples */
	for (uint64_t want = 3; want <= 6; want++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
		CU_ASSERT_EQUAL(rh.sn, want);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 0);
	sfx_close(&f);
}
H_REGISTER(delivery_order, 20, "slots.delivery.order");

/* A later sample in the slot where the reader's scan starts (the slot
 * after its last one in reserve's turn: the owner committed two loans out
 * of turn) must not overtake the earlier one elsewhere. */
static void delivery_out_of_turn(void)
{
	shmk_slot_handle_t h, ha, hb, rh;
	uint64_t sn;
	int v = 7;

	struct sfx f = sfx_new(4, 16, -1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_slot(f.o, h, &v, sizeof v, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, sn);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	/* the next in turn (the reader's expected slot) is loaned first but
	 * committed second */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &ha), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &hb), 0);
	CU_ASSERT_EQUAL(ha.index, (h.index + 1) % 4);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_slot(f.o, hb, &v, sizeof v, &sn, NULL), 0);
	uint64_t sn_b = sn;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_slot(f.o, ha, &v, sizeof v, &sn, NULL), 0);
	uint64_t sn_a = sn;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, sn_b);
	CU_ASSERT_EQUAL(rh.index, hb.index);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, sn_a);
	CU_ASSERT_EQUAL(rh.index, ha.index);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	/* in turn again */
	for (int k = 0; k < 6; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_slot(f.o, h, &k, sizeof k, &sn, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 1);
		CU_ASSERT_EQUAL(rh.sn, sn);
		CU_ASSERT_EQUAL(rh.index, h.index);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(f.r, rh, f.idx), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 0);
	sfx_close(&f);
}
H_REGISTER(delivery_out_of_turn, 20, "slots.delivery.order");

/* The owner recycles a slot between the reader's sn load and its mask
 * load (test seam): an old sn must never pair with the new commit's mask. */
extern void (*shmk_slots_test_scan_hook)(uint32_t index);
static struct shmk_slots *g_owner;
static int g_hook_fired;

/* What the owner does under the scan: give up on reader g_disconnect
 * first (when >= 0), then reuse the slot for g_new. */
static int g_disconnect = -1;
static const char *g_new = "NEW";

static void recycle_hook(uint32_t index)
{
	shmk_slot_handle_t h;
	uint64_t sn;

	if (g_hook_fired++)
		return;
	if (g_disconnect >= 0)
		shmk_slots_mark_reader_disconnected(g_owner, (unsigned)g_disconnect);
	if (shmk_slots_reserve_slot(g_owner, UINT32_MAX, &h) == 0 && h.index == index)
		shmk_slots_commit_slot(g_owner, h, g_new, strlen(g_new), &sn, NULL);
}

static void recycle_race(void)
{
	char fl[256];
	struct shmk_slots *r;
	shmk_slot_handle_t h, rh;
	unsigned idx;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 1, 16, &g_owner), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, -1, &idx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(g_owner, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(g_owner, h, "OLD", 3, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), 0);
	/* the reader scans; at slot 0, after loading sn 1, the owner reuses
	 * it for sn 2 (owed to this reader, so its bit is clear again).  A
	 * fresh scanner: r itself knows sn 1 was its last and that nothing
	 * later is published, so it would not look at slot 0.  The owner's
	 * handle is one (it may scan any index, slots.reader.unregistered,
	 * and has no hint for idx yet). */
	g_disconnect = -1;
	g_new = "NEW";
	shmk_slots_test_scan_hook = recycle_hook;
	int rc = shmk_slots_next_unread_slot(g_owner, idx, &rh);
	shmk_slots_test_scan_hook = NULL;
	CU_ASSERT_EQUAL(g_hook_fired, 1);
	CU_ASSERT(rc == 0 || (rc == 1 && rh.sn == 2));	/* never sample 1 again */
	if (rc == 1)
		CU_ASSERT_NOT_EQUAL(rh.sn, 1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 2);
	char buf[8];
	struct shmk_slot_info info;
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, sizeof(buf), &info), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "NEW", 3), 0);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), 0);
	/* r itself scans for sample 3 in slot 0; after its sn load the owner
	 * gives up on r and reuses the slot for sample 4: r must take 4 (now
	 * or at its next call), never a handle of 3 on 4's bytes */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(g_owner, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(g_owner, h, "THREE", 5, &sn, NULL), 0);
	g_hook_fired = 0;
	g_disconnect = (int)idx;
	g_new = "FOUR";
	shmk_slots_test_scan_hook = recycle_hook;
	rc = shmk_slots_next_unread_slot(r, idx, &rh);
	shmk_slots_test_scan_hook = NULL;
	CU_ASSERT(g_hook_fired >= 1);
	CU_ASSERT(rc == 0 || (rc == 1 && rh.sn == 4));	/* never a handle of 3 */
	if (rc == 0)
		CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 4);
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, sizeof(buf), &info), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "FOUR", 4), 0);
	shmk_slots_close(r);
	shmk_slots_close(g_owner);
}
H_REGISTER(recycle_race, 20, "slots.publish.order+2");

/* Samples are owed only to active ∩ registered readers. */
static void addressed(void)
{
	char fl[256];
	struct shmk_slots *o, *ra, *rb, *rc_;
	shmk_slot_handle_t h, rh;
	unsigned ia, ib, ic;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &ra), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rb), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rc_), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(ra, 0, &ia), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rb, 1, &ib), 0);
	/* only reader 0 is addressed */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, 1u << 0, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rb, ib, &rh), 0);
	/* reader 2 registers after the commit: not owed it either */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rc_, 2, &ic), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rc_, ic, &rh), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(ra, ia, &rh), 1);
	/* addressed to everyone: all three registered readers are owed it */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "b", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rb, ib, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 2);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rc_, ic, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 2);
	struct shmk_slot_info info;
	char c;
	CU_ASSERT_EQUAL(shmk_slots_read_slot(rc_, rh, &c, 1, &info), 0);
	CU_ASSERT_EQUAL(info.reader_mask, ~0x7u);
	shmk_slots_close(ra);
	shmk_slots_close(rb);
	shmk_slots_close(rc_);
	shmk_slots_close(o);
}
H_REGISTER(addressed, 20, "slots.delivery.addressed");

/* Reuse: a slot comes back only when every addressed live reader read it. */
static void reuse(void)
{
	char fl[256];
	struct shmk_slots *o, *ra, *rb;
	shmk_slot_handle_t h, rh;
	unsigned ia, ib;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &ra), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rb), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(ra, -1, &ia), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rb, -1, &ib), 0);
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "x", 1, &sn, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	/* a loaned slot is not free either */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(ra, ia, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(ra, rh, ia), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(rb, ib, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(rb, rh, ib), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(h.index, rh.index);
	shmk_slot_handle_t h2;
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h2), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h2), 0);
	CU_ASSERT_EQUAL(h2.index, h.index);
	/* a closed reader stops pinning: rb leaves, ra reads the last one */
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h2), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "y", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	shmk_slots_close(rb);
	while (shmk_slots_next_unread_slot(ra, ia, &rh) == 1)
		shmk_slots_mark_read(ra, rh, ia);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h2), 0);
	shmk_slots_close(ra);
	shmk_slots_close(o);
}
H_REGISTER(reuse, 20, "slots.reuse.rule");

/* Commits one sample through f and returns the slot it went to. */
static uint32_t turn_commit(struct sfx *f)
{
	shmk_slot_handle_t h;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f->o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_in_place(f->o, h, 8, &sn, NULL), 0);
	return h.index;
}

/* Reads and marks f's next sample; returns its slot. */
static uint32_t turn_take(struct sfx *f)
{
	shmk_slot_handle_t rh;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(f->r, f->idx, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(f->r, rh, f->idx), 0);
	return rh.index;
}

/* Reuse in turn, with the rule: free slots go out in turn over the first
 * ones (all 4 small slots; 2 of 4 x 1 MiB, SLOTS_RR_MAX_BYTES), never the
 * one just read again (its readers' lines; the loan round trip of large
 * samples measured 1.3x the small one's that way), and a pinned slot is
 * skipped, also past the turn's span, down to SHMK_EFULL. */
static void reuse_turn(void)
{
	static const size_t caps[] = { 64, 1 << 20 };
	static const uint32_t span[] = { 4, 2 };

	for (int c = 0; c < 2; c++) {
		struct sfx f = sfx_new(4, caps[c], -1);
		shmk_slot_handle_t h;

		/* a reader that keeps up: 0, 1, ..., span - 1, 0, ... */
		for (uint32_t k = 0; k < 3 * span[c]; k++) {
			CU_ASSERT_EQUAL(turn_commit(&f), k % span[c]);
			CU_ASSERT_EQUAL(turn_take(&f), k % span[c]);
		}
		/* a reader that stops: every slot fills, none is taken twice */
		uint32_t seen = 0;
		for (int k = 0; k < 4; k++)
			seen |= 1u << turn_commit(&f);
		CU_ASSERT_EQUAL(seen, 0xfu);
		CU_ASSERT_EQUAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), SHMK_EFULL);
		/* in order of publication, then in turn again */
		for (int k = 0; k < 4; k++)
			turn_take(&f);
		CU_ASSERT_EQUAL(turn_commit(&f), 0);
		CU_ASSERT_EQUAL(turn_take(&f), 0);
		CU_ASSERT_EQUAL(turn_commit(&f), 1 % span[c]);
		CU_ASSERT_EQUAL(turn_take(&f), 1 % span[c]);
		sfx_close(&f);
	}
}
H_REGISTER(reuse_turn, 20, "slots.reuse.rule");

/* A reader killed while holding unread samples: detected (as a zombie, and
 * once reaped), its slots come back, the other reader is unaffected. */
static void reader_killed(void)
{
	char fl[256];
	struct shmk_slots *o;
	struct rd_arg a[2];
	pid_t pid[2];
	shmk_slot_handle_t h;
	const uint64_t n = 40;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 64, &o), 0);
	a[0] = (struct rd_arg){ .flink = fl, .slot = 0, .expect = n, .want_index = -1, .len = 32 };
	a[1] = (struct rd_arg){ .flink = fl, .slot = 1, .want_index = -1, .hold = 1 };
	pid[0] = t_fork_run(reader_proc, &a[0]);
	pid[1] = t_fork_run(reader_proc, &a[1]);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 2, 20), 0);
	uint64_t next = 1;
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, 32), 0);
	/* reader 0 drains all four; the holder pins them */
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->progress, 4, 20), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	/* killed, not yet reaped: a zombie still counts as dead */
	CU_ASSERT_EQUAL(kill(pid[1], SIGKILL), 0);
	CU_ASSERT_EQUAL_FATAL(wait_zombie(pid[1]), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	size_t len;
	struct shmk_slots_hdr *hd = seg_map(o, &len);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[sh->idx[1]]), 0);	/* index released */
	CU_ASSERT_NOT_EQUAL(atomic_load(&hd->readers[sh->idx[0]]), 0);
	munmap(hd, len);
	CU_ASSERT_EQUAL(h_wait(pid[1], 10), 128 + SIGKILL);
	/* the survivor keeps getting every sample */
	for (uint64_t k = 4; k < n; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, 32), 0);
	CU_ASSERT_EQUAL(h_wait(pid[0], 60), 0);
	CU_ASSERT_EQUAL(sh->got[0], n);
	CU_ASSERT_EQUAL(sh->bad[0], 0);
	CU_ASSERT_EQUAL(sh->last_sn[0], n);
	shmk_slots_close(o);
}
H_REGISTER(reader_killed, 120, "slots.reader.reap+2");

/* PID reuse: a registry token whose pid is alive but whose start time
 * differs names an earlier incarnation: dead, reaped.  A live token pins. */
static void reader_pid_reuse(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h;
	uint64_t sn, live_tok;
	size_t len;
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	pid_t sleeper = fork();
	if (sleeper == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	CU_ASSERT_EQUAL_FATAL(shmk_token_for_pid(sleeper, &live_tok), 0);
	uint64_t reused = live_tok + (1ull << SHMK_TOKEN_PID_BITS);	/* same pid, other start */
	CU_ASSERT_EQUAL(shmk_token_alive(live_tok), 1);
	CU_ASSERT_EQUAL(shmk_token_alive(reused), 0);

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 1, 16, &o), 0);
	struct shmk_slots_hdr *hd = seg_map(o, &len);
	atomic_store(&hd->readers[5], reused);
	atomic_store(&hd->readers[6], live_tok);
	/* owed to 5 and 6; 6 is alive and never reads: pinned */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "p", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[5]), 0);	/* reaped: pid reuse seen */
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[6]), live_tok);
	/* only 6 still pins it; once 6 dies, the slot comes back */
	close(p[1]);
	CU_ASSERT_EQUAL(h_wait(sleeper, 10), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[6]), 0);
	munmap(hd, len);
	shmk_slots_close(o);
}
H_REGISTER(reader_pid_reuse, 20, "slots.reader.reap+2");

/* Every slot loaned, a dead reader registered: the reserve that finds no
 * slot free still checks every token and reaps the dead one, though no
 * committed slot's mask needed the registry. */
static void reap_all_loaned(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h[3];
	uint64_t self;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(shmk_token_for_pid(getpid(), &self), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	struct shmk_slots_hdr *hd = seg_map(o, &len);
	/* our pid with another start time: an earlier incarnation, dead */
	atomic_store(&hd->readers[5], self + (1ull << SHMK_TOKEN_PID_BITS));
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h[0]), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h[1]), 0);
	CU_ASSERT_NOT_EQUAL(atomic_load(&hd->readers[5]), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h[2]), SHMK_EFULL);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[5]), 0);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h[0]), 0);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h[1]), 0);
	munmap(hd, len);
	shmk_slots_close(o);
}
H_REGISTER(reap_all_loaned, 20, "slots.reader.reap+2");

extern int shmk_slots_test_scalar_scan;

/* One run of registry_paths: readers at 0, 3, 4, 30 and 31 (first and last
 * entries of the registry's 4-entry groups) and four commits addressed to
 * all; 4 closes before the second commit (LEFT), and a reader registered for
 * any index before the fourth takes the first free one, 1.  masks[n] is
 * commit n's reader_mask as reader 31 reads it, before it marks. */
static void registry_run(uint32_t masks[4])
{
	static const unsigned at[] = { 0, 3, 4, 30, 31 };
	char fl[256];
	struct shmk_slots *o, *r[6];
	unsigned idx[6];
	shmk_slot_handle_t h, rh;
	struct shmk_slot_info info;
	uint64_t sn;
	char c;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 16, &o), 0);
	for (int k = 0; k < 5; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[k]), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r[k], (int)at[k], &idx[k]), 0);
	}
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[5]), 0);
	for (unsigned n = 0; n < 4; n++) {
		if (n == 1) /* LEFT at the second commit: reaped by its scan */
			shmk_slots_close(r[2]);
		if (n == 3) { /* the first free index, 1, once 4 is reaped */
			CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r[5], -1, &idx[5]), 0);
			CU_ASSERT_EQUAL(idx[5], 1);
		}
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_slot(o, h, "s", 1, &sn, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r[4], idx[4], &rh), 1);
		CU_ASSERT_EQUAL(rh.sn, sn);
		CU_ASSERT_EQUAL(shmk_slots_read_slot(r[4], rh, &c, 1, &info), 0);
		masks[n] = info.reader_mask;
		CU_ASSERT_EQUAL(shmk_slots_mark_read(r[4], rh, idx[4]), 0);
	}
	/* readers 0, 3 and 30 have read nothing yet: every slot is pinned;
	 * the closed reader 4 pins nothing (its sample 1 was reaped) */
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	for (int k = 0; k < 6; k++) {
		if (k == 2 || k == 4)
			continue;
		unsigned got = 0;
		while (shmk_slots_next_unread_slot(r[k], idx[k], &rh) == 1) {
			CU_ASSERT_EQUAL(shmk_slots_mark_read(r[k], rh, idx[k]), 0);
			got++;
		}
		CU_ASSERT_EQUAL(got, k == 5 ? 1u : 4u);
	}
	shmk_slot_handle_t all[4];
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &all[k]), 0);
	for (int k = 0; k < 4; k++)
		shmk_slots_discard_slot(o, all[k]);
	for (int k = 0; k < 6; k++)
		if (k != 2)
			shmk_slots_close(r[k]);
	shmk_slots_close(o);
}

/* A commit's registry scan has two paths (AVX2 loads when the CPU has them
 * and no entry is LEFT, the scalar loop otherwise); the test-build seam
 * shmk_slots_test_scalar_scan forces the scalar one, the path of every
 * CPU without AVX2.  Both give the same addressing, reaping and reuse. */
static void registry_paths(void)
{
	const uint32_t held = 1u << 0 | 1u << 3 | 1u << 30 | 1u << 31;
	const uint32_t want[4] = { ~(held | 1u << 4), ~held, ~held, ~(held | 1u << 1) };
	uint32_t masks[2][4];

	for (int scalar = 0; scalar < 2; scalar++) {
		shmk_slots_test_scalar_scan = scalar;
		registry_run(masks[scalar]);
		shmk_slots_test_scalar_scan = 0;
		for (int n = 0; n < 4; n++)
			CU_ASSERT_EQUAL(masks[scalar][n], want[n]);
	}
}
H_REGISTER(registry_paths, 20, "slots.reader.register", "slots.reader.reap+2",
	   "slots.delivery.addressed");

static void disconnect(void)
{
	shmk_slot_handle_t h, rh;
	uint64_t sn;

	struct sfx f = sfx_new(2, 16, 5);
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(f.o, h, "z", 1, &sn, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(f.o, 5), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(f.r, f.idx, &rh), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(f.o, UINT32_MAX, &h), 0);
	sfx_close(&f);
}
H_REGISTER(disconnect, 20, "slots.reader.disconnect");
