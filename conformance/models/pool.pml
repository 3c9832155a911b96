/*
 * pool.pml - SPIN model of the events slot pool (impl/src/events_queue.c
 * pool_pop / pool_push): a Treiber free list shared by every sender and
 * receiver process, whose head is one u64 {generation, index}.
 *
 *   pop:  h = LOAD_ACQ(head); loop { idx = h.index; NIL -> SHMK_EFULL;
 *         next = next_free[idx]; CAS(head, h, {h.gen + 1, next}) }
 *   push: loop { next_free[idx] = h.index; CAS(head, h, {h.gen + 1, idx}) }
 *
 * A failed CAS reloads h (compare_exchange writes the current value back).
 * Two processes each pop two slots, then push them back, twice over, on a
 * pool of three; so a process can pop A, pop B and push A back between
 * another process's load of head (A, next B) and its CAS: the ABA pattern
 * the generation exists to defeat.  Generations here never wrap (the model
 * makes far fewer than 2^32 operations, as a real run does between a load
 * and its CAS).
 *
 * Checked: a slot is never handed to two holders at once (assertion at
 * every pop), and at the end the free list holds every slot exactly once.
 *
 * @check safety
 * @planted BUG_NO_TAG safety aba-without-generation
 * @planted BUG_NO_CAS safety pop-without-cas
 *
 *   BUG_NO_TAG   the head is compared by index only (no generation bump);
 *   BUG_NO_CAS   pop loads head and stores the new head without a CAS.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify events.pool.freelist]
 * r[verify events.pool.aba]
 */

#define NS   3             /* slots */
#define NIL  255
#define ROUNDS 2

byte hidx;                 /* free-list head: index ... */
byte hgen;                 /* ... and generation, one u64 in the C code */
byte next_free[NS];

/* ghosts */
byte holder[NS];           /* 0 free, else process + 1 */
byte done;

init {
	atomic {
		hidx = 0; hgen = 0;
		next_free[0] = 1; next_free[1] = 2; next_free[2] = NIL;
		run user(0);
		run user(1)
	}
}

/* CAS(head, {gi, gg}, {ni, gg + 1}); on failure reload the expected value */
#ifdef BUG_NO_TAG
#define CAS_HEAD(gi, gg, ni, ok) \
	atomic { if :: hidx == gi -> hidx = ni; ok = true \
		    :: else -> gi = hidx; gg = hgen; ok = false fi }
#else
#define CAS_HEAD(gi, gg, ni, ok) \
	atomic { if :: hidx == gi && hgen == gg -> hidx = ni; hgen = gg + 1; ok = true \
		    :: else -> gi = hidx; gg = hgen; ok = false fi }
#endif

proctype user(byte me)
{
	byte r = 0, k, gi, gg, nx, got[2];
	bool ok;

	do
	:: r == ROUNDS -> break
	:: else ->
		/* pop two (or fewer, when the pool is empty) */
		k = 0;
		do
		:: k == 2 -> break
		:: else ->
			got[k] = NIL;
			atomic { gi = hidx; gg = hgen };     /* acquire, one u64 */
pop:
			if
			:: gi == NIL -> goto popped          /* SHMK_EFULL */
			:: else -> skip
			fi;
			nx = next_free[gi];
#ifdef BUG_NO_CAS
			atomic { hidx = nx; hgen = gg + 1 };
			ok = true;
#else
			CAS_HEAD(gi, gg, nx, ok);
#endif
			if
			:: ok -> got[k] = gi;
				atomic { assert(holder[gi] == 0); holder[gi] = me + 1 }
			:: else -> goto pop
			fi;
popped:
			k++
		od;
		/* push them back */
		k = 0;
		do
		:: k == 2 -> break
		:: else ->
			if
			:: got[k] == NIL -> k++; goto pushed
			:: else -> skip
			fi;
			holder[got[k]] = 0;
			atomic { gi = hidx; gg = hgen };
push:
			next_free[got[k]] = gi;
			CAS_HEAD(gi, gg, got[k], ok);
			if
			:: ok -> k++
			:: else -> goto push
			fi;
pushed:
			skip
		od;
		r++
	od;
	done++
}

/* at the end the free list holds every slot exactly once */
active proctype audit()
{
	byte i, n = 0, seen = 0;

	done == 2;
	i = hidx;
	do
	:: i == NIL -> break
	:: else ->
		assert(i < NS && n < NS);
		assert((seen & (1 << i)) == 0);
		seen = seen | (1 << i);
		n++;
		i = next_free[i]
	od;
	assert(n == NS)
}
