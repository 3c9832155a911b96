/* SPDX-License-Identifier: MIT */
/*
 * slots_data.c - the slots module's data path: the owner's reserve,
 * commit, loan and discard, the readers' scan, read and mark, and the wait
 * for a change (names, validation, create, attach, registration and close
 * are in slots.c, whose head comment says who writes what in the segment).
 * Rules: conformance/spec/slots.md.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "wait.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"
#include "slots_int.h"

#ifdef SHMK_TEST_BUILD
/* Test seam: runs between a reader's first sn load and its reader_mask
 * load in next_unread_slot, so a test can recycle the slot exactly there. */
void (*shmk_slots_test_scan_hook)(uint32_t index);
#define SCAN_HOOK(i)                                          \
	do {                                                  \
		if (shmk_slots_test_scan_hook)                \
			shmk_slots_test_scan_hook(i);         \
	} while (0)
/* Test seam: nonzero sends every commit's registry scan through the scalar
 * loop, the path of CPUs without AVX2, so an AVX2 machine tests it too. */
int shmk_slots_test_scalar_scan;
#define SCALAR_SCAN_ONLY() shmk_slots_test_scalar_scan
#else
#define SCAN_HOOK(i) ((void)0)
#define SCALAR_SCAN_ONLY() 0
#endif

/* ------------------------------------------------------------ registry bits */

#if defined(__x86_64__)
#include <immintrin.h>

/* The registry in eight 32-byte loads: bit i of the result is set when
 * entry i is nonzero, of *left when it is READER_LEFT.  Each entry is
 * loaded once (an 8-byte element of one SHMK_LOAD_U64X4) and both answers
 * come from that load.  The scalar loop below took ~300 of a commit's ~370
 * instructions (callgrind, slots/op/64/single), all before the sn store the
 * reader waits for; the registry's lines are written only by
 * registrations, so its loads hit and only the instructions count. */
__attribute__((target("avx2"))) static uint32_t
registry_bits_avx2(const struct shmk_slots_hdr *h, uint32_t *left)
{
	const __m256i zero = _mm256_setzero_si256(), all = _mm256_set1_epi64x(-1);
	uint32_t z = 0, l = 0;

	for (unsigned j = 0; j < SHMK_SLOTS_MAX_READERS / 4; j++) {
		__m256i v = (__m256i)SHMK_LOAD_U64X4(&h->readers[4 * j]);
		z |= (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(v, zero)))
		     << (4 * j);
		l |= (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(v, all)))
		     << (4 * j);
	}
	*left = l;
	/* GCC inserts vzeroupper itself only when optimising (-O2); the
	 * check, tsan and coverage builds (-O0/-O1) would return with the
	 * ymm upper halves dirty and slow every later SSE instruction. */
	_mm256_zeroupper();
	return ~z;
}
#endif

/* ------------------------------------------------------------ registry */

/* Owner thread only: forget reader i whose registry value was `tok`. */
static void reap_entry(struct shmk_slots *s, unsigned i, uint64_t tok)
{
	set_bit_everywhere(s, i);
	/* release: pairs with the acq_rel claim CAS in register_reader. */
	atomic_compare_exchange_strong_explicit(&s->hdr->readers[i], &tok, 0, memory_order_release,
						memory_order_relaxed);
}

/* Registered readers as a mask.  Left entries are reaped on the way (no
 * /proc read); with check_alive, dead tokens are reaped too. Returns the
 * mask of readers that may still read; *reaped counts reaped entries. */
static inline uint32_t scan_readers(struct shmk_slots *s, int check_alive, int *reaped)
{
	uint32_t live = 0;
#if defined(__x86_64__)
	/* A commit's scan (no liveness check) with no LEFT entry reaps
	 * nothing: the entries' bits are the answer.  Otherwise the loop
	 * below loads and judges every entry anew. */
	if (!check_alive && shmk__avx2 && !SCALAR_SCAN_ONLY()) {
		uint32_t left, nz = registry_bits_avx2(s->hdr, &left);
		if (!left)
			return nz;
	}
#endif

	for (unsigned i = 0; i < SHMK_SLOTS_MAX_READERS; i++) {
		/* relaxed: coherence is enough.  A commit that saw reader i
		 * registered is followed (same thread) by reserves that see i
		 * or a later value; one that did not addressed nothing to i. */
		uint64_t tok = SHMK_LOAD_U64(&s->hdr->readers[i]);
		if (!tok)
			continue;
		/* r[impl slots.reader.reap+2] */
		if (tok == SHMK_SLOTS_READER_LEFT || (check_alive && !shmk_token_alive(tok))) {
			reap_entry(s, i, tok);
			++*reaped;
			continue;
		}
		live |= 1u << i;
	}
	return live;
}

