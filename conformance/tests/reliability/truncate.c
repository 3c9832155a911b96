/* SPDX-License-Identifier: MIT */
/* reliability tests: 5b, a file cut under every primitive. */
#include "reliability_test.h"

/* ------------------------------------------------------------ 5b: truncation */

/* What the attached peer saw, written by it into shared memory. */
struct trunc_seen {
	int stage;		/* 1 attached, 2 detect done, 3 use done */
	int setup_rc, detect_rc, use_rc;
};

/* The file to cut for an object at `where`, and how short. */
static void trunc_target(enum t_rel_kind k, const struct t_rel_obj *owner, const char *where,
			 char *file, size_t len, off_t *cut)
{
	switch (k) {
	case REL_SHM:
		snprintf(file, len, "/dev/shm%s", where);
		*cut = 0;
		break;
	case REL_SLOTS:
		snprintf(file, len, "/dev/shm%s", shmk_slots_shm_name(owner->h));
		*cut = 64; /* inside the 0x140-byte header */
		break;
	case REL_EVENTS:
	case REL_RING:
		snprintf(file, len, "%s", where);
		*cut = 4096; /* the header survives, the queues do not */
		break;
	default:
		snprintf(file, len, "%s", where);
		*cut = 0;
		break;
	}
}

/* The peer's SIGBUS: the sanitizer runtime would turn it into an abort,
 * so the peer reports it with its own exit status. */
#define EXIT_SIGBUS 99
static void on_sigbus(int sig)
{
	(void)sig;
	_exit(EXIT_SIGBUS);
}

/* The peer: attach, wait for the cut, run the detecting call, then an
 * ordinary operation that touches the mapping. */
static int trunc_peer(enum t_rel_kind k, const char *where, int wfd, int ring_wfd, int go_fd,
		      struct trunc_seen *seen)
{
	struct t_rel_obj o = { 0 };
	struct shmk_ring_writer *w = NULL;
	struct shmk_events_tx *tx = NULL;
	struct shmk_events_rx *rx = NULL;
	unsigned ridx = 0;
	char c = 0;
	int rc;
	struct sigaction sa = { .sa_handler = on_sigbus };

	/* RELIABILITY_SIGBUS_TRACE=1 leaves SIGBUS to the sanitizer, which
	 * prints where the peer touched the cut pages (the test then fails) */
	if (!getenv("RELIABILITY_SIGBUS_TRACE"))
		sigaction(SIGBUS, &sa, NULL);
	if (k == REL_RING)
		rc = shmk_ring_writer_open(ring_wfd, &w);
	else
		rc = t_rel_prims[k].attach(where, &o);
	if (!rc && k == REL_EVENTS)
		rc = shmk_events_split_spsc(o.h, &tx, &rx);
	if (!rc && k == REL_SLOTS)
		rc = shmk_slots_register_reader(o.h, -1, &ridx);
	seen->setup_rc = rc;
	seen->stage = 1;
	if (write(wfd, "a", 1) != 1 || rc)
		return 1;
	if (read(go_fd, &c, 1) != 1)
		return 1;
	/* the API's own detection: every module has a check call */
	switch (k) {
	case REL_MMAP: {
		bool moved = false;
		rc = shmk_mmap_region_check_and_remap(o.h, &moved);
		break;
	}
	case REL_EVENTS: {
		struct shmk_events_tx *t2 = NULL;
		struct shmk_events_rx *r2 = NULL;
		/* the handle's check and a split must both see it */
		rc = shmk_events_tx_check(tx);
		int rc2 = shmk_events_split_spsc(o.h, &t2, &r2);
		if (!rc2) {
			shmk_events_tx_close(t2);
			shmk_events_rx_close(r2);
		}
		if (rc2 != SHMK_ETRUNCATED)
			rc = rc2 ? rc2 : 1;
		break;
	}
	case REL_SHM:
		rc = shmk_shm_map_check(o.aux);
		break;
	case REL_RING:
		rc = shmk_ring_writer_check(w);
		break;
	case REL_SLOTS:
		rc = shmk_slots_check(o.h);
		break;
	default:
		rc = 1; /* no detecting call */
		break;
	}
	seen->detect_rc = rc;
	seen->stage = 2;
	/* an ordinary operation */
	switch (k) {
	case REL_SHM: {
		volatile uint8_t *b = shmk_shm_map_ptr(o.aux);
		b[shmk_shm_map_len(o.aux) - 1] = 1;
		rc = 0;
		break;
	}
	case REL_MMAP: {
		volatile uint8_t *b = shmk_mmap_region_ptr(o.h);
		b[shmk_mmap_region_len(o.h) - 1] = 1;
		rc = 0;
		break;
	}
	case REL_EVENTS:
		rc = shmk_events_try_send(tx, "x", 1, NULL);
		break;
	case REL_RING: {
		static char payload[4096];
		rc = 0;
		for (int i = 0; i < 32 && rc == 0; i++) /* walk past the cut */
			rc = shmk_ring_write(w, payload, sizeof(payload));
		break;
	}
	case REL_SLOTS: {
		shmk_slot_handle_t h;
		rc = shmk_slots_next_unread_slot(o.h, ridx, &h);
		break;
	}
	default:
		rc = 0;
	}
	seen->use_rc = rc;
	seen->stage = 3;
	return 0;
}

