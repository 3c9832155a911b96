/* SPDX-License-Identifier: MIT */
/*
 * ring_rw.c - the ring's data path: reading, waiting and writing (create,
 * attach, validate and the writer hand-off are in ring.c; see ring.h and
 * conformance/spec/ring.md).
 *
 * Ordering, in libbpf's habit of naming both ends of every barrier:
 *
 *   writer (lock held)                  reader
 *   t = LOAD_ACQ(tail)      (A)         h = LOAD_ACQ(head)      (C)
 *   copy record at head                 read records in [t, h)
 *   STORE_REL(head, h+rl)   (B)         STORE_REL(tail, t+n)    (D)
 *
 * (A) pairs with (D): the reader finished reading bytes before the writer
 * reuses them.  (B) pairs with (C): the record bytes are visible before the
 * head that covers them.  Wake-ups: wait.c's eventcount in its announced
 * mode on the header's gen and waiters words: the reader reads gen,
 * announces itself, re-checks head and sleeps on that gen; the writer
 * fences after (B) and bumps gen and wakes only when it takes an
 * announcement, so a commit between the check and the sleep changes gen
 * and the futex returns at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "internal.h"
#include "wait.h"
#include "shmkit/ring.h"
#include "ring_int.h"

/* ---------------------------------------------------------------- helpers */

/* Up to 16 bytes, as whole 8-byte words and memcpy for the rest: a short
 * payload is most often a multiple of 8, and then no call is made (the
 * call to memcpy was about a tenth of a record's instructions at 8 bytes).
 * Each byte is read once. */
#define RING_COPY_SMALL 16

static inline void ring_copy_small(unsigned char *restrict d, const unsigned char *restrict s,
				   size_t n)
{
	size_t i = 0;
	/* written out: as a loop, gcc turns it back into a call to memcpy */
	if (n >= 8) {
		__builtin_memcpy(d, s, 8);
		i = 8;
		if (n >= 16) {
			__builtin_memcpy(d + 8, s + 8, 8);
			i = 16;
		}
	}
	if (i < n)
		memcpy(d + i, s + i, n - i);
}

/* A payload into the ring (in) or out of it: from SHMK_COPY_LARGE bytes on
 * with copy.c's copies (the reasons and measurements are there), the rest
 * as words or memcpy.  `in` is a constant at every call. */
static inline void ring_copy(void *restrict dst, const void *restrict src, size_t n, bool in)
{
	if (n <= RING_COPY_SMALL)
		ring_copy_small(dst, src, n);
	else if (n < SHMK_COPY_LARGE)
		memcpy(dst, src, n);
	else if (in)
		shmk__copy_in(dst, src, n);
	else
		shmk__copy_out(dst, src, n);
}

size_t shmk_ring_record_len(size_t len)
{
	/* r[impl ring.record.format] */
	if (len > SIZE_MAX - SHMK_RING_REC_HDR - 7)
		return 0;
	return SHMK_RING_REC_HDR + ((len + 7) & ~(size_t)7);
}

/* ---------------------------------------------------------------- reader */

int shmk_ring_capacity(const struct shmk_ring *r, uint64_t *capacity)
{
	if (!r || !capacity)
		return SHMK_FAIL(-EINVAL);
	*capacity = r->m.cap;
	return 0;
}

int shmk_ring_head(const struct shmk_ring *r, uint64_t *head)
{
	if (!r || !head)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.head_tail+2] acquire: pairs with the release of head in publish() */
	*head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
	return 0;
}

int shmk_ring_tail(const struct shmk_ring *r, uint64_t *tail)
{
	if (!r || !tail)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.head_tail+2] r[impl ring.reader.lazy_tail] the reader's own tail: only this
	 * handle moves it (ring.reader.single), and the header's may lag it */
	*tail = r->rtail;
	return 0;
}

int shmk_ring_increment_tail(struct shmk_ring *r, uint64_t amount)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.increment_tail.align] */
	if (amount % 8)
		return shmk_fail(SHMK_EALIGN, "ring: tail increment %llu not a multiple of 8",
				 (unsigned long long)amount);
	uint64_t tail = r->rtail; /* r[impl ring.reader.lazy_tail] */
	/* acquire: pairs with the release of head in publish() */
	uint64_t head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
	/* r[impl ring.reader.increment_tail.range] */
	if (tail > head || amount > head - tail)
		return shmk_fail(SHMK_ERANGE, "ring: tail %llu + %llu passes head %llu",
				 (unsigned long long)tail, (unsigned long long)amount,
				 (unsigned long long)head);
	r->rhead = head;
	r->rtail = tail + amount;
	/* r[impl ring.reader.lazy_tail] r[impl ring.reader.lazy_flush]
	 * upstream's explicit step: published now, amount 0 too (the caller
	 * chose its batch, or hands back what read_message gathered) */
	ring_publish_tail(r);
	return 0;
}

int shmk_ring_read(const struct shmk_ring *r, uint64_t index, void *out, size_t size)
{
	if (!r || !out || size == 0)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.read.size] */
	if (size > SHMK_RING_MAX_MESSAGE)
		return shmk_fail(SHMK_ETOOLARGE, "ring: read of %zu bytes", size);
	size_t align = 8;
	if (size < 8)
		align = size <= 1 ? 1 : size <= 2 ? 2 : size <= 4 ? 4 : 8; /* next power of two */
	/* r[impl ring.reader.read.align] */
	if (index % align)
		return shmk_fail(SHMK_EALIGN, "ring: index %llu not aligned to %zu",
				 (unsigned long long)index, align);
	/* r[impl ring.reader.mirror] offset < cap and size <= 64 KiB stay in the mirror */
	ring_copy(out, r->m.data + ring_off(&r->m, index), size, false);
	return 0;
}

/* shmk_ring_first_message_in past its argument check, folded into
 * shmk_ring_read_message (RING_HOT: the call and its pointer outputs were
 * about a quarter of a short record's read). */
