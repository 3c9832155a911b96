/* SPDX-License-Identifier: MIT */
/*
 * events_ops: byte-coded operations on one real events region (SPSC and
 * MPSC handles of this process on one mapping), checked step by step
 * against a model of both queues, the shared slot pool and the role
 * holders.  Each input starts from a freshly initialised region (a
 * snapshot the library built, counters at 0 or near UINT64_MAX).
 *
 * Input: [start u8] then ops of 4 bytes [op][q][a][b]:
 *   send recv reserve publish cancel recv_view release      (q: 0 SPSC, 1 MPSC)
 *   plant a foreign role holder / producer claim ("a peer"), kill or
 *   revive it (the injected liveness provider), corrupt a shared field
 *   (after which only safety is checked: named codes, no crash).
 */
#include "common.h"
#include "shmkit/events.h"
#include "shmkit/wire.h"

const char *const shmk_fuzz_clauses[] = {
	"events.spsc.fifo",
	"events.mpsc.order",
	"events.queue.full-empty",
	"events.send.toolarge",
	"events.recv.bufsmall",
	"events.zerocopy.reserve",
	"events.zerocopy.publish",
	"events.zerocopy.view",
	"events.role.busy",
	"events.role.reclaim",
	"events.hostile.bounds",
	"events.hostile.counters",
	"events.mpsc.dead-producer+2",
	NULL,
};

#define CAP SHMK_EVENTS_QUEUE_CAP
#define NV 4
#define FAKE(r) (0x7000000000000000ull + (r) + 1)
#define HOLE 0xffff	/* model entry: a cell claimed by a foreign producer */

static struct shmk_events *region;
static struct shmk_events_layout *L;
static uint8_t *snap[2];
static struct shmk_events_tx *tx[2];
static struct shmk_events_rx *rx[2];

static struct {
	/* queues: entries (len | fill << 16) or HOLE */
	uint32_t q[2][CAP];
	unsigned q0[2], qn[2];
	unsigned pool_used;
	struct shmk_events_view tv[2][NV], rv[2][NV];
	uint32_t tvn[2], rvn[2], rvlen[2][NV];
	uint8_t rvfill[2][NV];
	/* roles: 0 spsc tx, 1 spsc rx, 2 mpsc rx; producer rows for mpsc tx */
	bool claimed[3];
	bool foreign[3];
	bool dead[4];	/* fake tokens 0..2 (roles), 3 (the foreign producer) */
	bool corrupt;
	bool prod_claimed;
} m;

static int setup(void)
{
	char p[128];
	struct shmk_events_opts o = { 0 };

	fz_init();
	for (int k = 1; k >= 0; k--) {
		snprintf(p, sizeof(p), "/dev/shm/shmk-fuzz-events-ops-%d-%d", (int)getpid(), k);
		unlink(p);
		o.counter_start = k ? UINT64_MAX - 700 : 0;
		if (shmk_events_open_path_with(p, &o, &region))
			return -1;
		snap[k] = malloc(SHMK_EVENTS_BASE_BYTES);
		memcpy(snap[k], shmk_events_as_ptr(region, NULL), SHMK_EVENTS_BASE_BYTES);
		unlink(p);
		if (k)
			shmk_events_close(region);
	}
	L = shmk_events_as_ptr(region, NULL);
	return 0;
}

static uint32_t entry(unsigned qi, unsigned i)
{
	return m.q[qi][(m.q0[qi] + i) % CAP];
}

static void pop(unsigned qi)
{
	m.q0[qi] = (m.q0[qi] + 1) % CAP;
	m.qn[qi]--;
}

/* The role the handle claims on first use: 0 fine, SHMK_EBUSY. */
static int role_rc(unsigned role)
{
	if (m.claimed[role])
		return 0;
	if (m.foreign[role] && !m.dead[role])
		return SHMK_EBUSY;
	return 0;
}

static int tx_role(unsigned qi)
{
	return qi ? 0 : role_rc(0);
}

static void tx_claimed(unsigned qi)
{
	if (qi)
		m.prod_claimed = true;
	else
		m.claimed[0] = true;
}

static int rx_role(unsigned qi)
{
	return role_rc(qi ? 2 : 1);
}

static unsigned pool_free(void)
{
	return SHMK_EVENTS_SLOTS - m.pool_used;
}

/* What a send (or publish, which already holds its slot) gets. */
static int expect_send(unsigned qi, size_t len, bool has_slot)
{
	int rc = tx_role(qi);
	if (rc)
		return rc;
	if (len > SHMK_EVENTS_SLOT_DATA)
		return SHMK_ETOOLARGE;
	if (m.qn[qi] == CAP)
		return SHMK_EFULL;
	if (!has_slot && !pool_free())
		return SHMK_EFULL;
	return 0;
}

