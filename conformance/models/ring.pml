/*
 * ring.pml - SPIN model of the mediated-write ring (impl/src/ring_rw.c).
 *
 * A ring of CAP words; `head` (advanced only by writers) and `tail`
 * (advanced only by the reader) are monotonic indices that never wrap;
 * word offset = index mod CAP.  A record is one header word (its length and
 * tag) followed by its payload words, and may straddle the end of the ring.
 *
 * Writers serialise on a robust lock.  Holding it, a writer loads head and
 * tail (acquire), refuses when tail > head (integrity) or when the record
 * does not fit in CAP - (head - tail) words (no space: it drops the lock and
 * retries once the reader moved tail), copies the record, then advances head
 * by the record length (release) and drops the lock.  A writer may die at any
 * point while it holds the lock; the robust lock then passes to the next
 * writer (EOWNERDEAD), which re-validates head; since head moves only at
 * the end, the dead writer's partial record is invisible and is overwritten.
 *
 * A writer that is the only one ever registered (registered == 1, read
 * under the lock) and published the previous record itself keeps head and
 * tail: it uses the head it stored and the tail it last loaded, and loads
 * tail again only when the record does not fit (ring.writer.sole+6).  A
 * writer registers before its first lock; a lock taken from a dead holder
 * drops what it kept.  Or writer 1 is not a registered writer but writer
 * 0's forked child (init chooses): it starts after writer 0's first
 * publish with a copy of what writer 0 kept and registers nothing, so
 * registered stays 1; the fork bumps both processes' fork generation,
 * and a writer keeps head only while its process's generation is the
 * one its handle was opened at (ring.writer.sole+6).  The fork may also
 * land inside writer 0's unlocked record: the child's copy inherits the
 * reservation and forgets it, storing nothing (ring.writer.solo.copy).
 *
 * A sole writer that armed itself under the lock (solo = 1 while
 * registered == 1) writes its later records without the lock: it stores
 * busy, then loads registered, and takes the lock instead when it is not 1;
 * it clears busy after publishing (ring.writer.solo+4).  Every writer that
 * takes the lock while solo is set waits, once per handle and fork
 * generation, until busy is clear or names a dead writer, except the armed
 * handle in the process that armed it (a forked copy drains: the child
 * handler drops its OFD lock, own here; ring.writer.solo.self).  In the C code
 * the busy store and the registered load are separated by a compiler
 * barrier only, so the busy store is modelled buffered (as futex.pml
 * models a store buffer): it sits in busyq, invisible to the other
 * writers, until the hardware drains it (the tso process, at any moment),
 * the sole writer publishes (its release clear of busy comes after it in
 * store order) or the locking writer's membarrier drains it (a full
 * barrier on the sole writer's CPU), which is what the pair (busy,
 * registered) against (registered++, membarrier, busy) rests on.
 *
 * The reader loads head (acquire), parses records from its own tail up to
 * that head, checks each one whole, and advances its own tail past it; it
 * stores that tail into the shared one (release) only once LAZY words
 * gathered, and before it parks (ring.reader.lazy_tail).  A writer short
 * of space waits until the shared tail moves (the C writer polls
 * SHMK_EFULL): a reader that parked with its tail unstored would leave both
 * blocked, an invalid end state.
 *
 * SPIN interleaves under sequential consistency; the statement order below
 * is what the release/acquire pairs in the C code enforce.
 *
 * Checked (assertions and end states):
 *   - no torn record: every record read lies wholly below head, carries a
 *     valid length, and all its payload words match its header's tag;
 *   - per-writer order, no duplication, no loss: writer w's records arrive
 *     as 1, 2, ... and, at the end, every record whose head advance
 *     happened was read;
 *   - tail never passes head (an invariant monitor checks every state);
 *   - a writer never overwrites unread data: each word it writes lies in
 *     [tail + 0, tail + CAP) against the reader's current tail;
 *   - no writer or reader wedges (invalid end states), also when a writer
 *     died holding the lock.
 *
 * @check safety
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_NO_SPACE_CHECK safety no-space-check
 * @planted BUG_NO_LOCK safety writers-not-serialised
 * @planted BUG_SOLE_ALWAYS safety kept-head-with-two-writers
 * @planted BUG_FORK_KEPT safety kept-head-in-a-forked-copy
 * @planted BUG_FORK_CHILD_ONLY safety fork-bumps-only-the-child
 * @planted BUG_SOLO_NO_DRAIN safety locked-writer-ignores-busy
 * @planted BUG_SOLO_NO_RECHECK safety unlocked-without-registered-check
 * @planted BUG_SOLO_NO_MEMBARRIER safety locked-writer-without-membarrier
 * @planted BUG_SOLO_NO_GEN_RECHECK safety unlocked-without-fork-generation-recheck
 * @planted BUG_LAZY_NO_STORE safety reader-parks-with-its-tail-unstored
 * @planted BUG_COPY_DISCARD safety forked-copy-discard-clears-busy
 *
 *   BUG_PUBLISH_EARLY   head is advanced before the record is copied;
 *   BUG_NO_SPACE_CHECK  the writer does not compare against tail;
 *   BUG_NO_LOCK         writers do not take the lock;
 *   BUG_SOLE_ALWAYS     a writer keeps head without looking at registered;
 *   BUG_FORK_KEPT       a writer keeps head without looking at the fork
 *                       generation;
 *   BUG_FORK_CHILD_ONLY the fork bumps the child's generation only;
 *   BUG_SOLO_NO_DRAIN   a writer taking the lock never waits for busy;
 *   BUG_SOLO_NO_RECHECK an armed writer writes unlocked without loading
 *                       registered after its busy store;
 *   BUG_SOLO_NO_MEMBARRIER a writer taking the lock loads busy without
 *                       the membarrier that drains the sole writer's
 *                       buffered busy store;
 *   BUG_SOLO_NO_GEN_RECHECK an armed writer loads only registered after
 *                       its busy store, not the fork generation again;
 *   BUG_COPY_DISCARD    a copy forked inside the parent's unlocked record
 *                       discards the inherited reservation by clearing busy;
 *   BUG_LAZY_NO_STORE   the reader parks without storing the tail it
 *                       gathered.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify ring.writer.lock+2]
 * r[verify ring.writer.lock.recover]
 * r[verify ring.writer.space]
 * r[verify ring.writer.publish]
 * r[verify ring.writer.sole+6]
 * r[verify ring.writer.solo+4]
 * r[verify ring.writer.solo.self]
 * r[verify ring.reader.lazy_tail]
 * r[verify ring.writer.solo.copy]
 */

