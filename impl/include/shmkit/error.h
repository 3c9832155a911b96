/* SPDX-License-Identifier: MIT */
/*
 * shmkit error codes.
 *
 * Every fallible shmkit function returns 0 (or a small non-negative count)
 * on success and a negative code on failure: -errno for an OS failure, or
 * one of the SHMK_E* codes below for a protocol failure.  The SHMK_E* codes
 * all lie below -4095 so they never collide with a negated errno.
 *
 * One code per distinct cause, shared across modules:
 *
 *   seed error (module)                                   shmkit code
 *   Io / Shm (all)                                        -errno of the failing call
 *   bad magic (events, slots InvalidHeader, ring)         SHMK_EBADMAGIC
 *   unsupported version (events, ring)                    SHMK_EVERSION
 *   Layout: NotInitialized (events)                       SHMK_ENOTINIT
 *   Layout: incompatible options / capability (events)    SHMK_EINCOMPAT
 *   header fields inconsistent (slots, events, ring)      SHMK_ELAYOUT
 *   RegionTooSmall (events), too-short file (all)         SHMK_ETOOSMALL
 *   Misaligned (events)                                   SHMK_EMISALIGNED
 *   Full (events), NoFreeSlot (slots), no space (ring)    SHMK_EFULL
 *   Empty (events), nothing pending                       SHMK_EEMPTY
 *   TooLarge / SampleTooLarge / message too big           SHMK_ETOOLARGE
 *   BufferTooSmall (events)                               SHMK_EBUFSMALL
 *   OutOfBounds (slots), bad reader index                 SHMK_ERANGE
 *   CapacityOverflow (slots)                              SHMK_EOVERFLOW
 *   BadAlignment (ring)                                   SHMK_EALIGN
 *   BadLength (ring)                                      SHMK_EBADLEN
 *   peer's indices are impossible (ring, queues)          SHMK_EINTEGRITY
 *   peer closed / dead (all waits)                        SHMK_EPEERDEAD
 *   role already held by a live process                   SHMK_EBUSY
 *   backing file shrank under the mapping                 SHMK_ETRUNCATED
 *   unsafe path: symlink, foreign owner, wider mode, ...  SHMK_EUNSAFE
 *   object left behind by a dead owner (stale flink, ...) SHMK_ESTALE
 *   MPSC producer stopped past the bound: its claimed cell SHMK_ESKIPPED
 *   was unblocked, the message not sent (events; retry)
 *
 * Where a seed error carries data (TooLarge{max,len}) the function offers it
 * through an out-parameter.  shmk_errdetail() gives a one-line, thread-local
 * explanation of the last failure on this thread (which field, which path,
 * or at least which call and which code); it never allocates.  Every
 * failing return sets it (r[common.error.detail]), so it never describes an
 * older failure; a successful call leaves it as it was.
 *
 * Return convention, every module: a function returning int returns 0 (or a
 * small non-negative count or flag where its comment says so) on success
 * and one of the negative codes above on failure; values that can exceed
 * INT_MAX come back through out-parameters.  Every close returns int and
 * frees its handle whatever it returns (a non-zero result reports what it
 * could not undo, e.g. SHMK_ETRUNCATED); closing NULL is a no-op.  Getters
 * that return a pointer, size_t or bool say what they return for NULL.
 *
 * SHMK_LIVENESS_MS (environment, milliseconds, default 1000, accepted
 * 1..3600000, anything else means the default; r[common.liveness.default]):
 * how long a survivor waits on a silent peer before it declares it dead.
 * It bounds a blocking events/ring/slots wait on a dead peer (SHMK_EPEERDEAD
 * within it), an MPSC consumer's wait on a claimed but unpublished cell
 * (skipped after it when no live process claims it, unblocked after twice
 * it in any case: the stopped producer's publish then fails with
 * SHMK_ESKIPPED), a ring writer's wait for the writers' lock and a slots
 * owner's or `shmkit gc`'s wait for the flink directory's lock (then
 * SHMK_EBUSY), and how often a parked wait re-checks for truncation.  A
 * peer whose process token shows it alive is never declared dead.
 */
#ifndef SHMKIT_ERROR_H
#define SHMKIT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
	SHMK_EBASE = -5000,
	SHMK_EBADMAGIC = -5001,
	SHMK_EVERSION = -5002,
	SHMK_ENOTINIT = -5003,
	SHMK_EINCOMPAT = -5004,
	SHMK_ELAYOUT = -5005,
	SHMK_ETOOSMALL = -5006,
	SHMK_EMISALIGNED = -5007,
	SHMK_EFULL = -5008,
	SHMK_EEMPTY = -5009,
	SHMK_ETOOLARGE = -5010,
	SHMK_EBUFSMALL = -5011,
	SHMK_ERANGE = -5012,
	SHMK_EOVERFLOW = -5013,
	SHMK_EALIGN = -5014,
	SHMK_EBADLEN = -5015,
	SHMK_EINTEGRITY = -5016,
	SHMK_EPEERDEAD = -5017,
	SHMK_EBUSY = -5018,
	SHMK_ETRUNCATED = -5019,
	SHMK_EUNSAFE = -5020,
	SHMK_ESTALE = -5021,
	SHMK_ESKIPPED = -5022,
	SHMK_ELAST = -5022,
};

/* Text of any return code: "ok" for >= 0, strerror text for -errno, the
 * cause's text for SHMK_E* codes (shmk_errname gives the symbol), "unknown
 * error" otherwise.  Never NULL. */
const char *shmk_strerror(int rc);

/* Symbolic name ("SHMK_EFULL", "ENOENT") or NULL when unknown. */
const char *shmk_errname(int rc);

/* Thread-local detail of the last failure that set one (may be ""). */
const char *shmk_errdetail(void);

#ifdef __cplusplus
}
#endif
#endif