/* ------------------------------------------------------------ owner ops */

static int owner_handle(struct shmk_slots *s, shmk_slot_handle_t h, int want_state)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	if (!s->owner)
		return shmk_fail(-EPERM, "slots: loans belong to the owner's handle");
	/* r[impl slots.handle.bounds] */
	if (h.index >= s->count)
		return shmk_fail(SHMK_ERANGE, "slots: slot %u >= %u", h.index, s->count);
	if (s->lstate[h.index] != want_state)
		return shmk_fail(-EINVAL, "slots: slot %u is not loaned", h.index);
	return 0;
}

/* r[impl slots.reuse.rule] r[impl slots.stall.reader] bounded work, no wait:
 * a reader that does not run (stopped, frozen) is alive, keeps its unread
 * samples pinned and costs only SHMK_EFULL until the owner disconnects it */
int shmk_slots_reserve_slot(struct shmk_slots *s, uint32_t active_readers_mask,
			    shmk_slot_handle_t *h)
{
	if (!s || !h)
		return SHMK_FAIL(-EINVAL);
	if (!s->owner)
		return shmk_fail(-EPERM, "slots: only the owner reserves");
	int reaped = 0;
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0 is cheap (no /proc); pass 1 checks every token.  The
		 * registry is scanned only when a slot's mask has to be judged
		 * by it: a mask with every bit set frees its slot whoever is
		 * registered, and in turn that is the slot reserve finds
		 * (r[impl slots.reader.reap+2]: closed entries are then reaped
		 * by the commit). */
		uint32_t live = 0;
		int scanned = 0;
		/* r[impl slots.reader.reap+2] pass 1 runs only when no slot
		 * was free: every token is checked then, even when every slot
		 * is loaned and no mask is judged. */
		if (pass == 1) {
			live = scan_readers(s, 1, &reaped);
			scanned = 1;
		}
		for (uint32_t k = 0; k < s->count; k++) {
			uint32_t i = s->cursor + k < s->count ? s->cursor + k : s->cursor + k - s->count;
			if (s->lstate[i] == LS_LOANED)
				continue;
			if (s->lstate[i] == LS_COMMITTED) {
				/* The line is written below when the slot is
				 * free: fetch it for writing in one transfer
				 * from the reader that marked it, not a shared
				 * copy and then an upgrade. */
				shmk_prefetch_w(slot_at(s, i));
				/* acquire: pairs with the release fetch_or in
				 * mark_read, so the reader's data reads are done
				 * before this slot is overwritten. */
				uint32_t m = SHMK_LOAD_ACQ_U32(&slot_at(s, i)->reader_mask);
				if (m != UINT32_MAX && !scanned) {
					live = scan_readers(s, pass, &reaped);
					scanned = 1;
				}
				if ((m | ~live) != UINT32_MAX)
					continue;
			}
			s->lstate[i] = LS_LOANED;
			s->lactive[i] = active_readers_mask;
			/* In turn (slots_rr_span): the next reserve tries the
			 * slot after this one, which publish() fetches for
			 * writing while this sample is read (its readers marked
			 * it a lap ago), so the reserve's mask load is no
			 * transfer on the round trip. */
			s->cursor = slots_rr_next(s, i);
			/* Unpublish first: a stale handle now sees sn 0.  release
			 * fence: pairs with the acquire fence before the sn re-load
			 * in next_unread_slot / load_committed, so a reader that
			 * sees any later store to this slot (mask, size, data)
			 * re-loads sn as 0 or the new value, never the old one.
			 * The store itself is relaxed: the fence orders it before
			 * those stores, which is all the pairing needs (a seq_cst
			 * store was a locked exchange on every round trip). */
			atomic_store_explicit(&slot_at(s, i)->sn, 0, memory_order_relaxed);
			atomic_thread_fence(memory_order_release);
			h->index = i;
			h->reserved = 0;
			h->sn = 0;
			return 0;
		}
	}
	return shmk_fail(SHMK_EFULL, "slots: no free slot (%u slots, %d dead readers reaped)",
			 s->count, reaped);
}