static RING_HOT int first_message(const struct shmk_ring *r, uint64_t start, uint64_t end,
				  uint64_t *tag, const void **payload, size_t *len)
{
	/* r[impl ring.reader.first_message.align] */
	if (start % 8)
		return shmk_fail(SHMK_EALIGN, "ring: record index %llu not 8-aligned",
				 (unsigned long long)start);
	/* r[impl ring.reader.first_message.toosmall] */
	if (end < start || end - start < SHMK_RING_REC_HDR)
		return shmk_fail(SHMK_ETOOSMALL, "ring: range [%llu, %llu) holds no record header",
				 (unsigned long long)start, (unsigned long long)end);
	const uint8_t *rec = r->m.data + ring_off(&r->m, start);
	/* Loaded once each: the records are the writers' and may lie. */
	uint64_t t = SHMK_LOAD_U64(rec);
	uint64_t n = SHMK_LOAD_U64(rec + 8);
	uint64_t room = end - start - SHMK_RING_REC_HDR;
	/* r[impl ring.reader.first_message.badlen] r[impl ring.reader.bounds]
	 * r[impl ring.record.max] */
	if (n > SHMK_RING_MAX_PAYLOAD || ((n + 7) & ~7ull) > room)
		return shmk_fail(SHMK_EBADLEN, "ring: record at %llu claims %llu bytes",
				 (unsigned long long)start, (unsigned long long)n);
	if (tag)
		*tag = t;
	if (payload)
		*payload = rec + SHMK_RING_REC_HDR;
	if (len)
		*len = (size_t)n;
	return 0;
}

int shmk_ring_first_message_in(const struct shmk_ring *r, uint64_t start, uint64_t end,
			       uint64_t *tag, const void **payload, size_t *len)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	return first_message(r, start, end, tag, payload, len);
}

/* Any registered writer alive?  Bounded: SHMK_RING_MAX_WRITERS slots. */
static int writers_alive(const struct shmk_ring_wpage *wp)
{
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++) {
		/* acquire: pairs with the seq_cst CAS of token in claim_slot and
		 * shmk_ring_writer_close, so the last commit of a writer seen as
		 * gone is visible to the head re-check in shmk_ring_wait */
		uint64_t t = SHMK_LOAD_ACQ_U64(&wp->slots[i].token);
		if (t && shmk_token_alive(t))
			return 1;
	}
	return 0;
}

/* The header's wait point: wait.c's eventcount, announced mode.  The
 * delay point names are the ring lost wake-up hunt's. */
static inline struct shmk_wait ring_wait_point(struct shmk_ring_hdr *h)
{
	return (struct shmk_wait){ .word = &h->gen, .waiters = &h->waiters,
				   .mode = SHMK_WAIT_ANNOUNCED,
				   .park_gap = "ring.wait.gap",
				   .wake_gap = "ring.wake.gap" };
}

struct ring_waiting {
	struct shmk_ring *r;
	uint64_t index;
};

static int wait_ready(void *a)
{
	struct ring_waiting *rw = a;

	/* acquire: pairs with the release of head in publish() */
	return SHMK_LOAD_ACQ_U64(&rw->r->m.hdr->head) > rw->index ? 0 : 1;
}

/* r[impl ring.truncate.wait] before the first park and after each
 * wake-up, before the writers page is read */
static int wait_covers(void *a)
{
	struct ring_waiting *rw = a;

	return ring_covers(rw->r->fd, &rw->r->m);
}

/* r[impl ring.reader.wait.peerdead] */
static int wait_peer(void *a)
{
	struct ring_waiting *rw = a;

	/* acquire: pairs with the seq_cst fetch_add in claim_slot, which
	 * follows the token CAS that writers_alive must then see */
	if (!SHMK_LOAD_ACQ_U64(&rw->r->m.wp->registered) || writers_alive(rw->r->m.wp))
		return 1;
	/* A commit just before the last writer left still counts. */
	if (wait_ready(rw) == 0)
		return 0;
	return shmk_fail(SHMK_EPEERDEAD, "ring: no live writer");
}

/* r[impl ring.reader.wait.wake+4] r[impl ring.reader.wait.timeout]
 * r[impl reliability.peer.unblock] A record already there costs one
 * load: no clock read, no getenv.  Then wait.c spins, checks the size, looks
 * at the writers once before the first park (a ring whose writers are all
 * gone answers at once, even with a zero timeout) and every
 * SHMK_LIVENESS_MS/4 while parked: the token check is exact, so a death is
 * seen within half of it, and the period scales with the knob, so a lost
 * wake-up hunt that raises the knob sees a lost wake-up as a hang instead
 * of a slow poll. */
int shmk_ring_wait(struct shmk_ring *r, uint64_t index, int64_t timeout_ns)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.lazy_tail] before any spin or park: a writer
	 * polling SHMK_EFULL must see the space of every record we read */
	ring_publish_tail(r);
	struct ring_waiting rw = { r, index };
	struct shmk_wait w = ring_wait_point(r->m.hdr);
	struct shmk_wait_ops ops = { .ready = wait_ready, .covers = wait_covers,
				     .peer = wait_peer, .arg = &rw, .max_slice = -1,
				     .look_first = true };

	return shmk_wait_until(&w, &ops, timeout_ns);
}

int shmk_ring_read_message(struct shmk_ring *r, uint64_t *tag, void *buf, size_t buflen,
			   size_t *len, int64_t timeout_ns)
{
	/* r[impl ring.api.args] */
	if (!r || (!buf && buflen))
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.lazy_tail] our tail, and the head we loaded
	 * last: while records remain below it the header line is not touched */
	uint64_t tail = r->rtail, head = r->rhead;
	int rc;
	if (head <= tail) {
		/* acquire: pairs with the release of head in publish() */
		head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
		/* r[impl ring.reader.read_message] wait only when nothing is there */
		if (head <= tail) {
			rc = shmk_ring_wait(r, tail, timeout_ns);
			if (rc)
				return rc;
			/* acquire: pairs with the release of head in publish() */
			head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
		}
		r->rhead = head;
	}
	/* set when first_message returns 0 (its errors come from shmk_fail,
	 * which the compiler cannot see never returns 0) */
	uint64_t t = 0;
	const void *p = NULL;
	size_t n = 0;
	rc = first_message(r, tail, head, &t, &p, &n);
	if (rc)
		return rc;
	if (len)
		*len = n;
	if (n > buflen)
		return shmk_fail(SHMK_EBUFSMALL, "ring: message of %zu bytes, buffer %zu", n,
				 buflen);
	if (n)
		ring_copy(buf, p, n, false);
	if (tag)
		*tag = t;
	/* What increment_tail would check, first_message_in already did on
	 * these same copies: tail is 8-aligned and record_len(n) <= head -
	 * tail.  So skip its second load of head (a miss on the line the
	 * writer just stored). */
	r->rtail = tail + shmk_ring_record_len(n);
	/* r[impl ring.reader.lazy_tail] published once lazy bytes gathered:
	 * the tail store takes the header line from the writer, whose next
	 * head store takes it back, two transfers per record when eager */
	if (r->rtail - r->ptail >= r->lazy)
		ring_publish_tail(r);
	return 0;
}

