/*
 * ring.pml - SPIN model of the mediated-write ring (impl/src/ring_rw.c).
 *
 * A ring of CAP words; `head` (advanced only by writers) and `tail`
 * (advanced only by the reader) are monotonic indices that never wrap;
 * word offset = index mod CAP.  A record is one header word (its length and
 * tag) followed by its payload words, and may straddle the end of the ring.
 *
 * Writers serialise on a robust lock.  Holding it, a writer loads head and
 * uses the tail its handle last loaded while that leaves room; else it
 * reloads tail (acquire) and keeps it (ring.writer.validate+2).  It refuses
 * when tail > head (integrity) or when the record does not fit in
 * CAP - (head - tail) words against a tail just loaded (no space: it drops
 * the lock and retries once the reader moved tail), copies the record, then
 * advances head by the record length (release) and drops the lock.  A
 * writer may die at any point while it holds the lock; the robust lock then
 * passes to the next writer (EOWNERDEAD), which re-validates head; since
 * head moves only at the end, the dead writer's partial record is invisible
 * and is overwritten.
 *
 * The reader keeps its tail `rt` to itself and loads head (acquire) only
 * when the last head it loaded is used up; it parses records from rt up to
 * that head, checks each one whole, advances rt past it, and publishes rt
 * into `tail` (release) once rt is LAZY words or more past the tail it
 * last published (ring.reader.tail.lazy).  With nothing to read it either
 * spins (no store: it may spin for ever, like a caller polling
 * shmk_ring_head) or parks, publishing rt first.  LAZY is the loosest
 * safe bound: a reader that has taken every record holds back at most
 * CAP - MAXREC words, so a largest record still fits (the C bound,
 * min(capacity/8, capacity - 65536) with "publish at lag >= bound", is
 * tighter).
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
 *   - tail never passes head, and a parked reader has published all it
 *     read (a monitor checks every state);
 *   - a writer never overwrites unread data: each word it writes lies in
 *     [tail + 0, tail + CAP) against the reader's current published tail;
 *   - no writer or reader wedges (invalid end states), also when a writer
 *     died holding the lock and when the reader spins on a lazy tail.
 *
 * @check safety
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_NO_SPACE_CHECK safety no-space-check
 * @planted BUG_NO_LOCK safety writers-not-serialised
 * @planted BUG_LAZY_UNBOUNDED safety lazy-tail-unbounded
 * @planted BUG_NO_PARK_FLUSH safety park-without-publishing
 *
 *   BUG_PUBLISH_EARLY    head is advanced before the record is copied;
 *   BUG_NO_SPACE_CHECK   the writer does not compare against tail;
 *   BUG_NO_LOCK          writers do not take the lock;
 *   BUG_LAZY_UNBOUNDED   the reader's lag may reach CAP - MAXREC + 1 words:
 *                        a spinning reader and a writer of a largest record
 *                        wait for each other;
 *   BUG_NO_PARK_FLUSH    the reader parks without publishing its tail.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify ring.writer.lock]
 * r[verify ring.writer.lock.recover]
 * r[verify ring.writer.space]
 * r[verify ring.writer.publish]
 * r[verify ring.writer.validate+2]
 * r[verify ring.reader.tail.lazy]
 */

#define CAP    5           /* ring words */
#define W      2           /* writers */
#define R      2           /* records per writer */
#define MAXREC 3           /* header + at most 2 payload words */
#ifdef BUG_LAZY_UNBOUNDED
#define LAZY   (CAP - MAXREC + 2)
#else
#define LAZY   (CAP - MAXREC + 1)
#endif

byte ring[CAP];
byte head;                 /* advanced by writers, release */
byte tail;                 /* published by the reader, release */
byte lock;                 /* 0 free, else holder + 1 (robust) */

/* ghosts */
bool dead[W];
bool finished[W];
byte committed[W];
byte got[W];
byte rt;                   /* the reader's own tail */
bool parked;               /* the reader sleeps */

/* header word: rl * 16 + tag; tag = w * 4 + s (s = 1..R); payload words = tag */

proctype writer(byte me)
{
	byte s = 1, rl, h, t, k;
	byte ct;                  /* the tail this handle last loaded */
	bool ctok = false;

	do
	:: s > R -> break
	:: else ->
		if                        /* payload of 1 or 2 words */
		:: rl = 1
		:: rl = 2
		fi;
again:
#ifndef BUG_NO_LOCK
		atomic { (lock == 0 || dead[lock - 1]) -> lock = me + 1 };
#endif
		h = head;
		t = ct;
		if
		:: !ctok || t > h || h - t > CAP || CAP - (h - t) < 1 + rl ->
			t = tail          /* acquire: pairs with release of tail in reader */
		:: else -> skip
		fi;
		assert(t <= h);           /* the reader here is honest */
		ct = t;
		ctok = true;
#ifndef BUG_NO_SPACE_CHECK
		if
		:: CAP - (h - t) < 1 + rl ->
#ifndef BUG_NO_LOCK
			lock = 0;
#endif
			(tail != t);          /* no space: wait for the reader, then retry */
			goto again
		:: else -> skip
		fi;
#endif
#ifdef BUG_PUBLISH_EARLY
		atomic { head = h + 1 + rl; committed[me]++ };
#endif
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
#ifndef BUG_NO_LOCK
		lock = 0;
#endif
		s++
	od;
out:
	finished[me] = true
}

proctype reader()
{
	byte h, hdr, rl, tag, w, k, x;

	do
	:: atomic { finished[0] && finished[1] && head == rt } -> break
	:: head != rt ->
		h = head;                 /* acquire: pairs with release of head in writer */
		do
		:: rt == h -> break
		:: else ->
			hdr = ring[rt % CAP];
			rl = hdr / 16;
			tag = hdr % 16;
			assert(rl == 1 || rl == 2);    /* a valid header */
			assert(rt + 1 + rl <= h);       /* the record lies below head */
			w = tag / 4;
			assert(w < W);
			k = 1;
			do
			:: k > rl -> break
			:: else ->
				x = ring[(rt + k) % CAP];
				assert(x == tag);        /* no torn record */
				k++
			od;
			assert(tag % 4 == got[w] + 1);  /* per-writer order, no dup, no gap */
			got[w]++;
			rt = rt + 1 + rl;
			if                           /* lazily: release, pairs with acquire of tail in writer */
			:: rt - tail >= LAZY -> tail = rt
			:: else -> skip
			fi
		od
	:: head == rt ->
		/* nothing to read: spin without a store, or publish and park */
		if
		:: skip
		:: atomic {
#ifndef BUG_NO_PARK_FLUSH
			tail = rt;
#endif
			parked = true
		   }
		fi;
		(head != rt || (finished[0] && finished[1]));
		parked = false
	od;
	assert(got[0] == committed[0] && got[1] == committed[1])
}

/* tail never passes head, and a parked reader holds back no room, in every
 * reachable state */
active proctype monitor()
{
end:	atomic { (tail > head || (parked && tail != rt)) -> assert(false) }
}

init {
	atomic {
		run writer(0);
		run writer(1);
		run reader()
	}
}