static void truncate_kind(enum t_rel_kind k)
{
	const struct t_rel_prim *p = &t_rel_prims[k];
	char dir[256], where[300], file[300];
	struct t_rel_obj owner;
	struct trunc_seen *seen = t_shared_alloc(sizeof(*seen));
	int up[2], go[2], ring_wfd = -1, ring_peer = -1;
	off_t cut = 0;

	own_dir(dir, sizeof(dir), "trunc", geteuid());
	object_at(k, dir, "obj", where, sizeof(where));
	CU_ASSERT_EQUAL_FATAL(p->create(where, &owner), 0);
	if (k == REL_RING)
		CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_new(owner.h, 7, &ring_wfd, &ring_peer), 0);
	trunc_target(k, &owner, where, file, sizeof(file), &cut);
	CU_ASSERT_FATAL(pipe(up) == 0 && pipe(go) == 0);

	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(go[1]);
		_exit(trunc_peer(k, where, up[1], ring_wfd, go[0], seen));
	}
	close(up[1]);
	close(go[0]);
	if (ring_wfd >= 0)
		close(ring_wfd);
	char c;
	CU_ASSERT_EQUAL_FATAL(read(up[0], &c, 1), 1);
	CU_ASSERT_EQUAL_FATAL(seen->setup_rc, 0);
	CU_ASSERT_EQUAL(truncate(file, cut), 0);
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	int st = h_wait(pid, 30);
	bool sigbus = st == EXIT_SIGBUS || st == 128 + SIGBUS;

	printf("\n    %s: cut %s to %lld under an attached peer: detect -> %s, "
	       "operation -> %s", p->name, file, (long long)cut,
	       seen->stage < 2		? "(died)"
	       : seen->detect_rc == 1	? "(no detecting call)"
					: shmk_errname(seen->detect_rc) ?: "ok",
	       sigbus ? "SIGBUS on touching the cut pages (documented hot-path limitation; "
			"the caller was told first)"
		      : seen->stage < 3 ? "(died)" : shmk_errname(seen->use_rc) ?: "ok");
	/* no death other than the documented SIGBUS of a hot-path touch of
	 * cut pages, and that only after the check reported the cut */
	CU_ASSERT(st == 0 || (sigbus && seen->stage >= 2));
	/* every module's check call reports the cut */
	CU_ASSERT(seen->stage >= 2);
	CU_ASSERT_EQUAL(seen->detect_rc, SHMK_ETRUNCATED);
	/* an events handle's first operation is its role claim, which checks */
	if (k == REL_EVENTS) {
		CU_ASSERT_EQUAL(st, 0);
		CU_ASSERT_EQUAL(seen->use_rc, SHMK_ETRUNCATED);
	}

	/* a new attach to the cut file is refused with a documented code */
	struct t_rel_obj o2;
	int rc;
	if (k == REL_RING)
		shmk_ring_close(owner.h); /* free the reader role for the attach */
	pid = fork();
	if (pid == 0) {
		rc = p->attach(where, &o2);
		_exit(rc == 0 ? 0 : t_rel_documented(p->attach_errs, rc) ? 10 + (-rc % 200) : 1);
	}
	st = h_wait(pid, 30);
	printf("; attach to the cut file -> %s\n", st == 0 ? "ok" : st >= 128 ? "CRASH" : "refused");
	CU_ASSERT(st >= 10 && st < 128);
	if (k != REL_RING)
		p->release(&owner);
	if (ring_peer >= 0)
		close(ring_peer);
	p->remove(where);
	close(up[0]);
	close(go[1]);
	t_shared_free(seen, sizeof(*seen));
	rm_tree(dir);
}

static void truncate_shm(void)
{
	truncate_kind(REL_SHM);
}
H_REGISTER_IN("truncate", truncate_shm, 60, "shm.truncate.check", "shm.truncate.hot-path", "shm.map.zero_size");
static void truncate_mmap_region(void)
{
	truncate_kind(REL_MMAP);
}
H_REGISTER_IN("truncate", truncate_mmap_region, 60, "mmap_region.remap.truncated", "mmap_region.truncate.hot-path", "mmap_region.attach.empty");
static void truncate_events(void)
{
	truncate_kind(REL_EVENTS);
}
H_REGISTER_IN("truncate", truncate_events, 60, "events.split.truncated", "events.truncate.check", "events.truncate.claim", "events.validate.layout-bytes");
static void truncate_ring(void)
{
	truncate_kind(REL_RING);
}
H_REGISTER_IN("truncate", truncate_ring, 60, "ring.truncate.check", "ring.truncate.hot-path", "ring.attach.validate");
static void truncate_slots(void)
{
	truncate_kind(REL_SLOTS);
}
H_REGISTER_IN("truncate", truncate_slots, 60, "slots.truncate.check", "slots.attach.magic+2");
