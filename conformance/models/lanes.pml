/*
 * lanes.pml - SPIN model of the events MPSC lanes (capability 0x4,
 * impl/src/events_queue.c: ring_enqueue + lane_ring_bell on the producer
 * side, lanes_next / lane_peek / lane_adopt on the consumer side;
 * events.c: lane_takeover).
 *
 * Each producer row owns one lane, a single-writer ring of CAPL cells: the
 * producer counts a message in the lane's tail, then announces it (the
 * slot's seq word, stored last), then rings its doorbell bit (atomic OR)
 * unless it reads the bit set.  The ring mechanics inside one lane (slots,
 * recycling, the seq word, cached indices, counter wrap, views) are the SPSC
 * queue's and are checked by spsc.pml; here a lane is abstracted to its
 * counters: tail (counted), ann (announced: seq stored for every message
 * below it, in order) and head (consumed).  The consumer takes the message
 * at head only when it is announced (head < ann).
 *
 * Consumer: serves rung lanes; a rung lane found empty may (at any time:
 * the C code waits 1024 empty looks) get its bit cleared, after which the
 * consumer looks at the lane once more and rings it again when it finds a
 * message.  Without -DSWEEP it uses the doorbell alone: the model then
 * checks that under sequential consistency the doorbell by itself loses no
 * message.  With -DSWEEP the producer may lose its ring (it read its bit set
 * while the consumer cleared it, its seq store still in its store buffer -
 * not expressible under SPIN's SC - or it died before the OR) and the
 * consumer's sweep (events.mpsc.sweep+2) looks at lanes whatever their bit.
 *
 * -DCRASH: producer 0 may die once, after counting a message and before
 * announcing it, or after announcing and before ringing; its row is then
 * taken by a successor producer, which resumes the lane from its shared
 * counters, announces and rings (events.mpsc.lane-takeover+4), then sends one
 * message of its own.  -DADOPT: the same death, no successor: the consumer
 * adopts the dead row (events.mpsc.lane-adopt+2).
 *
 * Checked: no message taken unannounced or twice, per-lane FIFO, the lane
 * never over capacity, and at the end (every producer done or dead, every
 * bit clear: the consumer would park) every published message has been
 * received - a safety check, so the runs take well under a second.
 *
 * @check safety
 * @check safety CRASH
 * @check safety SWEEP,ADOPT
 * @planted BUG_RING_EARLY safety doorbell-rung-before-publish
 * @planted BUG_NO_RECHECK safety clear-without-recheck
 * @planted CRASH,BUG_NO_ANNOUNCE safety takeover-without-announce
 *
 * Also rejected, run by hand (make check's time budget keeps the runner to
 * the three above; each costs a pan build): spin -DCRASH -DBUG_RESET
 * (assertion) and -DSWEEP -DADOPT -DBUG_NO_SWEEP (invalid end state).
 * -DSWEEP -DADOPT -DBUG_NO_ADOPT is NOT rejected by this safety run (the
 * consumer keeps sweeping instead of blocking: a liveness matter);
 * conformance/tests/events/lanes.c's lanes_dead_producer catches it in
 * the C code, as lanes_doorbell catches a missing sweep.
 *
 * Planted bugs (spin -D<NAME>):
 *   BUG_RING_EARLY   the producer rings before announcing: the consumer
 *                    finds the lane empty, clears, re-checks (still empty),
 *                    and the announced message then has no bit;
 *   BUG_NO_RECHECK   the consumer clears a bit without looking again: a
 *                    message announced while the bit read set is stranded;
 *   BUG_NO_ANNOUNCE  (CRASH) the successor does not announce the message
 *                    its predecessor counted: it and everything behind it
 *                    in the lane wait for ever;
 *   BUG_RESET        (CRASH) the successor restarts the lane at its head
 *                    (a reset): the predecessor's unconsumed messages are
 *                    overwritten;
 *   BUG_NO_SWEEP     (SWEEP) no sweep: a lost ring strands its message;
 *   BUG_NO_ADOPT     (ADOPT) the consumer never adopts a dead row (see below).
 * SWEEP and ADOPT are checked together: producer 0 both may lose its rings
 * and dies; the consumer sweeps and adopts.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify events.mpsc.doorbell]
 * r[verify events.mpsc.sweep+2]
 * r[verify events.mpsc.lane-takeover+4]
 * r[verify events.mpsc.lane-adopt+2]
 * r[verify events.mpsc.order]
 */

#define NP   2           /* producer rows = lanes */
#define M    2           /* messages per producer */
#define CAPL 1           /* cells per lane: the C lanes are 128 (rows 0-3) or
                          * 8 deep (events.mpsc.lane+2), but the depth changes
                          * no step of the doorbell, sweep, takeover or
                          * adoption; a lane's ring (cached head, recycled
                          * slots, seq last) is spsc.pml's at any capacity */

#ifdef CRASH
#define CRASHED 1        /* the successor counts in fin too */
#else
#define CRASHED 0
#endif