/* ---------------------------------------------------------------- writer */

/* r[impl ring.writer.sole+6] The process's fork generation: every fork
 * bumps it before the process is copied (pthread_atfork's prepare handler,
 * so the child inherits the bump) and again in the child, so a handle
 * opened before a fork, whose copy the other process may write with, never
 * matches it again on either side.  The parent needs the bump as much as
 * the child: after the fork either copy may store head behind the other's
 * kept one.  It must come in prepare, not in the parent handler: another
 * thread of the parent may write between fork's return and the parent
 * handler, after the child already wrote (a record lost, head moved back).
 * relaxed: a locked writer compares it under the lock, which the child
 * cannot take before the parent's holder releases it, so a comparison that
 * missed the bump finished its record before the child could write; an
 * unlocked one compares again after its busy store (solo_enter), fenced
 * against the child's busy load by the child's membarrier (solo_drain). */
static _Atomic uint64_t ring_fork_gen;
static pthread_once_t ring_fork_once = PTHREAD_ONCE_INIT;

static void ring_fork_bump(void)
{
	/* relaxed: see ring_fork_gen; pairs with the loads in reserve_locked
	 * and solo_enter */
	atomic_fetch_add_explicit(&ring_fork_gen, 1, memory_order_relaxed);
}

/* r[impl ring.writer.solo+4] The calling thread's token (the process
 * token's format over its tid and the thread's start time), which the
 * sole writer stores in busy: a thread that exits or is cancelled inside
 * an unlocked reservation leaves a token that dies with it, as the robust
 * mutex's owner died with its thread.  0: not computed yet in this thread
 * (a forked child's thread has a new tid: ring_fork_child clears it). */
static _Thread_local uint64_t ring_thread_tok;
static _Thread_local bool ring_thread_none;

/* r[impl ring.writer.solo.owner] The process's armed handles, whose
 * solo_fd holds the OFD lock.  A forked child closes its copies (the open
 * file description stays locked by the parent's): held by the child too,
 * the lock would say "the sole writer's process lives" after the parent
 * died, making the others wait and fail with SHMK_EBUSY (safe, but the
 * ring would be wedged for as long as the child lives).  solo_mu is held
 * across fork (prepare to the parent or child handler), so the child's
 * list is whole. */
static pthread_mutex_t solo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct shmk_ring_writer *solo_list;

static void ring_fork_prepare(void)
{
	pthread_mutex_lock(&solo_mu);
	ring_fork_bump();
}

static void ring_fork_parent(void)
{
	pthread_mutex_unlock(&solo_mu);
}

static void ring_fork_child(void)
{
	for (struct shmk_ring_writer *w = solo_list; w; w = w->solo_next) {
		close(w->solo_fd);
		w->solo_own = 0;
	}
	solo_list = NULL;
	pthread_mutex_unlock(&solo_mu);
	ring_fork_bump();
	ring_thread_tok = 0;
	ring_thread_none = false;
}

/* The calling thread's token, or 0 when /proc cannot tell it (then the
 * record takes the lock).  A failed look is remembered (ring_thread_none)
 * so a thread without /proc does not pay a gettid and an open per record;
 * the fork child handler clears both. */
static __attribute__((noinline)) uint64_t ring_thread_token_slow(void)
{
	if (!ring_thread_none) {
		uint64_t t;
		if (shmk_token_for_pid((pid_t)syscall(SYS_gettid), &t))
			ring_thread_none = true;
		else
			ring_thread_tok = t;
	}
	return ring_thread_tok;
}

/* Known after the thread's first record: one thread-local load. */
static RING_HOT uint64_t ring_thread_token(void)
{
	uint64_t t = ring_thread_tok;
	return SHMK_LIKELY(t) ? t : ring_thread_token_slow();
}

static void ring_fork_watch(void)
{
	/* Cannot fail but with ENOMEM; then forks go unseen, so the handles
	 * opened meanwhile get a generation no load will ever match
	 * (shmk_ring__fork_gen) and never keep head, and no handle arms
	 * (wlock: a child could not drop the lock, nor see the fork). */
	if (shmk_sys_atfork(ring_fork_prepare, ring_fork_parent, ring_fork_child))
		atomic_store_explicit(&ring_fork_gen, UINT64_MAX, memory_order_relaxed);
}

/* r[impl ring.writer.solo.atfork] Registered at library load, not at the
 * first writer open: glibc runs prepare handlers in the reverse order of
 * registration, and ring_fork_prepare holds solo_mu until the parent or
 * child handler.  Registered late (after the application's handlers),
 * ours ran first and held solo_mu while an application's prepare waited
 * for its own lock U, whose holder could be waiting for solo_mu (closing
 * or arming a writer): a deadlock (review s7 finding 2).  Registered at
 * load, ours run after every handler registered later, so solo_mu is
 * taken last and released first; sections under solo_mu call no foreign
 * code, so nothing waits for another lock while holding it.  (A library
 * whose constructor registers before ours can still order itself
 * first; only its own lock taken around a shmkit call could then
 * deadlock.)  The pthread_once in shmk_ring__fork_gen is then one load. */
__attribute__((constructor)) static void ring_fork_load(void)
{
	pthread_once(&ring_fork_once, ring_fork_watch);
}