/* r[impl slots.publish.order+2] r[impl slots.sn.width] */
static int publish(struct shmk_slots *s, shmk_slot_handle_t h, size_t len, uint64_t *sn,
		   struct shmk_slots_toolarge *tl)
{
	if (len > s->capacity) {
		if (tl) {
			tl->sample = len;
			tl->capacity = s->capacity;
		}
		return shmk_fail(SHMK_ETOOLARGE, "slots: sample %zu > capacity %u", len, s->capacity);
	}
	if (s->next_sn == UINT64_MAX)
		return shmk_fail(SHMK_EOVERFLOW, "slots: sequence numbers exhausted");
	uint64_t my = s->next_sn;
	struct shmk_slot_hdr *sh = slot_at(s, h.index);
	/* r[impl slots.delivery.addressed] only readers registered now are
	 * owed this sample; everyone else's bit is set from the start. */
	/* r[impl slots.reader.reap+2] closed readers, at every commit */
	int reaped = 0;
	uint32_t owed = s->lactive[h.index] & scan_readers(s, 0, &reaped);
	/* relaxed: published by the release store of sn below. */
	atomic_store_explicit(&sh->sample_size, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&sh->reader_mask, ~owed, memory_order_relaxed);
	SHMK_CRASH_POINT("slots.commit.before_publish");
	/* r[impl reliability.crash.committed] the sample exists once sn is stored. */
	/* release: pairs with the acquire loads of sn in next_unread_slot,
	 * slot_read_ptr and read_slot: data, size and mask are visible first. */
	atomic_store_explicit(&sh->sn, my, memory_order_release);
	s->next_sn = my + 1;
	/* release: pairs with the acquire load of next_sn in
	 * next_unread_slot, which bounds its scan to published samples. */
	atomic_store_explicit(&s->hdr->next_sn, my + 1, memory_order_release);
	s->lstate[h.index] = LS_COMMITTED;
	if (sn)
		*sn = my;
	notify(s);
	/* The next reserve starts at the cursor, the slot after this one in
	 * turn: fetch its first line (sn, mask, the sample's first bytes) and
	 * the line after it for writing now, while the readers take this
	 * sample.  (One slot: the cursor is the slot being read - leave it
	 * to the readers.) */
	if (s->cursor != h.index) {
		shmk_prefetch_w(slot_at(s, s->cursor));
		if (s->total > 64)
			shmk_prefetch_w((char *)slot_at(s, s->cursor) + 64);
	}
	return 0;
}

int shmk_slots_commit_slot(struct shmk_slots *s, shmk_slot_handle_t h, const void *data,
			   size_t len, uint64_t *sn, struct shmk_slots_toolarge *tl)
{
	int rc = owner_handle(s, h, LS_LOANED);

	if (rc)
		return rc;
	if (len && !data)
		return SHMK_FAIL(-EINVAL);
	if (len > s->capacity)
		return publish(s, h, len, sn, tl);
	if (len)
		memcpy(slot_data(s, h.index), data, len);
	return publish(s, h, len, sn, tl);
}

/* r[impl slots.loan.inplace] */
int shmk_slots_slot_data_ptr(struct shmk_slots *s, shmk_slot_handle_t h, void **ptr,
			     size_t *capacity)
{
	int rc = owner_handle(s, h, LS_LOANED);

	if (rc)
		return rc;
	if (!ptr)
		return SHMK_FAIL(-EINVAL);
	*ptr = slot_data(s, h.index);
	if (capacity)
		*capacity = s->capacity;
	return 0;
}

int shmk_slots_commit_in_place(struct shmk_slots *s, shmk_slot_handle_t h, size_t len,
			       uint64_t *sn, struct shmk_slots_toolarge *tl)
{
	int rc = owner_handle(s, h, LS_LOANED);

	return rc ? rc : publish(s, h, len, sn, tl);
}

int shmk_slots_discard_slot(struct shmk_slots *s, shmk_slot_handle_t h)
{
	int rc = owner_handle(s, h, LS_LOANED);

	if (rc)
		return rc;
	s->lstate[h.index] = LS_FREE;	/* sn stayed 0 since reserve: never visible */
	notify(s);
	return 0;
}

/* ------------------------------------------------------------ reader ops */

static int check_reader(const struct shmk_slots *s, unsigned reader)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.reader.index] every build, not only debug. */
	if (reader >= SHMK_SLOTS_MAX_READERS)
		return shmk_fail(SHMK_ERANGE, "slots: reader index %u >= 32", reader);
	return 0;
}