static void push(unsigned qi, uint32_t e)
{
	m.q[qi][(m.q0[qi] + m.qn[qi]) % CAP] = e;
	m.qn[qi]++;
}

/* The model's next receive on queue qi: -1 blocked behind a hole (maybe
 * skippable), else the index of the entry. */
static void check_recv(unsigned qi, int rc, size_t len, const uint8_t *data, size_t cap,
		       bool view, uint64_t skipped)
{
	int want = rx_role(qi);
	if (want) {
		FUZZ_ASSERT(rc == want);
		return;
	}
	m.claimed[qi ? 2 : 1] = true;
	/* a hole of a dead producer may be skipped (the consumer counts it),
	 * one of a live producer never */
	for (; skipped; skipped--) {
		FUZZ_ASSERT(qi == 1 && m.qn[qi] && entry(qi, 0) == HOLE && m.dead[3]);
		pop(qi); /* events.mpsc.dead-producer+2 */
	}
	if (m.qn[qi] && entry(qi, 0) == HOLE) {
		FUZZ_ASSERT(rc == SHMK_EEMPTY);
		return;
	}
	if (!m.qn[qi]) {
		FUZZ_ASSERT(rc == SHMK_EEMPTY);
		return;
	}
	uint32_t e = entry(qi, 0);
	FUZZ_ASSERT(e != HOLE || rc == SHMK_EEMPTY);
	if (e == HOLE)
		return;
	size_t want_len = e & 0xffff;
	uint8_t fill = (uint8_t)(e >> 16);
	if (!view && cap < want_len) {
		/* events.recv.bufsmall: the message stays */
		FUZZ_ASSERT(rc == SHMK_EBUFSMALL);
		return;
	}
	/* events.spsc.fifo, events.mpsc.order */
	FUZZ_ASSERT(rc == 0 && len == want_len);
	for (size_t i = 0; i < len; i++)
		FUZZ_ASSERT(data[i] == fill);
	pop(qi);
	if (!view)
		m.pool_used--;
}

static void plant(unsigned what)
{
	if (what < 3) {
		/* a foreign process holds a role our handle has not claimed */
		if (m.claimed[what])
			return;
		_Atomic uint64_t *w = what == 0 ? &L->spsc.roles.a
				      : what == 1 ? &L->spsc.roles.b : &L->mpsc.roles.a;
		atomic_store(w, FAKE(what));
		m.foreign[what] = true;
		return;
	}
	/* a foreign producer claims the next MPSC cell and never publishes
	 * (one claim at a time, like a real producer) */
	if (m.qn[1] == CAP)
		return;
	for (unsigned i = 0; i < m.qn[1]; i++)
		if (entry(1, i) == HOLE)
			return;
	uint64_t t = atomic_load(&L->mpsc.tail.v);
	atomic_store(&L->mpsc.producers[SHMK_EVENTS_PRODUCERS - 1].token, FAKE(3));
	atomic_store(&L->mpsc.producers[SHMK_EVENTS_PRODUCERS - 1].intent, t);
	atomic_store(&L->mpsc.tail.v, t + 1);
	push(1, HOLE);
}

static void corrupt(uint8_t a, uint8_t b)
{
	uint64_t v = fz_boundary(b, a & 1 ? CAP : SHMK_EVENTS_SLOTS, atomic_load(&L->spsc.tail.v));
	unsigned i = (unsigned)(v + a) % CAP;
	switch (a % 13) {
	case 0: atomic_store(&L->spsc.tail.v, atomic_load(&L->spsc.tail.v) + v); break;
	case 1: atomic_store(&L->spsc.head.v, atomic_load(&L->spsc.head.v) + v); break;
	case 2: atomic_store(&L->mpsc.tail.v, atomic_load(&L->mpsc.tail.v) + v); break;
	case 3: atomic_store(&L->mpsc.head.v, v); break;
	case 4: atomic_store(&L->spsc.cells[i], (uint32_t)v); break;
	case 5: atomic_store(&L->mpsc.cells[i].seq, atomic_load(&L->mpsc.cells[i].seq) + v); break;
	case 6: atomic_store(&L->mpsc.cells[i].slotw, v); break;
	case 7: atomic_store(&L->pool.free_head, v); break;
	case 8: atomic_store(&L->slots[i * 2 % SHMK_EVENTS_SLOTS].next_free, (uint32_t)v); break;
	case 9: atomic_store(&L->slots[i * 2 % SHMK_EVENTS_SLOTS].len, (uint32_t)v); break;
	case 10: atomic_store(&L->slots[i * 2 % SHMK_EVENTS_SLOTS].refcnt, (uint32_t)v); break;
	case 12: atomic_store(&L->slots[i * 2 % SHMK_EVENTS_SLOTS].seq, (uint32_t)v); break;
	default: atomic_store(&L->mpsc.producers[i % 64].intent, v); break;
	}
	m.corrupt = true;
}