uint64_t shmk_ring__fork_gen(void)
{
	pthread_once(&ring_fork_once, ring_fork_watch);
	/* relaxed: pairs with the fetch_add in ring_fork_bump (this thread's
	 * own forks; see ring_fork_gen) */
	uint64_t g = atomic_load_explicit(&ring_fork_gen, memory_order_relaxed);
	return g == UINT64_MAX ? g - 1 : g;
}

/* r[impl ring.writer.wake+3] after publish (B): the fence, then one load
 * while the reader is busy; an announced reader is woken once (the take),
 * however many records it misses before it runs. */
static RING_HOT void wake_reader(struct shmk_ring_writer *w)
{
	struct shmk_wait wp = ring_wait_point(w->m.hdr);

	shmk_wait_fence();
	shmk_wait_wake(&wp);
}

/*
 * r[impl ring.writer.solo+4] The sole writer's unlocked records.  A Dekker
 * pair made asymmetric: the sole writer (every record) stores its token in
 * busy and then loads registered with only a compiler barrier between; a
 * writer that takes the lock (rarely: once per handle and fork generation)
 * runs membarrier, which executes a full barrier on every CPU running a
 * registered process, and then loads busy.  So either the sole writer's
 * load sees the other's registration (it takes the lock from then on: the
 * count never goes down) or its busy store is seen, and the other waits
 * for busy to clear (the record published) or for its token to die (a
 * dead sole writer published nothing: head moves only at the end).  A
 * build older than this protocol ignores busy: ring.layout.version (2)
 * keeps it off the file.
 */

/* 1 when this record goes without the lock (busy is ours: solo_leave
 * after it), 0 to take the lock. */
static RING_HOT int solo_enter(struct shmk_ring_writer *w)
{
	struct shmk_ring_wpage *wp = w->m.wp;

	/* relaxed: see ring_fork_gen (a copy of the handle in a forked
	 * process, or the parent after a fork, takes the lock) */
	if (!w->solo || !w->kept ||
	    w->fork_gen != atomic_load_explicit(&ring_fork_gen, memory_order_relaxed))
		return 0;
	uint64_t me = ring_thread_token();
	if (!me)
		return 0;
	/* a fork by another thread here is what the second generation load
	 * below is for (test: ring/solo_fork_gap) */
	SHMK_DELAY_POINT("ring.solo.gap");
	/* relaxed, then a compiler barrier only: the other side's membarrier
	 * orders this store before the loads of registered and of the fork
	 * generation below, paired with the acquire load of busy in solo_drain */
	atomic_store_explicit(&wp->busy, me, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	/* relaxed: registered pairs with the fetch_add in claim_slot, made
	 * visible to this load by the registering writer's membarrier
	 * (solo_drain); the generation again with ring_fork_bump: another
	 * thread's fork since the check above (its prepare handler bumps before
	 * the child exists) means the child may drain and write at the header
	 * head, so this record must not use the kept one (ring_fork_gen) */
	if (SHMK_LOAD_U64(&wp->registered) == 1 &&
	    w->fork_gen == atomic_load_explicit(&ring_fork_gen, memory_order_relaxed))
		return 1;
	/* release: pairs with the acquire load of busy in solo_drain */
	atomic_store_explicit(&wp->busy, 0, memory_order_release);
	w->solo = 0; /* registered never goes down; nor the fork generation */
	return 0;
}

static RING_HOT void solo_leave(struct shmk_ring_writer *w)
{
	/* release: pairs with the acquire load of busy in solo_drain; the
	 * head just published comes before it */
	atomic_store_explicit(&w->m.wp->busy, 0, memory_order_release);
}

/* r[impl ring.writer.solo.dead+2] The inode of the pid namespace of the
 * process /proc/<pid> names (pid "self" or a number), 0 when unknown: a
 * pid number and a start tick name one process only within one pid
 * namespace (review s7 finding 3). */
static uint64_t solo_pid_ns(const char *pid)
{
	char path[48];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/pid", pid);
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

/* r[impl ring.writer.solo.dead+2] busy names a thread that provably died in
 * its record (it published nothing: head moves at the end).  The proofs:
 * the sole writer's OFD lock is free (the kernel drops it when the last
 * descriptor of its open file description goes: the process died or
 * exec'd, as it released a robust mutex), or its process is visible in our
 * /proc with the token stored at arming while the thread is not.  Not
 * seeing a process proves nothing (another pid namespace, hidepid): the
 * holder then counts as alive until the bound.  proc: also look in /proc
 * (two opens; the lock query is one fcntl). */
static int solo_holder_dead(struct shmk_ring_writer *w, uint64_t b, int proc)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = SHMK_RING_SOLO_LOCK_OFF, .l_len = 1 };

	/* our fd's open file description is never the owner's (solo_arm
	 * re-opens), so its lock conflicts; a refused query proves nothing */
	if (fcntl(w->fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK)
		return 1;
	if (!proc)
		return 0;
	/* relaxed: stored before solo under the lock (solo_arm), which
	 * orders it before this load */
	uint64_t owner = SHMK_LOAD_U64(&w->m.wp->owner), t;
	if (!owner || shmk_token_for_pid((pid_t)SHMK_TOKEN_PID(owner), &t) || t != owner)
		return 0;
	/* r[impl ring.writer.solo.dead+2] and the process found is in the
	 * owner's pid namespace (stored at arming, read once; 0 or another
	 * one, a forged word included, proves nothing) */
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)SHMK_TOKEN_PID(owner));
	uint64_t ns = SHMK_LOAD_U64(&w->m.wp->owner_ns);
	if (!ns || solo_pid_ns(pid) != ns)
		return 0;
	return !shmk_token_alive(b);
}

/* r[impl ring.writer.solo.drain] Under the lock, once per handle and fork
 * generation while a sole writer has ever armed: fence it and wait until
 * it is out of its unlocked record (or dead).  0, or an error having
 * changed nothing. */