/* r[impl slots.reader.unregistered] A commit addresses only the readers
 * registered at that moment (slots.delivery.addressed), so an index agreed
 * out of band, as upstream allows, would wait forever in silence.  Cold. */
static int __attribute__((noinline, cold))
unregistered(const struct shmk_slots *s, unsigned reader)
{
	if (s->reg_index < 0)
		return shmk_fail(-EPERM, "slots: reader %u is not registered by this handle; "
				 "commits address only registered readers: call "
				 "shmk_slots_register_reader first", reader);
	return shmk_fail(-EPERM, "slots: this handle registered reader %d, not %u", s->reg_index,
			 reader);
}

/* r[impl slots.delivery.order] */
int shmk_slots_next_unread_slot(struct shmk_slots *s, unsigned reader, shmk_slot_handle_t *h)
{
	int rc = check_reader(s, reader);

	if (rc)
		return rc;
	if (!h)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.reader.unregistered] two loads of the handle, no store */
	if (!s->owner && (int)reader != s->reg_index)
		return unregistered(s, reader);
	/* acquire: pairs with the release store of next_sn in publish: every
	 * sample numbered below `end` is visible, so the minimum found below
	 * cannot be undercut by one published during the scan. */
	uint64_t end = SHMK_LOAD_ACQ_U64(&s->hdr->next_sn);
	uint64_t low = s->rd_low[reader];
	/* Nothing numbered >= low is published yet, and nothing below low is
	 * unread: the idle poll touches the header's first line only.  (A
	 * look at the expected slot first, without next_sn, made
	 * slots/read_rtt/64 1.26x slower in bench-ab 77d2388 against ab191a1:
	 * the owner writes that line several times per sample - reserve's
	 * unpublishing store, the data, size, mask, sn - and a reader polling
	 * it took it back between those stores.  Measured again in
	 * alternating runs against ad4064d (p50 641-721 ns), with mark_read's
	 * bit also tried on a line of its own: the look 711-822 ns, the own
	 * line 741-772, both 752-802.  In the floor's protocol
	 * (pingpong_slots.c) the two together came out 621-651 against
	 * 590-732; the library does not keep that gain.) */
	if (end <= low)
		return 0;
	uint64_t best = UINT64_MAX;
	uint32_t best_i = 0;
	/* Start at rd_start: the slot last returned while its sample is
	 * unread, the slot after it in turn once mark_read took it
	 * (slots_rr_next: where the owner puts the next sample), and stop at
	 * sn == low: nothing unread can be smaller.  Any start finds the same
	 * sample; this one finds it first. */
	uint32_t start = s->rd_start[reader] < s->count ? s->rd_start[reader] : 0;
	/* Something is published, so mark_read's two locked RMWs will follow:
	 * the fetch_or on the sample's slot (normally `start`) and the bump
	 * of notify_gen on this header line.  Ask for those lines for
	 * writing now: they travel while the scan and the caller's read wait
	 * for the sample, and the RMWs then find them owned instead of each
	 * upgrading a shared copy on the round trip.  The owner's prefetch
	 * in publish() is of the slot after `start` in turn, its next
	 * reserve's: a different line, so the two do not pull one line
	 * between them (prefetches are hints: no result changes). */
	shmk_prefetch_w(slot_at(s, start));
	shmk_prefetch_w(&s->hdr->notify_gen);
	/* The sample's second line (its bytes from 48 on) is read next, but
	 * its address waits for the scan's branches: fetch it now, shared
	 * (the owner writes it again only a lap later), so it travels with
	 * the first line instead of after it. */
	if (s->total > 64)
		__builtin_prefetch((const char *)slot_at(s, start) + 64, 0, 3);
	for (uint32_t k = 0; k < s->count; k++) {
		uint32_t i = start + k < s->count ? start + k : start + k - s->count;
		struct shmk_slot_hdr *sh = slot_at(s, i);
		/* acquire: pairs with the release store of sn in publish. */
		uint64_t sn = SHMK_LOAD_ACQ_U64(&sh->sn);
		if (!sn || sn >= end || sn >= best)
			continue;
		SCAN_HOOK(i);
		uint32_t mask = SHMK_LOAD_U32(&sh->reader_mask);
		/* r[impl slots.publish.order+2] sn, then mask, then sn again:
		 * the slot may have been recycled between the two loads, and an
		 * old sn with the new commit's mask would deliver a sample
		 * twice, torn.  acquire fence: pairs with the release fence
		 * after the unpublishing store in reserve_slot. */
		atomic_thread_fence(memory_order_acquire);
		if (SHMK_LOAD_U64(&sh->sn) != sn || (mask & (1u << reader)))
			continue;
		best = sn;
		best_i = i;
		if (sn <= low)
			break;
	}
	if (best == UINT64_MAX) {
		/* Every sample below end is read, unaddressed or gone, and
		 * later ones get sn >= end. */
		s->rd_low[reader] = end;
		return 0;
	}
	s->rd_low[reader] = best;
	s->rd_start[reader] = best_i;
	h->index = best_i;
	h->reserved = 0;
	h->sn = best;
	return 1;
}