#if defined(SWEEP) || defined(ADOPT)
/* a blocking receive's last look sweeps every lane (and adopts): it parks
 * only when that finds nothing; a message it can never reach leaves the
 * consumer blocked (an invalid end state) */
#define LAST_LOOK_EMPTY (head[0] == tail[0] && head[1] == tail[1])
#else
#define LAST_LOOK_EMPTY true
#endif

byte tail[NP];           /* counted (the producer's line) */
byte ann[NP];            /* announced: seq stored for every position below */
byte head[NP];           /* consumed (the consumer's line) */
bool bell[NP];           /* doorbell bits */
byte fin;                /* producers done or dead */
bool dead0;              /* producer 0 died (its token names a dead process) */

/* ghosts */
byte published[NP];      /* messages announced by a live or dead producer, or by a successor for it */
byte recv[NP];

inline ring(i)
{
	/* read the bit, OR it in only when clear (lane_ring_bell) */
	if
	:: !bell[i] -> bell[i] = true
	:: else -> skip
	fi
}

inline send(i)
{
	(tail[i] - head[i] < CAPL);	/* space (the C code returns SHMK_EFULL; the caller retries) */
#ifdef BUG_RING_EARLY
	tail[i]++;
	ring(i);
	ann[i]++;
	published[i]++;
#else
	tail[i]++;
	ann[i]++;			/* seq stored last, after tail */
	published[i]++;
	ring(i);
#endif
}

proctype Producer(byte i)
{
	byte k = 0;

	do
	:: k < M ->
#if defined(CRASH) || defined(ADOPT)
		if
		:: i == 0 && k == 1 ->
			/* dies in the middle of its second message */
			(tail[i] - head[i] < CAPL);
			tail[i]++;
			if
			:: skip				/* counted, not announced */
			:: ann[i]++; published[i]++	/* announced, not rung */
			fi;
			dead0 = true;
			goto gone
		:: else -> skip
		fi;
#endif
#ifdef SWEEP
		/* the ring may be lost (a stale "set", or a death before the OR) */
		(tail[i] - head[i] < CAPL);
		tail[i]++;
		ann[i]++;
		published[i]++;
		if
		:: true -> ring(i)
		:: true -> skip
		fi;
#else
		send(i);
#endif
		k++
	:: else -> break
	od;
gone:
	fin++
}

#ifdef CRASH
/* A new producer takes row 0 after its holder died (lane_takeover). */
proctype Successor()
{
	dead0;
#ifdef BUG_RESET
	/* restart the lane at the consumer's head: what the dead one left
	 * there (published, owed) is overwritten */
	tail[0] = head[0];
	ann[0] = head[0];
#endif
	if
	:: tail[0] != head[0] ->
#ifndef BUG_NO_ANNOUNCE
		if
		:: ann[0] != tail[0] -> ann[0] = tail[0]; published[0]++
		:: else -> skip
		fi;
#endif
		bell[0] = true
	:: else -> skip
	fi;
	send(0);
	fin++
}
#endif

/* owed: every message counted by a producer that is done or dead must be
 * delivered - the dead one's counted-but-unannounced too, once someone
 * announces it (takeover or adopt) */
proctype Consumer()
{
	byte i;

	do
	:: /* a rung lane */
		if
		:: bell[0] -> i = 0
		:: bell[1] -> i = 1
		fi;
		if
		:: atomic { head[i] < ann[i] ->
			assert(head[i] < tail[i]);	/* announced implies counted */
			head[i]++;
			recv[i]++ }
		:: head[i] == ann[i] ->
			/* empty to us: leave the bit (lazy), or clear and look once more */
			if
			:: skip
			:: bell[i] = false;
#ifndef BUG_NO_RECHECK
				if
				:: head[i] < ann[i] -> bell[i] = true
				:: else -> skip
				fi
#endif
			fi
		fi
#if defined(SWEEP) && !defined(BUG_NO_SWEEP)
	:: /* the sweep: any lane, whatever its bit */
		if
		:: i = 0
		:: i = 1
		fi;
		if
		:: head[i] < ann[i] && !bell[i] -> bell[i] = true
		:: else -> skip
		fi
#endif
#if defined(ADOPT) && !defined(BUG_NO_ADOPT)
	:: /* a counted, unannounced message of a dead row: adopt it */
		atomic { dead0 && tail[0] != ann[0] ->
			ann[0] = tail[0];
			published[0]++;
			bell[0] = true
		}
#endif
	:: atomic { !bell[0] && !bell[1] && fin == NP + CRASHED && LAST_LOOK_EMPTY ->
		/* the consumer would park: every published message was received */
		assert(recv[0] == published[0] && recv[1] == published[1]);
#ifdef CRASH
		/* and nothing counted is left unannounced */
		assert(ann[0] == tail[0]);
#endif
		break }
	od
}

init {
	atomic {
		run Producer(0);
		run Producer(1);
#ifdef CRASH
		run Successor();
#endif
		run Consumer()
	}
}