static int solo_drain(struct shmk_ring_writer *w, uint64_t gen)
{
	struct shmk_ring_wpage *wp = w->m.wp;

	/* relaxed: solo is stored under this lock (solo_arm), which orders it */
	if (w->fenced == gen + 1 || !SHMK_LOAD_U64(&wp->solo))
		return 0;
	/* the process's one membarrier owner (wait.h): GLOBAL_EXPEDITED
	 * reaches the sole writer, which armed only once its process was
	 * registered (solo_arm); refused (seccomp, SHMK_FAULT=membarrier),
	 * this writer cannot fence it and writes nothing */
	int e = shmk_membarrier_heavy();
	if (e)
		return shmk_fail(e, "ring: no membarrier to fence the sole writer with");
	int64_t until = 0, next_proc = 0;
	long nap_ns = 50000;
	unsigned spins = 0;
	uint64_t b;
	/* acquire: pairs with the release stores of 0 in solo_leave and
	 * solo_enter (the sole writer's head store comes before) */
	while ((b = SHMK_LOAD_ACQ_U64(&wp->busy)) != 0) {
		if (++spins < 1024) {
			shmk_cpu_relax();
			continue;
		}
		/* r[impl ring.writer.solo.dead+2] bounded polling: naps growing
		 * to 1 ms, the lock query every round, /proc every 8 ms */
		int64_t now = shmk_now_ns();
		int proc = now >= next_proc;
		if (proc)
			next_proc = now + 8000000;
		if (solo_holder_dead(w, b, proc)) {
			/* Clear the word so the writers draining after us skip
			 * the spins; a CAS, as a live thread of that process may
			 * have stored its own token since (relaxed: nothing is
			 * published by it, and the lock orders it for the next
			 * drainer). */
			atomic_compare_exchange_strong_explicit(&wp->busy, &b, 0,
								memory_order_relaxed,
								memory_order_relaxed);
			break;
		}
		if (!until)
			until = now + shmk_liveness_ns();
		else if (now > until)
			return shmk_fail(SHMK_EBUSY, "ring: the sole writer stayed in its record "
						     "past SHMK_LIVENESS_MS");
		struct timespec ts = { 0, nap_ns };
		nanosleep(&ts, NULL);
		if (nap_ns < 1000000)
			nap_ns *= 2;
	}
	w->fenced = gen + 1;
	return 0;
}

/* Under the lock: the only writer ever registered, in the process that
 * opened it, arms its unlocked path.  Its process registers for the
 * expedited membarrier first (else it never arms: the others' fence would
 * not reach it).  solo is stored under the lock, so a writer registering
 * later sees it at its first lock (registration precedes it), and one
 * registered earlier makes registered != 1 here. */
static void solo_arm(struct shmk_ring_writer *w, uint64_t gen)
{
	struct shmk_ring_wpage *wp = w->m.wp;

	/* relaxed: registered pairs with the fetch_add in claim_slot, which
	 * our first lock orders before this load */
	if (w->solo || w->mediated || w->fork_gen != gen || SHMK_LOAD_U64(&wp->registered) != 1)
		return;
	/* cached per process (wait.h): QUERY and REGISTER once */
	if (!shmk_membarrier_ready())
		return;
	/* r[impl ring.writer.solo.owner] the OFD lock through our own
	 * O_CLOEXEC open file description (w->fd's may be shared with the
	 * process that handed it over); no lock, no arming.  Under solo_mu:
	 * a fork from here on finds the fd in the list (the child closes its
	 * copy), and one before it bumped the generation checked here. */
	pthread_mutex_lock(&solo_mu);
	char path[48];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", w->fd);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = SHMK_RING_SOLO_LOCK_OFF, .l_len = 1 };
	int fd = -1;
	/* relaxed: see ring_fork_gen (prepare bumps it under solo_mu) */
	if (gen == atomic_load_explicit(&ring_fork_gen, memory_order_relaxed))
		fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl)) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		w->solo_fd = fd;
		w->solo_own = 1;
		w->solo_next = solo_list;
		solo_list = w;
		/* relaxed, both: ordered by the lock for every later writer
		 * (solo_drain, solo_holder_dead) */
		atomic_store_explicit(&wp->owner, w->token, memory_order_relaxed);
		atomic_store_explicit(&wp->owner_ns, solo_pid_ns("self"), memory_order_relaxed);
		atomic_store_explicit(&wp->solo, 1, memory_order_relaxed);
		w->solo = 1;
	}
	pthread_mutex_unlock(&solo_mu);
}

void shmk_ring__solo_release(struct shmk_ring_writer *w)
{
	if (!w->solo_own)
		return;
	pthread_mutex_lock(&solo_mu);
	for (struct shmk_ring_writer **p = &solo_list; *p; p = &(*p)->solo_next)
		if (*p == w) {
			*p = w->solo_next;
			break;
		}
	close(w->solo_fd);
	w->solo_own = 0;
	pthread_mutex_unlock(&solo_mu);
}

static int wlock(struct shmk_ring_writer *w)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)(void *)w->m.wp->lock;
	struct timespec ts;

	/* r[impl ring.writer.lock+2] Uncontended: one trylock, no clock read
	 * and no getenv (shmk_liveness_ns) on the per-record path; the
	 * deadline is computed only when we must wait. */
	int e = pthread_mutex_trylock(mu);
	if (e == EBUSY) {
		int64_t until = shmk_now_ns() + shmk_liveness_ns();
		ts.tv_sec = until / 1000000000;
		ts.tv_nsec = until % 1000000000;
		e = pthread_mutex_clocklock(mu, CLOCK_MONOTONIC, &ts);
	}
	if (e == EOWNERDEAD) {
		/* another writer was registered (it died): never sole again */
		w->kept = 0;
		/* r[impl ring.writer.lock.recover] the dead holder never
		 * published (head moves only at the end), so its half-written
		 * bytes lie beyond head; the head we are about to validate is
		 * the last committed one. */
		pthread_mutex_consistent(mu);
		e = 0;
	}
	if (e == 0) {
		/* relaxed: see ring_fork_gen */
		uint64_t raw = atomic_load_explicit(&ring_fork_gen, memory_order_relaxed);
		/* r[impl ring.writer.solo.owner] the atfork sentinel
		 * (ring_fork_watch): forks go unseen, so one drain per handle
		 * (gen + 1 must not wrap to "never") and no arming */
		uint64_t gen = raw == UINT64_MAX ? raw - 1 : raw;
		/* r[impl ring.writer.solo.self] The armed handle in the process
		 * that armed it (a fork child closed its copy's lock: solo_own
		 * is 0 there) drains nothing: only this handle ever writes
		 * unlocked (one OFD lock per ring), and a writer handle belongs
		 * to one thread at a time (ring.h), the one here, so none of its
		 * records is open; a record whose thread died left busy naming
		 * it and published nothing.  So a sole writer whose process
		 * refuses membarrier later (seccomp) still writes after a fork. */
		int rc = w->solo_own ? 0 : solo_drain(w, gen);
		if (rc) {
			pthread_mutex_unlock(mu);
			return rc;
		}
		if (raw != UINT64_MAX)
			solo_arm(w, gen);
		return 0;
	}
	/* r[impl ring.writer.lock.deadline] r[impl ring.writer.stopped-holder]
	 * a live holder (stopped, frozen) keeps the lock: only EOWNERDEAD
	 * hands it over, so its late bytes never land on another's record */
	if (e == ETIMEDOUT)
		return shmk_fail(SHMK_EBUSY, "ring: writers' lock held past SHMK_LIVENESS_MS");
	return SHMK_FAIL(-e);
}