#define CAP 4              /* ring words */
#define W   2              /* writers */
#define R   2              /* records per writer */
#define LAZY 3             /* the reader stores its tail once this far ahead */

byte ring[CAP];
byte head;                 /* advanced by writers, release */
byte tail;                 /* advanced by the reader, release */
byte lock;                 /* 0 free, else holder + 1 (robust) */
byte registered;           /* writers ever registered (claim_slot) */
byte gen[W];               /* each writer process's fork generation (ring_fork_gen) */
bool forked;               /* writer 1 is writer 0's forked child */
bool spawned;              /* the fork happened */
bool solo;                 /* a sole writer armed its unlocked path */
byte busy;                 /* 0, else the unlocked writer + 1 */
byte busyq;                /* the busy store still in the store buffer (0: none) */

/* drain the store buffer: the hardware, a membarrier, a later release */
#define DRAIN_BUSY if :: busyq != 0 -> busy = busyq; busyq = 0 :: else -> skip fi

/* the hardware drains the buffer on its own, at any time */
active proctype tso()
{
end:	do
	:: atomic { busyq != 0 -> DRAIN_BUSY }
	od
}

/* ghosts */
bool dead[W];
bool finished[W];
byte committed[W];
byte got[W];

/* header word: rl * 16 + tag; tag = w * 4 + s (s = 1..R); payload words = tag */