static uint8_t buf[SHMK_EVENTS_SLOT_DATA + 64], msg[SHMK_EVENTS_SLOT_DATA + 64];

static void step(uint8_t op, uint8_t qsel, uint8_t a, uint8_t b)
{
	unsigned qi = qsel & 1;
	size_t len = b == 0xff ? SHMK_EVENTS_SLOT_DATA + 1 + (a & 7) : b;
	size_t got = SIZE_MAX;
	struct shmk_events_sizes sz = { 0, 0 };
	struct shmk_events_view v;
	int rc, want;

	switch (op % 11) {
	case 0: /* send */
		want = expect_send(qi, len, false);
		memset(msg, a, sizeof(msg));
		rc = shmk_events_try_send(tx[qi], msg, len, &sz);
		fz_rc(rc);
		if (m.corrupt)
			break;
		FUZZ_ASSERT(rc == want);
		if (!rc) {
			tx_claimed(qi);
			push(qi, (uint32_t)len | (uint32_t)a << 16);
			m.pool_used++;
		} else if (rc == SHMK_ETOOLARGE) {
			/* events.send.toolarge */
			FUZZ_ASSERT(sz.a == SHMK_EVENTS_SLOT_DATA && sz.b == len);
			tx_claimed(qi);
		} else if (rc == SHMK_EFULL) {
			tx_claimed(qi);
		}
		break;
	case 1: { /* recv into a buffer of b bytes (0xff: all) */
		size_t cap = b == 0xff ? sizeof(buf) : b;
		uint64_t sk = shmk_events_rx_skipped(rx[qi]);
		rc = shmk_events_try_recv(rx[qi], buf, cap, &got, &sz);
		fz_rc(rc);
		if (!m.corrupt)
			check_recv(qi, rc, got, buf, cap, false, shmk_events_rx_skipped(rx[qi]) - sk);
		break;
	}
	case 2: /* reserve */
		if (m.tvn[qi] == NV)
			break;
		rc = shmk_events_reserve(tx[qi], &m.tv[qi][m.tvn[qi]]);
		fz_rc(rc);
		if (m.corrupt) {
			if (!rc)
				m.tvn[qi]++;
			break;
		}
		want = tx_role(qi);
		if (!want && !pool_free())
			want = SHMK_EFULL;
		FUZZ_ASSERT(rc == want);
		if (want != SHMK_EBUSY)
			tx_claimed(qi);
		if (!rc) {
			/* events.zerocopy.reserve: a whole slot's bytes */
			FUZZ_ASSERT(m.tv[qi][m.tvn[qi]].len == SHMK_EVENTS_SLOT_DATA);
			memset(m.tv[qi][m.tvn[qi]].data, a, SHMK_EVENTS_SLOT_DATA);
			m.tvn[qi]++;
			m.pool_used++;
		}
		break;
	case 3: /* publish the oldest reserved view (a slot that may hold an earlier fill) */
		if (!m.tvn[qi])
			break;
		memset(m.tv[qi][0].data, a, SHMK_EVENTS_SLOT_DATA);
		want = expect_send(qi, len, true);
		rc = shmk_events_publish(tx[qi], &m.tv[qi][0], len, &sz);
		fz_rc(rc);
		if (!m.corrupt)
			FUZZ_ASSERT(rc == want);
		if (rc == 0) {
			/* events.zerocopy.publish */
			if (!m.corrupt)
				push(qi, (uint32_t)len | (uint32_t)a << 16);
			memmove(&m.tv[qi][0], &m.tv[qi][1], sizeof(v) * (NV - 1));
			m.tvn[qi]--;
		}
		break;
	case 4: /* cancel */
		if (!m.tvn[qi])
			break;
		rc = shmk_events_cancel(tx[qi], &m.tv[qi][m.tvn[qi] - 1]);
		fz_rc(rc);
		if (!m.corrupt) {
			FUZZ_ASSERT(rc == 0);
			m.pool_used--;
		}
		m.tvn[qi]--;
		break;
	case 5: { /* recv_view */
		if (m.rvn[qi] == NV)
			break;
		uint64_t sk = shmk_events_rx_skipped(rx[qi]);
		rc = shmk_events_recv_view(rx[qi], &v);
		fz_rc(rc);
		if (rc == 0) {
			/* events.zerocopy.view: inside the slot */
			FUZZ_ASSERT(v.len <= SHMK_EVENTS_SLOT_DATA && v.slot < SHMK_EVENTS_SLOTS);
			memcpy(buf, v.data, v.len);
			m.rv[qi][m.rvn[qi]++] = v;
		}
		if (!m.corrupt)
			check_recv(qi, rc, v.len, v.data, 0, true,
				   shmk_events_rx_skipped(rx[qi]) - sk);
		break;
	}
	case 6: /* release */
		if (!m.rvn[qi])
			break;
		rc = shmk_events_release(rx[qi], &m.rv[qi][--m.rvn[qi]]);
		fz_rc(rc);
		if (!m.corrupt) {
			FUZZ_ASSERT(rc == 0);
			m.pool_used--;
		}
		break;
	case 7: /* a peer appears */
		plant(a % 4);
		break;
	case 8: /* a peer dies, or (before anyone noticed) was alive after all */
		m.dead[a % 4] = !m.dead[a % 4];
		if (m.dead[a % 4])
			fz_kill(FAKE(a % 4));
		else
			fz_revive(FAKE(a % 4));
		break;
	case 9: /* the model's pool accounting, seen from the shared free list */
		if (!m.corrupt && !m.tvn[0] && !m.tvn[1])
			FUZZ_ASSERT(m.pool_used <= SHMK_EVENTS_SLOTS);
		break;
	default:
		corrupt(a, b);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };

	if (!region && setup())
		return 0;
	fz_live_reset();
	memset(&m, 0, sizeof(m));
	uint8_t s = fz_u8(&in);
	/* Back to the snapshot: the control lines and queues whole, of the
	 * pool only the slot headers (payload bytes are always written by a
	 * send before a receive reads them): a tenth of the region, so many
	 * more inputs a second. */
	const uint8_t *sn = snap[s & 1];
	memcpy(L, sn, offsetof(struct shmk_events_layout, slots));
	for (unsigned i = 0; i < SHMK_EVENTS_SLOTS; i++)
		memcpy(&L->slots[i], sn + offsetof(struct shmk_events_layout, slots) +
					     (size_t)i * sizeof(struct shmk_events_slot),
		       offsetof(struct shmk_events_slot, data));
	if (shmk_events_split_spsc(region, &tx[0], &rx[0]) ||
	    shmk_events_split_mpsc(region, &tx[1], &rx[1]))
		abort();
	for (unsigned n = 0; in.n && n < 256; n++) {
		uint8_t op = fz_u8(&in), q = fz_u8(&in), a = fz_u8(&in), b = fz_u8(&in);
		step(op, q, a, b);
	}
	for (int k = 0; k < 2; k++) {
		shmk_events_tx_close(tx[k]);
		shmk_events_rx_close(rx[k]);
	}
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const uint8_t scripts[][64] = {
		/* spsc: send 3, recv 3 */
		{ 0, 0, 0, 'a', 5, 0, 0, 'b', 7, 0, 0, 'c', 9, 1, 0, 0, 0xff, 1, 0, 0, 0xff,
		  1, 0, 0, 0xff, 1, 0, 0, 0xff },
		/* mpsc zero-copy: reserve, publish, recv_view, release, cancel */
		{ 1, 2, 1, 'z', 0, 3, 1, 'z', 100, 5, 1, 0, 0, 6, 1, 0, 0, 2, 1, 'y', 0, 4, 1,
		  0, 0 },
		/* foreign role holders: busy, then dead and reclaimed */
		{ 0, 7, 0, 1, 0, 1, 0, 0, 0xff, 8, 0, 1, 0, 0, 0, 0, 'a', 3, 1, 0, 0, 0xff },
		/* a foreign producer's hole blocks, then dies */
		{ 0, 0, 1, 'a', 3, 7, 0, 3, 0, 0, 1, 'b', 4, 1, 1, 0, 0xff, 1, 1, 0, 0xff, 8, 0,
		  3, 0, 1, 1, 0, 0xff, 1, 1, 0, 0xff },
		/* toolarge, bufsmall */
		{ 1, 0, 0, 1, 0xff, 0, 1, 'q', 200, 1, 1, 0, 10, 1, 1, 0, 0xff },
		/* corruption */
		{ 0, 0, 0, 'a', 5, 10, 0, 4, 0x0f, 1, 0, 0, 0xff, 10, 0, 7, 0x02, 0, 0, 'b', 5,
		  10, 0, 2, 0x07, 0, 1, 'c', 5, 1, 1, 0, 0xff },
	};
	if (i >= sizeof(scripts) / sizeof(scripts[0]))
		return 0;
	return fz_script_seed(scripts[i], sizeof(scripts[0]), 1, out, max);
}