static void wunlock(struct shmk_ring_writer *w)
{
	pthread_mutex_unlock((pthread_mutex_t *)(void *)w->m.wp->lock);
}

/*
 * With the lock held: validates head and tail and checks space for a
 * record of `len` payload bytes; writes the record header and padding.
 * Returns the head to publish after and the record's address, or an error
 * having written nothing.
 */
static RING_HOT int reserve_locked(struct shmk_ring_writer *w, int solo, uint64_t tag,
				   size_t len, uint64_t *head_out, uint64_t *rl_out,
				   uint8_t **rec_out)
{
	struct shmk_ring_hdr *h = w->m.hdr;
	uint64_t cap = w->m.cap;
	uint64_t rl = shmk_ring_record_len(len);
	uint64_t head, tail;

	/* r[impl ring.writer.sole+6] Under the lock: a writer that registered
	 * after our last publish did so before it could take the lock (its
	 * claim_slot precedes its first lock), so a count of one here means
	 * no other handle has stored head since.  relaxed: pairs with the
	 * fetch_add of registered in claim_slot, ordered before this load by
	 * the lock (the other writer's unlock, our acquire).  A copy of this
	 * handle in a forked process registers nothing: the fork generation
	 * (ring_fork_gen, one process-local load) rules it out.  The header
	 * line, which the reader writes (tail) and polls (head), is then
	 * only stored to: the load of head and tail it saves is a transfer
	 * of that line per record.  solo: solo_enter found all three after
	 * its busy store (kept, a count of one, the generation), which is
	 * the later look. */
	if (solo || (w->kept && SHMK_LOAD_U64(&w->m.wp->registered) == 1 &&
		     w->fork_gen == atomic_load_explicit(&ring_fork_gen, memory_order_relaxed))) {
		head = w->kept_head;
		tail = w->kept_tail;
		if (head + rl - tail > cap) {
			/* r[impl ring.writer.validate+3] acquire: pairs with the
			 * release of tail in shmk_ring_read_message and
			 * shmk_ring_increment_tail */
			tail = SHMK_LOAD_ACQ_U64(&h->tail);
		}
	} else {
		/* r[impl ring.writer.validate+3] each loaded once; the copies are used */
		head = SHMK_LOAD_U64(&h->head); /* only writers store it, under this lock */
		/* acquire: pairs with the release of tail in shmk_ring_read_message
		 * and shmk_ring_increment_tail */
		tail = SHMK_LOAD_ACQ_U64(&h->tail);
		w->kept = 0;
	}
	if (head % 8 || tail > head || head - tail > cap) {
		w->kept = 0;
		return shmk_fail(SHMK_EINTEGRITY, "ring: head %llu tail %llu impossible",
				 (unsigned long long)head, (unsigned long long)tail);
	}
	if (w->kept_tail != tail)
		w->kept_tail = tail; /* validated: loaded just now, or kept */
	/* r[impl ring.writer.overflow] */
	if (head > UINT64_MAX - rl)
		return shmk_fail(SHMK_EINTEGRITY, "ring: head %llu + %llu would wrap",
				 (unsigned long long)head, (unsigned long long)rl);
	/* r[impl ring.writer.space] */
	if (head + rl - tail > cap)
		/* a constant detail, formatted only if asked for: a writer polls
		 * a full ring with this return (vsnprintf was 30 % of a full-ring
		 * writer's samples) */
		return shmk_fail_at(SHMK_EFULL, "ring: the record does not fit in the free space");
	/* r[impl ring.writer.bounds] offset < cap and rl <= 64 KiB: inside ring + mirror */
	uint8_t *rec = w->m.data + ring_off(&w->m, head);
	/* r[impl ring.record.format] r[impl ring.writer.tag] the owner's tag, never the caller's */
	memcpy(rec, &tag, 8);
	uint64_t n64 = len;
	memcpy(rec + 8, &n64, 8);
	if (rl - SHMK_RING_REC_HDR - len)
		memset(rec + SHMK_RING_REC_HDR + len, 0, rl - SHMK_RING_REC_HDR - len);
	*head_out = head;
	*rl_out = rl;
	*rec_out = rec;
	return 0;
}

static RING_HOT void publish(struct shmk_ring_writer *w, uint64_t head, uint64_t rl)
{
	/* r[impl reliability.crash.committed] head covers only whole records */
	/* r[impl ring.writer.publish] release: pairs with the acquire of head in
	 * shmk_ring_head / shmk_ring_wait / read_message: the bytes written
	 * above are visible before the head that covers them */
	atomic_store_explicit(&w->m.hdr->head, head + rl, memory_order_release);
	/* r[impl ring.writer.sole+6] the header's head as we stored it (the
	 * tail it was checked against is already in kept_tail) */
	w->kept_head = head + rl;
	if (!w->kept)
		w->kept = 1;
}