/* fork(): the child copies the handle (own not: the child handler closes
 * its copy of the OFD lock's fd), when writer 1 is writer 0's child and
 * it has not forked yet, or not yet (another thread forks later: between
 * two records, or between an unlocked record's first generation check
 * and its busy store, ring/solo_fork_gap) */
#define FORK(inh) \
		if \
		:: me == 0 && forked && !spawned -> \
			atomic { \
				spawned = true; \
				gen[1] = gen[0] + 1; /* pthread_atfork child handler */ \
				GEN0_BUMP; \
				run writer(1, false, kept, kh, kt, og, armed, fg, inh) \
			} \
		:: true -> skip \
		fi
#ifndef BUG_FORK_CHILD_ONLY
#define GEN0_BUMP gen[0]++        /* and prepare handler */
#else
#define GEN0_BUMP skip
#endif

/* reg: claim_slot, before the first lock (writer 0's in init); a forked
 * child starts with its parent's kept, kh, kt and og instead. */
proctype writer(byte me; bool reg; bool kept; byte kh, kt, og; bool armed; byte fg; bool inh)
{
	bool own = false;             /* holds the OFD lock: armed here (solo_own) */
	byte s = 1, rl, h, t, k;
	bool fast;

	/* ring.writer.solo.copy: a copy forked inside the parent's
	 * unlocked record inherits that reservation (inh) and forgets it: its
	 * discard or close stores neither busy nor head */
#ifdef BUG_COPY_DISCARD
	if
	:: inh -> busy = 0
	:: else -> skip
	fi;
#endif

	if
	:: reg -> registered++
	:: else -> skip
	fi;

	do
	:: s > R -> break
	:: else ->
		if                        /* payload of 1 or 2 words */
		:: rl = 1
		:: rl = 2
		fi;
again:
		fast = false;
		if                        /* solo_enter */
		:: armed && kept && og == gen[me] ->
			/* another thread's fork may land here, between the
			 * first generation check and the busy store */
			FORK(false);
			busyq = me + 1;       /* relaxed store: buffered */
#ifdef BUG_SOLO_NO_RECHECK
			fast = true
#else
			if
#ifdef BUG_SOLO_NO_GEN_RECHECK
			:: registered == 1 -> fast = true
#else
			:: registered == 1 && og == gen[me] -> fast = true
#endif
			:: else -> atomic { DRAIN_BUSY; busy = 0 }; armed = false
			fi
#endif
		:: else -> skip
		fi;
		if
		:: fast -> skip
		:: else ->
#ifndef BUG_NO_LOCK
			atomic {
				(lock == 0 || dead[lock - 1]) ->
				if            /* EOWNERDEAD: another writer was there */
				:: lock != 0 -> kept = false
				:: else -> skip
				fi;
				lock = me + 1
			};
#endif
			/* solo_drain: once per handle and fork generation, but
			 * not by the armed handle in its own process (ring.writer.
			 * solo.self: only it writes unlocked, and it is here) */
			if
			:: solo && !own && fg != gen[me] + 1 ->
#ifndef BUG_SOLO_NO_MEMBARRIER
				atomic { DRAIN_BUSY };  /* membarrier */
#endif
#ifndef BUG_SOLO_NO_DRAIN
				(busy == 0 || dead[busy - 1]);
#endif
				fg = gen[me] + 1
			:: else -> skip
			fi;
			/* solo_arm */
			if
			:: !armed && og == gen[me] && registered == 1 ->
				solo = true; armed = true; own = true
			:: else -> skip
			fi
		fi;
		if
#if defined(BUG_SOLE_ALWAYS)
		:: kept ->
#elif defined(BUG_FORK_KEPT)
		:: kept && registered == 1 ->
#else
		/* reserve_locked: an unlocked record (fast) found kept, a
		 * count of one and its generation after its busy store
		 * (solo_enter) and does not look again */
		:: fast || (kept && registered == 1 && og == gen[me]) ->
#endif
			h = kh;
			t = kt;
			if
			:: CAP - (h - t) < 1 + rl -> t = tail
			:: else -> skip
			fi
		:: else ->
			kept = false;
			h = head;
			t = tail              /* acquire: pairs with release of tail in reader */
		fi;
		kt = t;
		assert(t <= h);           /* the reader here is honest */
#ifndef BUG_NO_SPACE_CHECK
		if
		:: CAP - (h - t) < 1 + rl ->
			if
			:: fast -> atomic { DRAIN_BUSY; busy = 0 }
			:: else ->
#ifndef BUG_NO_LOCK
				lock = 0;
#endif
				skip
			fi;
			(tail != t);          /* no space: wait for the reader, then retry */
			goto again
		:: else -> skip
		fi;
#endif
#ifdef BUG_PUBLISH_EARLY
		atomic { head = h + 1 + rl; committed[me]++ };
#endif
		if                        /* fork() inside an unlocked record */
		:: fast -> FORK(true)
		:: else -> skip
		fi;
		k = 0;
		do
		:: k > rl -> break
		:: else ->
			/* never overwrite a word the reader has not consumed */
			assert(h + k - tail < CAP);
			if
			:: k == 0 -> ring[(h + k) % CAP] = rl * 16 + me * 4 + s
			:: else -> ring[(h + k) % CAP] = me * 4 + s
			fi;
			if                    /* the writer may die holding the lock */
			:: true -> skip
			:: true -> dead[me] = true; goto out
			fi;
			k++
		od;
#ifndef BUG_PUBLISH_EARLY
		/* release: pairs with acquire of head in reader; ghost count in the same step */
		atomic { head = h + 1 + rl; committed[me]++ };
#endif
		kh = h + 1 + rl;
		kept = true;
		if
		:: fast -> atomic { DRAIN_BUSY; busy = 0 }  /* release, after head */
		:: else ->
#ifndef BUG_NO_LOCK
			lock = 0;
#endif
			skip
		fi;
		FORK(false);              /* fork() between records */
		s++
	od;
out:
	if                        /* died before forking: no child will write */
	:: me == 0 && forked && !spawned -> finished[1] = true
	:: else -> skip
	fi;
	finished[me] = true
}