/* Loads a committed slot's header for h: sn acquire-first so size and mask
 * belong to that commit (never a torn header). */
static int load_committed(const struct shmk_slots *s, shmk_slot_handle_t h, uint64_t *snp,
			  uint32_t *sizep, uint32_t *maskp)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.handle.bounds] */
	if (h.index >= s->count)
		return shmk_fail(SHMK_ERANGE, "slots: slot %u >= %u", h.index, s->count);
	struct shmk_slot_hdr *sh = slot_at(s, h.index);
	/* acquire: pairs with the release store of sn in publish. */
	uint64_t sn = SHMK_LOAD_ACQ_U64(&sh->sn);
	if (!sn || (h.sn && h.sn != sn))
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u holds no sample %llu", h.index,
				 (unsigned long long)h.sn);
	uint32_t size = SHMK_LOAD_U32(&sh->sample_size);
	uint32_t mask = SHMK_LOAD_U32(&sh->reader_mask);
	/* acquire fence, sn again: size and mask belong to commit sn (pairs
	 * with the release fence after unpublishing in reserve_slot). */
	atomic_thread_fence(memory_order_acquire);
	if (SHMK_LOAD_U64(&sh->sn) != sn)
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u recycled while read", h.index);
	/* r[impl slots.read.bounds] */
	if (size > s->capacity)
		return shmk_fail(SHMK_EINTEGRITY, "slots: slot %u sample_size %u > capacity %u",
				 h.index, size, s->capacity);
	*snp = sn;
	*sizep = size;
	*maskp = mask;
	return 0;
}

/* r[impl slots.read.ptr] */
int shmk_slots_slot_read_ptr(struct shmk_slots *s, shmk_slot_handle_t h, const void **ptr,
			     size_t *len)
{
	uint64_t sn;
	uint32_t size, mask;
	int rc = load_committed(s, h, &sn, &size, &mask);

	if (rc)
		return rc;
	if (!ptr || !len)
		return SHMK_FAIL(-EINVAL);
	*ptr = slot_data(s, h.index);
	*len = size;
	return 0;
}

int shmk_slots_read_slot(struct shmk_slots *s, shmk_slot_handle_t h, void *buf, size_t buflen,
			 struct shmk_slot_info *info)
{
	uint64_t sn;
	uint32_t size, mask;
	int rc = load_committed(s, h, &sn, &size, &mask);

	if (rc)
		return rc;
	if (info) {
		info->sn = sn;
		info->sample_size = size;
		info->reader_mask = mask;
	}
	if (buflen < size)
		return shmk_fail(SHMK_EBUFSMALL, "slots: sample %u > buffer %zu", size, buflen);
	if (size && !buf)
		return SHMK_FAIL(-EINVAL);
	memcpy(buf, slot_data(s, h.index), size);
	/* acquire fence, then sn again: a slot recycled under the copy (only
	 * possible when this reader was disconnected) is reported, not
	 * returned torn. */
	atomic_thread_fence(memory_order_acquire);
	/* r[impl slots.stall.reader-resume] also a reader stopped mid-copy */
	if (SHMK_LOAD_U64(&slot_at(s, h.index)->sn) != sn)
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u recycled during the copy", h.index);
	return 0;
}