/*
 * After a record of at least RING_NEXT_PREFETCH_MIN bytes is published, the
 * line its end falls in - where the next record's header goes - is fetched
 * for writing.  The next record's first store is its header, into that
 * line, and every store of its copy queues behind that one; the fetch
 * starts it while the caller prepares the next message (the likely
 * reason: the bench machines have no PMU to show it).  A hint: no store
 * and no shared state.  When another writer takes the lock next, the fetch
 * is wasted and that writer fetches the line back (multi-writer throughput
 * with and without it is unmeasured).  Measured on ring/copy_tput (far
 * placement, alternating runs of two builds, median of 10-12):
 *   - 4096 B: ilv_ratio 0.926 -> 1.016 (2.00 -> 2.20 M records/s); in a
 *     one-build A/B 0.922 -> 0.981 and 0.928 -> 0.953.  Fetching the next
 *     record's first 64 bytes instead read 0.966, its first 4 KiB 0.82
 *     (those fetches queue ahead of the copy's own), only the line after
 *     it 0.938;
 *   - 1024 B: 2.60 -> 2.72 M/s, reserve_tput/1024 4.05 -> 4.01 (same);
 *   - 256 B: 3.16 -> 3.14 M/s, ilv_ratio 0.78 -> 0.73 (no gain), and
 *     below that the next header is mostly in the line the reader is
 *     reading now: smaller records are left alone.
 */
#define RING_NEXT_PREFETCH_MIN 1024

static inline void ring_prefetch_next(const uint8_t *rec, uint64_t rl)
{
	/* rec + rl: inside ring + mirror (ring.writer.bounds), and a prefetch
	 * does not fault in any case */
	if (rl >= RING_NEXT_PREFETCH_MIN)
		shmk_prefetch_w(rec + rl);
}

/* One record of len bytes (iov's, checked) with tag: the one append of
 * direct writers and the mediator.  RING_HOT: shmk_ring_write folds it in
 * with its one segment. */
static RING_HOT int ring_append(struct shmk_ring_writer *w, uint64_t tag, const struct iovec *iov,
				int iovcnt, size_t len)
{
	uint64_t head = 0, rl = 0; /* set by reserve_locked when it returns 0 */
	uint8_t *dst = NULL;
	/* r[impl ring.writer.solo+4] */
	int solo = solo_enter(w), rc = 0;
	if (!solo && (rc = wlock(w)))
		return rc;
	SHMK_CRASH_POINT("ring.write.locked");
	rc = reserve_locked(w, solo, tag, len, &head, &rl, &dst);
	if (rc) {
		solo ? solo_leave(w) : wunlock(w);
		return rc;
	}
	dst += SHMK_RING_REC_HDR;
	size_t done = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			ring_copy(dst + done, iov[i].iov_base, iov[i].iov_len, true);
		done += iov[i].iov_len;
		SHMK_CRASH_POINT("ring.write.copying");
	}
	SHMK_CRASH_POINT("ring.write.copied");
	publish(w, head, rl);
	solo ? solo_leave(w) : wunlock(w);
	wake_reader(w);
	ring_prefetch_next(dst - SHMK_RING_REC_HDR, rl);
	return 0;
}

int shmk_ring__append(struct shmk_ring_writer *w, uint64_t tag, const struct iovec *iov,
		      int iovcnt, size_t len)
{
	return ring_append(w, tag, iov, iovcnt, len);
}

/* r[impl ring.truncate.hot-path] no size check: see ring_covers */
int shmk_ring_writev(struct shmk_ring_writer *w, const struct iovec *iov, int iovcnt)
{
	size_t len = 0;

	/* r[impl ring.api.args] */
	if (!w || iovcnt < 0 || (iovcnt && !iov))
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.writer.iov] */
	if (iovcnt > SHMK_RING_MAX_IOV)
		return shmk_fail(-EINVAL, "ring: %d segments, at most %d", iovcnt,
				 SHMK_RING_MAX_IOV);
	if (w->reserved)
		return shmk_fail(-EINVAL, "ring: a reservation is pending");
	for (int i = 0; i < iovcnt; i++) {
		/* r[impl ring.writer.toolarge] r[impl ring.record.max] */
		if (iov[i].iov_len > SHMK_RING_MAX_PAYLOAD - len)
			return shmk_fail(SHMK_ETOOLARGE, "ring: message over %u bytes",
					 SHMK_RING_MAX_PAYLOAD);
		len += iov[i].iov_len;
	}
	if (w->mediated)
		return shmk_ring__med_writev(w, iov, iovcnt, len);
	return shmk_ring__append(w, w->tag, iov, iovcnt, len);
}


/* r[impl ring.truncate.hot-path] shmk_ring_writev's checks for its one
 * segment, in its order, and the append folded in (a short record's write
 * was two calls deep). */
int shmk_ring_write(struct shmk_ring_writer *w, const void *buf, size_t len)
{
	struct iovec iov = { (void *)(uintptr_t)buf, len };

	/* r[impl ring.api.args] */
	if (!w || (!buf && len))
		return SHMK_FAIL(-EINVAL);
	if (w->reserved)
		return shmk_fail(-EINVAL, "ring: a reservation is pending");
	/* r[impl ring.writer.toolarge] r[impl ring.record.max] */
	if (len > SHMK_RING_MAX_PAYLOAD)
		return shmk_fail(SHMK_ETOOLARGE, "ring: message over %u bytes",
				 SHMK_RING_MAX_PAYLOAD);
	if (w->mediated)
		return shmk_ring__med_writev(w, &iov, 1, len);
	return ring_append(w, w->tag, &iov, 1, len);
}

/*
 * A reserved payload of RING_RESERVE_PREFETCH_MIN..MAX bytes is fetched for
 * writing whole before it is handed out.  The caller then fills it with
 * plain stores, and each line's first store would otherwise wait for the
 * line to come from the reader's cache, a few lines at a time as the store
 * buffer fills; all of them asked for at once arrive together.  Measured
 * on ring/reserve_tput (far placement): at 1024 bytes 1.19x in bench-ab
 * (5 repetitions, 2.96 -> 3.47 M records/s) and 1.4-1.6x in three
 * alternating runs, where prefetching only the first 512 bytes gained
 * nothing; at 256 bytes, the smallest size tried, no difference either
 * way; at 4096 bytes it lost (2.6-2.8 M/s without, 1.9 with the first
 * 1 KiB, 2.3 with the first 512 bytes), so a 4 KiB record is left to the
 * hardware.
 */