proctype reader()
{
	byte h, t = 0, pt = 0, hdr, rl, tag, w, k, x;

	do
	:: atomic { finished[0] && finished[1] && head == t } -> break
#ifndef BUG_LAZY_NO_STORE
	:: head == t && pt != t ->   /* about to park: store what gathered */
		tail = t;                /* release: pairs with acquire of tail in writer */
		pt = t
#endif
	:: head != t ->
		h = head;                 /* acquire: pairs with release of head in writer */
		do
		:: t == h -> break
		:: else ->
			hdr = ring[t % CAP];
			rl = hdr / 16;
			tag = hdr % 16;
			assert(rl == 1 || rl == 2);    /* a valid header */
			assert(t + 1 + rl <= h);        /* the record lies below head */
			w = tag / 4;
			assert(w < W);
			k = 1;
			do
			:: k > rl -> break
			:: else ->
				x = ring[(t + k) % CAP];
				assert(x == tag);        /* no torn record */
				k++
			od;
			assert(tag % 4 == got[w] + 1);  /* per-writer order, no dup, no gap */
			got[w]++;
			t = t + 1 + rl;
			if
			:: t - pt >= LAZY ->
				tail = t;            /* release: pairs with acquire of tail in writer */
				pt = t
			:: else -> skip
			fi
		od
	od;
	assert(got[0] == committed[0] && got[1] == committed[1])
}

/* tail never passes head, in every reachable state */
active proctype monitor()
{
end:	atomic { tail > head -> assert(false) }
}

init {
	atomic {
		registered = 1;
		run writer(0, false, false, 0, 0, 0, false, 0, false);
		if
		:: run writer(1, true, false, 0, 0, 0, false, 0, false)
		:: forked = true
		fi;
		run reader()
	}
}