int shmk_slots_mark_read(struct shmk_slots *s, shmk_slot_handle_t h, unsigned reader)
{
	int rc = check_reader(s, reader);

	if (rc)
		return rc;
	/* r[impl slots.reader.unregistered] */
	if (!s->owner && (int)reader != s->reg_index)
		return unregistered(s, reader);
	if (h.index >= s->count)
		return shmk_fail(SHMK_ERANGE, "slots: slot %u >= %u", h.index, s->count);
	struct shmk_slot_hdr *sh = slot_at(s, h.index);
	/* r[impl slots.stall.reader-resume] a handle held across a disconnect
	 * and a reuse no longer matches */
	if (h.sn && SHMK_LOAD_U64(&sh->sn) != h.sn)
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u no longer holds sample %llu", h.index,
				 (unsigned long long)h.sn);
	/* release: pairs with the acquire load of reader_mask in
	 * reserve_slot: this reader's reads of the data happen first. */
	atomic_fetch_or_explicit(&sh->reader_mask, 1u << reader, memory_order_release);
	/* The smallest unread sample is now read: the next one is above it,
	 * in the slot after this one in turn if the owner keeps its order
	 * (a hint for next_unread_slot's scan, which looks everywhere). */
	if (h.sn && h.sn == s->rd_low[reader]) {
		s->rd_low[reader] = h.sn + 1;
		s->rd_start[reader] = slots_rr_next(s, h.index);
	}
	notify(s);	/* a slot may be free: wake a waiting writer */
	return 0;
}

/* r[impl slots.reader.disconnect] r[impl slots.stall.reader] fetch_or on
 * each slot: no lock and no step of the reader */
int shmk_slots_mark_reader_disconnected(struct shmk_slots *s, unsigned reader)
{
	int rc = check_reader(s, reader);

	if (rc)
		return rc;
	set_bit_everywhere(s, reader);
	notify(s);
	return 0;
}

/* ------------------------------------------------------------ wait */

static int owner_gone(const struct shmk_slots *s)
{
	if (s->owner)
		return 0;
	/* acquire: pairs with the release store of CLOSED in close. */
	if (SHMK_LOAD_ACQ_U32(&s->hdr->owner_state) != SHMK_SLOTS_OWNER_LIVE)
		return 1;
	return !shmk_token_alive(SHMK_LOAD_U64(&s->hdr->owner_token));
}

/* The generation moved.  The owner's close bumps it too: report that as
 * the owner's end, not as a change (committed samples stay readable). */
static int changed(const struct shmk_slots *s)
{
	/* acquire: pairs with the release store of CLOSED in close. */
	if (!s->owner && SHMK_LOAD_ACQ_U32(&s->hdr->owner_state) != SHMK_SLOTS_OWNER_LIVE)
		return shmk_fail(SHMK_EPEERDEAD, "slots: owner of %s closed", s->segment);
	return 0;
}

struct slots_waiting {
	struct shmk_slots *s;
	uint32_t want;
};

static int wait_ready(void *a)
{
	struct slots_waiting *sw = a;

	/* acquire: pairs with the seq_cst bump in shmk_wait_bump (notify) */
	return SHMK_LOAD_ACQ_U32(&sw->s->hdr->notify_gen) != sw->want ? changed(sw->s) : 1;
}

/* r[impl slots.truncate.wait] before the first park and after each
 * wake-up, before the header is touched again */
static int wait_covers(void *a)
{
	return slots_covers(((struct slots_waiting *)a)->s);
}

/* r[impl slots.wait.peerdead] r[impl slots.stall.owner] dead or closed only:
 * a stopped owner's token is alive, so the wait runs to its timeout */
static int wait_peer(void *a)
{
	struct slots_waiting *sw = a;

	if (owner_gone(sw->s))
		return shmk_fail(SHMK_EPEERDEAD, "slots: owner of %s closed or died",
				 sw->s->segment);
	return 1;
}

/* r[impl slots.wait.nolost+2] r[impl slots.wait.peerdead]
 * r[impl reliability.peer.unblock] wait.c spins by time, then parks on
 * notify_gen against the caller's `last`, looking at the owner before the
 * first park and every SHMK_LIVENESS_MS/4 while parked. */
int shmk_slots_wait_for_change(struct shmk_slots *s, uint64_t last, int64_t timeout_ns)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	struct slots_waiting sw = { s, (uint32_t)last };
	struct shmk_wait w = slots_wait_point(s);
	struct shmk_wait_ops ops = { .ready = wait_ready, .covers = wait_covers,
				     .peer = wait_peer, .arg = &sw, .expect = (uint32_t)last,
				     .max_slice = -1, .look_first = true };

	return shmk_wait_until(&w, &ops, timeout_ns);
}