#define RING_RESERVE_PREFETCH_MIN 256
#define RING_RESERVE_PREFETCH_MAX 1024

static inline void ring_prefetch_payload(const uint8_t *p, size_t len)
{
	for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)63; a < (uintptr_t)p + len; a += 64)
		shmk_prefetch_w((const void *)a);
}

int shmk_ring_reserve(struct shmk_ring_writer *w, size_t len, void **payload)
{
	uint64_t head = 0, rl = 0; /* set by reserve_locked when it returns 0 */
	uint8_t *rec = NULL;

	if (!w || !payload)
		return SHMK_FAIL(-EINVAL);
	if (w->reserved)
		return shmk_fail(-EINVAL, "ring: a reservation is pending");
	if (w->mediated)
		return shmk_fail(-EOPNOTSUPP, "ring: a mediated writer has no mapping to reserve in");
	/* r[impl ring.record.max] */
	if (len > SHMK_RING_MAX_PAYLOAD)
		return shmk_fail(SHMK_ETOOLARGE, "ring: message over %u bytes",
				 SHMK_RING_MAX_PAYLOAD);
	/* r[impl ring.writer.solo+4] */
	int solo = solo_enter(w), rc = 0;
	if (!solo && (rc = wlock(w)))
		return rc;
	rc = reserve_locked(w, solo, w->tag, len, &head, &rl, &rec);
	if (rc) {
		solo ? solo_leave(w) : wunlock(w);
		return rc;
	}
	/* r[impl ring.writer.reserve] the lock (or busy) stays held until commit/discard */
	w->reserved = 1;
	w->res_solo = solo;
	w->res_head = head;
	w->res_rl = rl;
	*payload = rec + SHMK_RING_REC_HDR;
	if (len >= RING_RESERVE_PREFETCH_MIN && len <= RING_RESERVE_PREFETCH_MAX)
		ring_prefetch_payload(rec + SHMK_RING_REC_HDR, len);
	return 0;
}

/* r[impl ring.writer.solo.copy] A reservation that holds busy (res_solo)
 * exists only on the armed handle, and only the armed handle in the
 * process that armed it has solo_own set (ring_fork_child clears it in a
 * forked copy; shmk_ring__solo_release runs after the discard in close).
 * So res_solo without solo_own is a forked copy's inherited reservation:
 * busy names the original's thread, which is still inside the record.
 * Storing busy = 0 (solo_leave) or head (publish) from here would let the
 * next writer drain past the open record and write over it (review s7
 * finding 1), so the copy only forgets it.  The parent's own commit after
 * the fork still publishes: the fork generation moved for it too, so it
 * cannot tell the copy apart; solo_own can.  Returns 1 when forgotten. */
static int solo_copy_forget(struct shmk_ring_writer *w)
{
	if (!w->res_solo || w->solo_own)
		return 0;
	w->reserved = 0;
	w->res_solo = 0;
	return 1;
}

int shmk_ring_commit(struct shmk_ring_writer *w)
{
	if (w && w->mediated)
		return shmk_fail(-EOPNOTSUPP, "ring: a mediated writer reserves nothing");
	if (!w || !w->reserved)
		return SHMK_FAIL(-EINVAL);
	if (solo_copy_forget(w))
		return shmk_fail(-EPERM, "ring: a forked copy of the sole writer's handle "
				 "cannot commit the reservation it inherited (forgotten)");
	SHMK_CRASH_POINT("ring.commit");
	const uint8_t *rec = w->m.data + ring_off(&w->m, w->res_head);
	publish(w, w->res_head, w->res_rl);
	w->reserved = 0;
	w->res_solo ? solo_leave(w) : wunlock(w);
	wake_reader(w);
	ring_prefetch_next(rec, w->res_rl);
	return 0;
}

int shmk_ring_discard(struct shmk_ring_writer *w)
{
	if (w && w->mediated)
		return shmk_fail(-EOPNOTSUPP, "ring: a mediated writer reserves nothing");
	if (!w || !w->reserved)
		return SHMK_FAIL(-EINVAL);
	if (solo_copy_forget(w))
		return 0;
	/* r[impl ring.writer.reserve] head never moved: nothing to undo */
	w->reserved = 0;
	w->res_solo ? solo_leave(w) : wunlock(w);
	return 0;
}

void shmk_ring__release_slot(struct shmk_ring_writer *w)
{
	/* r[impl ring.writer.solo.copy] a forked copy's slot token is the
	 * original's (w->token, taken at open in that process): clearing it
	 * would make the reader's writers_alive count the living original
	 * gone.  shmk_self_token recomputes after a fork (new pid). */
	if (w->slot_held && w->token != shmk_self_token())
		w->slot_held = 0;
	if (w->slot_held) {
		uint64_t self = w->token;
		/* r[impl ring.writer.register] seq_cst: pairs with the loads in writers_alive() */
		atomic_compare_exchange_strong(&w->m.wp->slots[w->slot].token, &self, 0);
		w->slot_held = 0;
	}
	/* A reader waiting for this writer re-checks liveness now. */
	wake_reader(w);
}

int shmk_ring_writer_close(struct shmk_ring_writer *w)
{
	if (!w)
		return 0;
	if (w->mediated) {
		/* the mediator sees the hang-up; nothing of the ring is ours */
		close(w->sock);
		free(w);
		return 0;
	}
	/* r[impl ring.truncate.close] the lock, the slot and the header may
	 * all be cut: leave them (the reader's liveness check sees us gone) */
	int rc = ring_covers(w->fd, &w->m);
	if (rc == 0) {
		if (w->reserved)
			shmk_ring_discard(w);
		shmk_ring__release_slot(w);
	}
	/* r[impl ring.writer.solo.owner] after the discard: busy is clear */
	shmk_ring__solo_release(w);
	ring_unmap(&w->m);
	close(w->fd);
	if (w->sock >= 0)
		close(w->sock);
	free(w);
	return rc;
}
